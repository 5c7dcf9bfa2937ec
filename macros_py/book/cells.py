"""Cell values at the workbook boundary: everything harvested is text, numbers only where the spec says."""

from __future__ import annotations

import datetime as dt
import math
import re

import pandas as pd

from macros_py.sheets import ColumnSpec

__all__ = ["as_number", "cell_text", "excel_value", "source_names", "table_records", "with_source_names"]

# ASCII digits only: Python's \d (and float()) also accept full-width and other scripts' digits.
SOURCE_ID_HEADER = "ソースID"
# Headers that show a source's 名称 (取込設定) beside or instead of its ID.
SOURCE_NAME_HEADERS = ("ソース名", "名称")
_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")


def cell_text(value: object) -> str:
    """The text of a cell value as staff read it: blanks become ``""``.

    Whole floats lose their ``.0`` (Excel stores every number as a float), dates are
    ISO formatted, booleans become ``True``/``False``. Missing values of every kind
    (``None``, NaN, ``pd.NA``, ``pd.NaT``) are blank, never ``<NA>`` or ``nan``.

    >>> cell_text(12.0), cell_text(0.95), cell_text(None), cell_text(dt.date(2025, 4, 1))
    ('12', '0.95', '', '2025-04-01')
    >>> cell_text(pd.NA), cell_text(pd.NaT), cell_text(float("nan"))
    ('', '', '')
    """
    if value is None or value is pd.NaT or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return cell_text(value.item())
    return str(value).strip()


def as_number(text: str) -> int | float | None:
    """The number a text spells in ASCII digits, or ``None``.

    Full-width digits stay text: a value written as a number must read back as the
    same text, and identifiers typed in full width are not quantities.

    >>> as_number("12"), as_number("0.5"), as_number("１２"), as_number("=1+1")
    (12, 0.5, None, None)
    """
    if not _NUMBER.match(text):
        return None
    number = float(text)
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def excel_value(value: object, column: ColumnSpec) -> int | float | str:
    """What to write into a cell of ``column``: a number for numeric columns, else text."""
    text = cell_text(value)
    if column.kind in ("int", "float") and text:
        number = as_number(text)
        if number is not None:
            return number
    return text


def table_records(
    frame: pd.DataFrame | None, columns: tuple[ColumnSpec, ...]
) -> list[list[int | float | str]]:
    """Rows of ``frame`` in the spec's column order (missing columns blank), as cell values."""
    if frame is None or frame.empty:
        return []
    headers = [column.header for column in columns]
    aligned = frame.reindex(columns=headers)
    return [
        [excel_value(value, column) for value, column in zip(row, columns, strict=True)]
        for row in aligned.itertuples(index=False, name=None)
    ]


def source_names(sources: pd.DataFrame | None) -> dict[str, str]:
    """ソースID → 名称 from the 取込設定 table (rows without a name are left out).

    >>> source_names(pd.DataFrame({"ソースID": ["jumin", "x"], "名称": ["住民記録", pd.NA]}))
    {'jumin': '住民記録'}
    """
    if sources is None or sources.empty or not {SOURCE_ID_HEADER, "名称"} <= set(sources.columns):
        return {}
    pairs = zip(sources[SOURCE_ID_HEADER], sources["名称"], strict=True)
    return {cell_text(key): cell_text(name) for key, name in pairs if cell_text(key) and cell_text(name)}


def with_source_names(
    frame: pd.DataFrame | None, columns: tuple[ColumnSpec, ...], names: dict[str, str]
) -> pd.DataFrame | None:
    """``frame`` with its blank source-name cells filled from its ソースID column.

    Staff read source names; the ID stays in its own (hidden) column. A source missing
    from 取込設定 shows its ID rather than nothing. ``frame`` is not modified.
    """
    headers = {column.header for column in columns}
    targets = [header for header in SOURCE_NAME_HEADERS if header in headers]
    if frame is None or frame.empty or not targets or SOURCE_ID_HEADER not in frame.columns:
        return frame
    ids = [cell_text(value) for value in frame[SOURCE_ID_HEADER]]
    filled = frame.copy()
    for header in targets:
        current = (
            [cell_text(value) for value in frame[header]] if header in frame.columns else [""] * len(ids)
        )
        filled[header] = [now or names.get(key, key) for now, key in zip(current, ids, strict=True)]
    return filled
