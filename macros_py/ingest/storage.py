"""Record storage helpers for the importer: content hashes and the records a newer
import may reuse (carry forward) from the extract it supersedes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from macros_py.ingest.transform import CANONICAL_COLUMNS
from macros_py.store.tables_ingest import carried_records, current_import_condition, imports, records

__all__ = [
    "RecordMatcher",
    "carry_pool",
    "current_filter",
    "hex_hashes",
    "record_hash_words",
    "record_hashes",
]

_HEX = np.array([f"{i:02x}" for i in range(256)], dtype="<U2")
_HASH_KEYS = ("mimamori-rec-h1", "mimamori-rec-h2")
_HASHED_COLUMNS = (*CANONICAL_COLUMNS, "values_json")
_MISSING = "\x00"


def _combine(column_hashes: list[np.ndarray], rows: int) -> np.ndarray:
    """Row hash from column hashes: CPython's tuple-hash mixing, as pandas'
    ``hash_pandas_object`` does for a DataFrame (kept here so that stored record
    hashes never depend on a pandas internal)."""
    multiplier = np.uint64(1000003)
    out = np.full(rows, 0x345678, dtype=np.uint64)
    count = len(column_hashes)
    for position, hashed in enumerate(column_hashes):
        inverse = count - position
        out ^= hashed
        out *= multiplier
        multiplier += np.uint64(82520 + inverse + inverse)
    out += np.uint64(97531)
    return out


def _column_hashes(series: pd.Series, keys: tuple[str, ...]) -> list[np.ndarray]:
    """One uint64 per row and key: the column as text (missing as NUL), hashed once per
    distinct value; a column without any value hashes as a constant."""
    rows = len(series)
    if series.isna().all():
        text = series.iloc[:1].astype("str").fillna(_MISSING) if rows else pd.Series([_MISSING])
        distinct = np.asarray(text, dtype=object)[:1]
        codes = np.zeros(rows, dtype="intp")
    else:
        codes, uniques = pd.factorize(series.astype("str").fillna(_MISSING))
        distinct = np.asarray(uniques, dtype=object)
    return [
        pd.util.hash_array(distinct, hash_key=key.ljust(16)[:16], categorize=False).take(codes)
        for key in keys
    ]


def record_hash_words(frame: pd.DataFrame) -> np.ndarray:
    """Two independent 64-bit content hashes per record, shape ``(rows, 2)``."""
    per_key: list[list[np.ndarray]] = [[] for _ in _HASH_KEYS]
    for column in _HASHED_COLUMNS:
        for collected, hashed in zip(per_key, _column_hashes(frame[column], _HASH_KEYS), strict=True):
            collected.append(hashed)
    return np.stack([_combine(hashes, len(frame)) for hashes in per_key], axis=1)


def hex_hashes(words: np.ndarray) -> np.ndarray:
    """The 32-hex-character ``record_hash`` of :func:`record_hash_words` rows."""
    raw = np.ascontiguousarray(words).astype(">u8").view("uint8").reshape(len(words), 16)
    return np.ascontiguousarray(_HEX[raw]).view("<U32").ravel()


def record_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A 128-bit content hash (32 hex characters) per record, over canonical and value fields."""
    return hex_hashes(record_hash_words(frame))


def current_filter(source_id: str):
    """The current imports of one source (see ``current_import_condition``)."""
    return current_import_condition(source_id)


def carry_pool(
    connection: Connection, source_id: str, file_name: str, extract: dt.date, import_id: int
) -> pd.DataFrame:
    """Records this file may reuse: those of the extract it supersedes, not yet reused."""
    current = connection.execute(
        select(imports.c.import_id, imports.c.extract_date, imports.c.file_name).where(
            current_filter(source_id), imports.c.import_id != import_id
        )
    ).all()
    if any(row.extract_date and row.extract_date > extract for row in current):
        return pd.DataFrame({"record_hash": [], "record_id": []})
    replaced = [
        row.import_id
        for row in current
        if row.extract_date is None or row.extract_date < extract or row.file_name == file_name
    ]
    siblings = [
        row.import_id for row in current if row.extract_date == extract and row.file_name != file_name
    ]
    if siblings:
        replaced += (
            connection.execute(select(imports.c.import_id).where(imports.c.superseded_by.in_(siblings)))
            .scalars()
            .all()
        )
    if not replaced:
        return pd.DataFrame({"record_hash": [], "record_id": []})
    own = select(records.c.record_id, records.c.record_hash).where(
        records.c.source_id == source_id, records.c.import_id.in_(replaced)
    )
    carried = (
        select(carried_records.c.record_id, records.c.record_hash)
        .join(records, records.c.record_id == carried_records.c.record_id)
        .where(carried_records.c.import_id.in_(replaced))
    )
    pool = pd.DataFrame(
        connection.execute(own.union_all(carried)).all(), columns=["record_id", "record_hash"]
    )
    if siblings and not pool.empty:
        used = (
            connection.execute(
                select(carried_records.c.record_id).where(carried_records.c.import_id.in_(siblings))
            )
            .scalars()
            .all()
        )
        pool = pool[~pool["record_id"].isin(set(used))]
    pool = pool.drop_duplicates("record_id")
    pool["occurrence"] = pool.groupby("record_hash").cumcount()
    return pool


class RecordMatcher:
    """Matches new rows to pool records by (hash, occurrence) across chunks."""

    def __init__(self, pool: pd.DataFrame):
        self.pool = pool.set_index(["record_hash", "occurrence"])["record_id"] if len(pool) else None
        self.seen: pd.Series = pd.Series(dtype="int64")

    def match(self, hashes: np.ndarray) -> np.ndarray:
        """record_id of the reused record per row, or -1 for a new row."""
        if self.pool is None or len(hashes) == 0:
            return np.full(len(hashes), -1, dtype="int64")
        series = pd.Series(hashes)
        prior = self.seen.reindex(series).fillna(0).to_numpy(dtype="int64")
        occurrence = prior + series.groupby(series).cumcount().to_numpy()
        keys = pd.MultiIndex.from_arrays([series, occurrence])
        matched = self.pool.reindex(keys).to_numpy()
        counts = series.value_counts()
        self.seen = self.seen.add(counts, fill_value=0).astype("int64")
        return np.where(pd.isna(matched), -1, matched).astype("int64")
