"""Whole rows a reader could not read properly, carried to quarantine with their chunk.

A reader that finds a row that is not whole (fewer fields than the header, for example)
keeps it in its chunk, negates its row number and replaces every cell with a mark:
``NUL`` + Japanese reason + ``NUL`` + the row's text. The row numbers and the cells travel
to :func:`macros_py.ingest.transform.apply_mapping` whatever columns the import selects,
so no new field crosses the reader/importer boundary; ``apply_mapping`` turns each such
row into one quarantine entry (column ``(行全体)``) instead of a record. Finding them
costs one comparison of the row numbers. Readers remove control characters from real
cells, so no real cell starts with ``NUL``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MARK", "WHOLE_ROW", "mark_rows", "marked_rows"]

MARK = "\x00"
WHOLE_ROW = "(行全体)"
_UNKNOWN_REASON = "行全体を読み取れません"


def mark_rows(
    frame: pd.DataFrame, row_numbers: np.ndarray, rows: np.ndarray, reasons: list[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Copies of a chunk's cells and row numbers with the rows at positions ``rows`` marked.

    Examples:
        >>> frame = pd.DataFrame({0: ["1", "2"], 1: ["a", ""]}, dtype="str")
        >>> frame, numbers = mark_rows(frame, np.array([2, 3]), np.array([1]), ["列が足りません"])
        >>> numbers.tolist()
        [2, -3]
        >>> mask, reasons, texts, lines = marked_rows(frame[[1]], numbers)
        >>> mask.tolist(), reasons.tolist(), texts.tolist(), lines.tolist()
        ([False, True], ['', '列が足りません'], ['', '2'], [2, 3])
    """
    if not len(rows):
        return frame, row_numbers
    texts = [",".join(cells).rstrip(",") for cells in frame.iloc[rows].itertuples(index=False)]
    marks = [f"{MARK}{reason}{MARK}{text}" for reason, text in zip(reasons, texts, strict=True)]
    result = frame.copy()
    for column in result.columns:
        values = result[column].to_numpy(dtype=object).copy()
        values[rows] = marks
        result[column] = pd.Series(values, index=result.index, dtype="str")
    numbers = np.asarray(row_numbers, dtype="int64").copy()
    numbers[rows] = -np.abs(numbers[rows])
    return result, numbers


def marked_rows(
    frame: pd.DataFrame, row_numbers: np.ndarray
) -> tuple[np.ndarray, pd.Series, pd.Series, np.ndarray]:
    """(mask of marked rows, reason, row text, row numbers made positive) of a chunk."""
    numbers = np.asarray(row_numbers, dtype="int64")
    marked = numbers < 0
    reasons = pd.Series("", index=frame.index, dtype="str")
    texts = pd.Series("", index=frame.index, dtype="str")
    for position in np.flatnonzero(marked):
        cells = [value for value in frame.iloc[position] if isinstance(value, str) and value.startswith(MARK)]
        reason, text = cells[0].split(MARK, 2)[1:] if cells else (_UNKNOWN_REASON, "")
        reasons.iloc[position], texts.iloc[position] = reason, text
    return marked, reasons, texts, np.abs(numbers)
