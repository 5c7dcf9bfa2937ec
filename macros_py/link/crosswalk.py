"""The crosswalk: human decisions and confirmed links, reused before any fuzzy matching.

A record key identifies a record across runs and years: ``学校|生徒番号`` where the source
has a student number, otherwise ``氏名|生年月日`` folded (variant kanji, spaces). A 同一
decision links the key to a resident number; a 別人 decision forbids that pair. The
latest decision for a (source, key, resident) wins.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import select

from macros_py.link.prepare import prepare_people, text_values
from macros_py.store import Store
from macros_py.store.bulk import bulk_insert
from macros_py.store.tables_link import crosswalk

__all__ = [
    "AUTO_CONFIRMED_BY",
    "DIFFERENT",
    "REVOKED",
    "SAME",
    "crosswalk_rows",
    "insert_frame",
    "load_crosswalk",
    "load_decisions",
    "record_keys",
    "save_decisions",
]

SAME, DIFFERENT = "同一", "別人"
# A revocation row ends an earlier decision on the same (source, key, resident): the
# latest row of a pair wins, and a revoked pair has no decision at all.
REVOKED = "取消"
# ``decided_by`` of the links the matcher confirmed itself (students' automatic links).
AUTO_CONFIRMED_BY = "自動照合"


def record_keys(records: pd.DataFrame, prepared: pd.DataFrame | None = None) -> pd.Series:
    """Stable key per record: school + student number, else folded name + birth date."""
    prepared = prepare_people(records) if prepared is None else prepared
    fallback = (
        prepared["surname"].to_numpy(dtype=object)
        + prepared["given"].to_numpy(dtype=object)
        + "|"
        + prepared["birth"].to_numpy(dtype=object)
    )
    number = text_values(records, "student_number")
    keyed = text_values(records, "school") + "|" + number
    return pd.Series(np.where(number != "", keyed, fallback) if len(records) else fallback, dtype=object)


def load_decisions(store: Store) -> pd.DataFrame:
    """Every crosswalk decision, oldest first: ``source_id, source_key, resident_id, decision``."""
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(
                crosswalk.c.source_id, crosswalk.c.source_key, crosswalk.c.resident_id, crosswalk.c.decision
            ).order_by(crosswalk.c.decided_at, crosswalk.c.crosswalk_id)
        ).all()
    frame = pd.DataFrame(rows, columns=["source_id", "source_key", "resident_id", "decision"], dtype=object)
    return frame.fillna("")


def load_crosswalk(store: Store, source_id: str) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """Latest decisions of one source: (key → resident for 同一, {(key, resident)} for 別人)."""
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(crosswalk.c.source_key, crosswalk.c.resident_id, crosswalk.c.decision)
            .where(crosswalk.c.source_id == source_id)
            .order_by(crosswalk.c.decided_at, crosswalk.c.crosswalk_id)
        ).all()
    latest: dict[tuple[str, str], str] = {}
    for key, resident_id, decision in rows:
        latest[(key, resident_id or "")] = decision
    same: dict[str, str] = {}
    different: set[tuple[str, str]] = set()
    for (key, resident_id), decision in latest.items():
        if decision == SAME:
            same[key] = resident_id
        elif decision == DIFFERENT:
            different.add((key, resident_id))
            if same.get(key) == resident_id:
                del same[key]
    return same, different


def crosswalk_rows(decisions: pd.DataFrame, user_name: str, when: datetime | None = None) -> pd.DataFrame:
    """Rows of the crosswalk table for decisions (columns source_id, source_key, resident_id, decision, note).

    The link action inserts them in the transaction of the run that applies them, so a
    failing run stores no decision.
    """
    when = when or datetime.now()
    frame = decisions[["source_id", "source_key", "resident_id", "decision", "note"]].astype(object)
    frame = frame.assign(decided_by=user_name)
    frame["decided_at"] = pd.Series([when] * len(frame), index=frame.index, dtype=object)
    frame["note"] = frame["note"].where(frame["note"].notna() & (frame["note"] != ""), None)
    return frame.reset_index(drop=True)


def save_decisions(store: Store, decisions: pd.DataFrame, user_name: str) -> int:
    """Append decisions (columns source_id, source_key, resident_id, decision, note) in their own transaction."""
    if decisions.empty:
        return 0
    frame = crosswalk_rows(decisions, user_name)
    insert_frame(store, crosswalk, frame)
    return len(frame)


def insert_frame(store: Store, table, frame: pd.DataFrame) -> None:
    """Insert a DataFrame in one transaction (the store's bulk path per database)."""
    if frame.empty:
        return
    with store.engine.begin() as connection:
        bulk_insert(connection, table, frame)
