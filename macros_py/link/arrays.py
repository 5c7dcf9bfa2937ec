"""Fast set operations on integer code arrays (pair codes, resident positions).

``numpy.unique`` on large int64 arrays takes a hash-table path in numpy 2.x that is
tens of times slower than sorting, and ``numpy.isin`` sorts both sides; these helpers
use a sort (unique) and pandas' hash table (membership) instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["isin_codes", "shared_codes", "unique_codes"]


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
    """Boolean mask: which integer ``values`` occur in ``wanted``.

    Examples:
        >>> isin_codes(np.array([1, 5, 7]), np.array([7, 1])).tolist()
        [True, False, True]
    """
    values = np.asarray(values, dtype=np.int64)
    if len(values) == 0 or len(wanted) == 0:
        return np.zeros(len(values), dtype=bool)
    return pd.Series(values, copy=False).isin(np.asarray(wanted, dtype=np.int64)).to_numpy()


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
