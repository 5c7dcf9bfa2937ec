"""Record hashes identify a record's content and must never change between versions:
an unchanged row of next month's extract keeps its record (and its links) through them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.ingest.storage import record_hashes
from macros_py.ingest.transform import CANONICAL_COLUMNS

_KEYS = ("mimamori-rec-h1", "mimamori-rec-h2")
_HEX = np.array([f"{i:02x}" for i in range(256)], dtype="<U2")


def _reference_hashes(frame: pd.DataFrame) -> np.ndarray:
    """The definition the stored hashes were first written with (pandas' DataFrame hash)."""
    columns = [*CANONICAL_COLUMNS, "values_json"]
    text = pd.DataFrame({column: frame[column].astype("str").fillna("\x00") for column in columns})
    words = [
        pd.util.hash_pandas_object(text, index=False, hash_key=key.ljust(16)[:16]).to_numpy(dtype="uint64")
        for key in _KEYS
    ]
    raw = np.stack(words, axis=1).astype(">u8").view("uint8").reshape(len(frame), 16)
    return np.ascontiguousarray(_HEX[raw]).view("<U32").ravel()


def _records(rows: int, seed: int) -> pd.DataFrame:
    generator = np.random.default_rng(seed)
    names = np.array(["山田 太郎", "髙橋 はな", "", "〓田 一", 'O\'Brien "x" \\', "ﾔﾏﾀﾞ"], dtype=object)
    frame = pd.DataFrame({column: pd.Series([None] * rows, dtype="object") for column in CANONICAL_COLUMNS})
    frame["resident_id"] = pd.Series(generator.integers(0, 50, rows).astype(str), dtype="str")
    frame["name"] = pd.Series(names[generator.integers(0, len(names), rows)], dtype="str")
    frame.loc[generator.random(rows) < 0.2, "name"] = None
    frame["birth_date"] = pd.to_datetime("2010-04-02") + pd.to_timedelta(
        generator.integers(0, 4000, rows), "D"
    )
    frame.loc[generator.random(rows) < 0.1, "birth_date"] = pd.NaT
    frame["grade"] = np.where(generator.random(rows) < 0.3, np.nan, generator.integers(1, 7, rows))
    frame["values_json"] = pd.Series(
        [f'{{"欠席日数": {value}}}' for value in generator.integers(0, 30, rows)], dtype="str"
    )
    return frame


def test_record_hashes_equal_the_original_definition():
    for seed, rows in ((1, 500), (2, 1), (3, 0)):
        frame = _records(rows, seed)
        assert np.array_equal(record_hashes(frame), _reference_hashes(frame))


def test_all_empty_columns_and_single_changes():
    frame = _records(200, 4)
    frame["address"] = pd.Series([None] * len(frame), dtype="str")
    frame["grade"] = np.nan
    hashes = record_hashes(frame)
    assert np.array_equal(hashes, _reference_hashes(frame))
    changed = frame.copy()
    changed.loc[7, "address"] = "本町1-2-3"
    again = record_hashes(changed)
    assert again[7] != hashes[7] and np.array_equal(np.delete(again, 7), np.delete(hashes, 7))
