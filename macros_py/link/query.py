"""Reading link results: the latest run of the ``links`` table."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import case, func, select

from macros_py.store import Store
from macros_py.store.tables_link import links

__all__ = ["LINKABLE_COLUMNS", "current_links", "latest_run_id", "linkable_records", "records_by_id"]

LINKABLE_COLUMNS = (
    "record_id",
    "source_id",
    "resident_id",
    "household_id",
    "name",
    "name_kana",
    "birth_date",
    "sex",
    "address",
    "school",
    "grade",
    "class_name",
    "student_number",
    "values_json",
)


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


def linkable_records(
    store: Store, source_id: str | None = None, exclude_source_id: str | None = None
) -> pd.DataFrame:
    """Current records of every source, only the columns linkage reads, as object columns.

    Same rows as :func:`macros_py.ingest.query.current_records`, read without per-value
    type conversion (dates stay as the database returns them; linkage parses them once
    per distinct value). ``values_json`` is read only for records with a class (組), for
    the 出席番号 of roster chaining. Unordered.

    Args:
        store: the store.
        source_id: only this source (the resident master, say).
        exclude_source_id: every source but this one.
    """
    from macros_py.ingest.query import current_records_query

    current = current_records_query(source_id).subquery()
    columns = [current.c[c] for c in LINKABLE_COLUMNS if c != "values_json"]
    values = case((current.c.class_name.isnot(None), current.c.values_json), else_=None).label("values_json")
    statement = select(*columns, values)
    if exclude_source_id is not None:
        statement = statement.where(current.c.source_id != exclude_source_id)
    with store.engine.connect() as connection:
        sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        # The driver's own cursor: plain tuples, no result-row objects per record.
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql)
            rows = cursor.fetchall()
        finally:
            cursor.close()
    frame = pd.DataFrame(rows, columns=list(LINKABLE_COLUMNS), dtype=object)
    del rows
    frame["record_id"] = frame["record_id"].astype(np.int64)
    return frame


_IDS_PER_QUERY = 5_000


def records_by_id(store: Store, record_ids: np.ndarray) -> pd.DataFrame:
    """The linkage columns (without ``values_json``) of the given records, in the order given.

    Used for the few rows shown on the 名寄せ確認 tab, so that a run need not keep every
    resident's raw text in memory. Unknown ids give empty rows.
    """
    from macros_py.store.tables_ingest import records

    columns = [c for c in LINKABLE_COLUMNS if c != "values_json"]
    wanted = [int(record_id) for record_id in np.unique(np.asarray(record_ids, dtype=np.int64))]
    rows: list = []
    with store.engine.connect() as connection:
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            part = wanted[start : start + _IDS_PER_QUERY]
            statement = select(*[records.c[c] for c in columns]).where(records.c.record_id.in_(part))
            rows.extend(tuple(row) for row in connection.execute(statement))
    found = pd.DataFrame(rows, columns=columns, dtype=object)
    found["record_id"] = found["record_id"].astype(np.int64)
    found = found.drop_duplicates("record_id").set_index("record_id")
    ordered = found.reindex(pd.Index(np.asarray(record_ids, dtype=np.int64), name="record_id"))
    return ordered.reset_index().astype({c: object for c in columns if c != "record_id"})
