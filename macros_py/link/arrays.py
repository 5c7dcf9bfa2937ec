"""Fast set operations on integer code arrays (pair codes, resident positions).

``numpy.unique`` on large int64 arrays takes a hash-table path in numpy 2.x that is
tens of times slower than sorting, and ``numpy.isin`` sorts both sides; these helpers
use a sort (unique) and pandas' hash table (membership) instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ColumnCodes", "column_codes", "isin_codes", "object_frame", "shared_codes", "unique_codes"]


def object_frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """A DataFrame of arrays in which object arrays stay object columns.

    pandas 3 would infer its Arrow-backed ``str`` dtype for object arrays of text, and
    linkage reads the columns back as object arrays: two conversions of every value.
    """
    return pd.DataFrame(
        {
            name: pd.Series(values, dtype=object, copy=False) if values.dtype == object else values
            for name, values in columns.items()
        }
    )


def unique_codes(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an integer array.

    Examples:
        >>> unique_codes(np.array([3, 1, 3, 2])).tolist()
        [1, 2, 3]
    """
    ordered = np.sort(np.asarray(values, dtype=np.int64))
    if len(ordered) == 0:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def isin_codes(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Boolean mask: which integer ``values`` occur in ``wanted`` (a new, writable array).

    pandas 3 hands out read-only views from ``to_numpy()``; callers combine masks in
    place (``blocked |= ...``), so the result is always a copy they own.

    Examples:
        >>> isin_codes(np.array([1, 5, 7]), np.array([7, 1])).tolist()
        [True, False, True]
    """
    values = np.asarray(values, dtype=np.int64)
    if len(values) == 0 or len(wanted) == 0:
        return np.zeros(len(values), dtype=bool)
    return pd.Series(values, copy=False).isin(np.asarray(wanted, dtype=np.int64)).to_numpy(copy=True)


def shared_codes(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer codes of two text columns over their shared distinct values.

    Missing values (``None``, NaN) and "" get code -1. No per-value missing check runs:
    the hash factorisation marks missing values itself.

    Returns:
        ``(code_left, code_right, uniques)``; ``uniques[code]`` is the value.

    Examples:
        >>> a, b, u = shared_codes(pd.Series(["x", "", None]), pd.Series(["y", "x"]))
        >>> a.tolist(), b.tolist(), u[b].tolist()
        ([0, -1, -1], [2, 0], ['y', 'x'])
    """
    values = np.concatenate([left.to_numpy(dtype=object), right.to_numpy(dtype=object)])
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    empty = np.flatnonzero(uniques == "")
    if len(empty):
        remap = np.arange(len(uniques) + 1, dtype=np.int64) - 1  # position 0 is code -1
        remap[empty[0] + 1] = -1
        codes = remap[codes + 1]
    codes = codes.astype(np.int64, copy=False)
    return codes[: len(left)], codes[len(left) :], uniques


def _without_empty(codes: np.ndarray, uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes and uniques with the value "" turned into code -1 (missing)."""
    empty = np.flatnonzero(uniques == "")
    codes = codes.astype(np.int64, copy=False)
    if len(empty) == 0:
        return codes, uniques
    remap = np.arange(len(uniques) + 1, dtype=np.int64) - 1  # position 0 is code -1
    remap[empty[0] + 1] = -1
    remap[empty[0] + 2 :] -= 1
    return remap[codes + 1], np.delete(uniques, empty[0])


class ColumnCodes:
    """Integer codes of one frame's text columns, factorised once per column and reused.

    The resident master is blocked on nine rules and compared on six fields, for every
    source and in two passes; coding its columns once per run instead of at every use
    saves the repeated hashing of a million values. Other frames are coded against it
    with :meth:`shared`, which hashes only their own (small) columns.

    Args:
        frame: the frame whose columns are coded (it must not change afterwards).
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._columns: dict[str, tuple[np.ndarray, pd.Index]] = {}
        self._numbers: dict[str, np.ndarray] = {}
        self._memo: dict = {}

    def memo(self, key, compute):
        """``compute()`` once per ``key`` for this frame (blocking keys, for instance)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def codes(self, column: str) -> tuple[np.ndarray, pd.Index]:
        """(code per row, -1 where missing or ""; the distinct values as an index)."""
        if column not in self._columns:
            codes, uniques = pd.factorize(self.frame[column].to_numpy(dtype=object), use_na_sentinel=True)
            codes, uniques = _without_empty(codes, np.asarray(uniques, dtype=object))
            self._columns[column] = (codes, pd.Index(uniques, dtype=object))
        return self._columns[column]

    def numbers(self, column: str) -> np.ndarray:
        """The column as int64 numbers (``YYYYMMDD`` dates), -1 where missing or not a number."""
        if column not in self._numbers:
            codes, index = self.codes(column)
            parsed = pd.to_numeric(pd.Series(index.to_numpy(), dtype=object), errors="coerce")
            table = np.append(parsed.fillna(-1).to_numpy(dtype=np.int64), -1)
            self._numbers[column] = table[codes]
        return self._numbers[column]

    def shared(self, left: pd.Series, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Codes of ``left`` and of this frame's ``column`` over their shared values.

        Same contract as :func:`shared_codes` (``left`` first); values of ``left`` that
        this frame lacks get codes after this frame's own.
        """
        right_codes, index = self.codes(column)
        values = left.to_numpy(dtype=object)
        left_codes = index.get_indexer(pd.Index(values, dtype=object)).astype(np.int64, copy=False)
        unknown = left_codes < 0
        if unknown.any():
            extra_codes, extra = pd.factorize(values[unknown], use_na_sentinel=True)
            extra_codes, extra = _without_empty(extra_codes, np.asarray(extra, dtype=object))
            left_codes[unknown] = np.where(extra_codes >= 0, extra_codes + len(index), -1)
            uniques = np.concatenate([index.to_numpy(), extra])
        else:
            uniques = index.to_numpy()
        return left_codes, right_codes, uniques


def column_codes(
    left: pd.DataFrame, right: pd.DataFrame, column: str, right_codes: ColumnCodes | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`shared_codes` of one column of two frames, re-using ``right_codes`` when it codes ``right``."""
    if right_codes is not None and right_codes.frame is right:
        return right_codes.shared(left[column], column)
    return shared_codes(left[column], right[column])
