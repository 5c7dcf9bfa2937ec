"""The ``values_json`` text of records: value fields (欠席日数, 受診日, ...) as one JSON object.

The text is part of each record's content hash, so its exact form must never change:
``{"欠席日数": 12, "受診日": "2025-04-01", "要支援": true, "備考": null}`` (keys in mapping
order, ``", "`` and ``": "`` separators, control characters as ``\\u00XX``). It is built
column-wise with Arrow's string kernels in one join per chunk.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["encode_values"]

_TEXT = pa.large_string()
_CONTROLS = [chr(code) for code in range(0x20)]


def _text(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    return pa.array(values.astype("str").fillna(""), from_pandas=True).cast(_TEXT)


def _scalar(text: str) -> pa.Scalar:
    return pa.scalar(text, _TEXT)


def _quoted(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """JSON string literals: backslash and quote escaped, control characters as \\u00XX."""
    text = pc.replace_substring(text, "\\", "\\\\")
    text = pc.replace_substring(text, '"', '\\"')
    if pc.any(pc.match_substring_regex(text, "[\\x00-\\x1f]")).as_py():
        for character in _CONTROLS:
            text = pc.replace_substring(text, character, f"\\u{ord(character):04x}")
    return pc.binary_join_element_wise(_scalar('"'), text, _scalar('"'), _scalar(""))


def _encoded(value_type: str, values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """Each value as JSON text (``null`` when missing)."""
    missing = pa.array(values.isna().to_numpy())
    if value_type == "日付":
        encoded = _quoted(_text(values.dt.strftime("%Y-%m-%d")))
    elif value_type == "数値":
        integral = values.notna() & (values == values.round()) & (values.abs() < 2**53)
        as_int = values.where(integral, 0).astype("int64").astype("str")
        encoded = _text(pd.Series(np.where(integral, as_int, values.astype("str")), dtype="str"))
    elif value_type == "フラグ":
        encoded = _text(pd.Series(np.where(values.astype(bool), "true", "false"), dtype="str"))
    else:
        encoded = _quoted(_text(values.fillna("")))
    return pc.if_else(missing, _scalar("null"), encoded)


def encode_values(fields: Sequence[tuple[str, str, pd.Series]], index: pd.Index) -> pd.Series:
    """``values_json`` per row from ``(名前, 型, parsed values)`` of each value field.

    Args:
        fields: value fields in mapping order; values aligned with ``index``.
        index: the rows' index.

    Returns:
        JSON object text per row, or missing for every row when there are no fields.
    """
    if not fields:
        return pd.Series([None] * len(index), index=index, dtype="object")
    keys = pc.binary_join_element_wise(
        _quoted(pa.array([name for name, _, _ in fields], _TEXT)), _scalar(": "), _scalar("")
    )
    parts: list = [_scalar("{")]
    for position, (_name, value_type, values) in enumerate(fields):
        if position:
            parts.append(_scalar(", "))
        parts += [
            pa.scalar(keys[position].as_py(), _TEXT),
            _encoded(value_type, values.reset_index(drop=True)),
        ]
    parts.append(_scalar("}"))
    return pd.Series(pc.binary_join_element_wise(*parts, _scalar("")), index=index, dtype="str")
