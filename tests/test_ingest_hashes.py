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


def _reference_json_string(values: pd.Series) -> pd.Series:
    text = values.astype("str").str.replace("\\", "\\\\", regex=False).str.replace('"', '\\"', regex=False)
    controls = text.str.contains(r"[\x00-\x1f]", regex=True)
    if controls.any():
        escape = "".join
        text = text.where(
            ~controls,
            text[controls].map(lambda v: escape(f"\\u{ord(c):04x}" if ord(c) < 0x20 else c for c in v)),
        )
    return '"' + text + '"'


def _reference_values_json(fields) -> pd.Series:
    """The first definition of values_json (string concatenation per field)."""
    fragments = []
    for name, value_type, values in fields:
        key = _reference_json_string(pd.Series([name]))[0] + ": "
        missing = values.isna()
        if value_type == "日付":
            encoded = '"' + values.dt.strftime("%Y-%m-%d").astype("str") + '"'
        elif value_type == "数値":
            integral = values.notna() & (values == values.round()) & (values.abs() < 2**53)
            as_int = values.where(integral, 0).astype("int64").astype("str")
            encoded = pd.Series(
                np.where(integral, as_int, values.astype("str")), index=values.index, dtype="str"
            )
        elif value_type == "フラグ":
            encoded = pd.Series(
                np.where(values.astype(bool), "true", "false"), index=values.index, dtype="str"
            )
        else:
            encoded = _reference_json_string(values.fillna(""))
        fragments.append(key + encoded.where(~missing, "null"))
    joined = fragments[0]
    for fragment in fragments[1:]:
        joined = joined + ", " + fragment
    return "{" + joined + "}"


def test_values_json_text_equals_the_original_definition():
    from macros_py.ingest.values_json import encode_values

    generator = np.random.default_rng(5)
    rows = 300
    texts = np.array(['a"b', "c\\d", "改行\nあり", "tab\there", "", "普通", "\x01"], dtype=object)
    note = pd.Series(texts[generator.integers(0, len(texts), rows)], dtype="str")
    note[generator.random(rows) < 0.2] = None
    days = pd.Series(pd.to_datetime("2020-01-01") + pd.to_timedelta(generator.integers(0, 900, rows), "D"))
    days[generator.random(rows) < 0.2] = pd.NaT
    numbers = pd.Series(generator.choice([1.0, 2.5, -3.0, 1e17, np.nan, 0.1], rows))
    flags = pd.Series(generator.random(rows) < 0.5)
    fields = [
        ("備考", "文字", note),
        ("受診日", "日付", days),
        ('欠席"日数', "数値", numbers),
        ("要支援", "フラグ", flags),
    ]
    encoded = encode_values(fields, pd.RangeIndex(rows))
    assert encoded.tolist() == _reference_values_json(fields).tolist()
    assert encode_values([], pd.RangeIndex(2)).isna().all()
