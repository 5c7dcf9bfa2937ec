"""Reading link results: the latest run of the ``links`` table."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select

from macros_py.store import Store
from macros_py.store.tables_link import links

__all__ = ["current_links", "latest_run_id"]


def latest_run_id(store: Store) -> int | None:
    """Run number of the latest link run, or ``None`` before the first run."""
    with store.engine.connect() as connection:
        return connection.execute(select(func.max(links.c.run_id))).scalar_one_or_none()


def current_links(store: Store) -> pd.DataFrame:
    """Links of the latest run: record_id, source_id, resident_id, outcome, method, score, detail_json."""
    run_id = latest_run_id(store)
    columns = ["record_id", "source_id", "resident_id", "outcome", "method", "score", "detail_json"]
    if run_id is None:
        return pd.DataFrame(columns=columns)
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(*[links.c[c] for c in columns]).where(links.c.run_id == run_id)
        ).all()
    return pd.DataFrame(rows, columns=columns)
