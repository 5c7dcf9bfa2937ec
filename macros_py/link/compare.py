"""Field comparisons of candidate pairs, vectorised: each comparison gives a level per pair.

A comparison is data (:class:`ComparisonSpec`): which columns, which kind, which
thresholds. Levels count upwards from 0 (disagree) to the top level (exact agreement);
``-1`` means one side is missing, which the Fellegi–Sunter model treats as no evidence.
String similarities come from :func:`rapidfuzz.process.cpdist` over aligned arrays;
dates are compared numerically as ``YYYYMMDD`` integers. No Python loop runs per pair,
except over the few pairs that hold an unknown (外字) character.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

from macros_py.link.arrays import ColumnCodes, column_codes
from macros_py.normalize.kanji import WILDCARD

__all__ = ["KINDS", "ComparisonSpec", "compare_pairs", "level_labels"]

KINDS = ("string", "exact", "date", "name")
_SCORERS = {
    "jaro_winkler": JaroWinkler.normalized_similarity,
    "levenshtein": Levenshtein.normalized_similarity,
    "damerau": DamerauLevenshtein.normalized_similarity,
}


@dataclass(frozen=True)
class ComparisonSpec:
    """One compared field.

    Attributes:
        name: identifier shown in parameters and review rows (e.g. ``"given_name"``).
        column: column of both frames holding the prepared value ("" = missing).
        kind: ``string`` (exact, optional near key, similarity thresholds), ``exact``
            (agree/disagree) or ``date`` (``YYYYMMDD`` ints: exact, day/month swapped or
            one digit wrong, two of year/month/day equal, else disagree).
        thresholds: similarity thresholds, highest first, each giving one level.
        scorer: ``jaro_winkler``, ``levenshtein`` or ``damerau``.
        near_column: optional second column whose equality is one level below exact
            (e.g. a loosely folded name, or a folded kana key).
        tf_adjust: weight exact agreement by how rare the value is (term frequency).
        wildcard: treat :data:`~macros_py.normalize.kanji.WILDCARD` as any character.
        kana_column: for kind ``name``: the folded reading (kana key) compared with the
            written name, so that kanji and kana count once, not twice.
        label: Japanese label for staff-facing tables.

    Kind ``name`` levels: 4 written name equal; 3 equal after loose folding or with a
    外字 wildcard, or readings exactly equal; 2 reading keys equal (long vowels, small
    kana folded) or written names similar; 1 readings similar; 0 otherwise.
    """

    name: str
    column: str
    kind: str = "string"
    thresholds: tuple[float, ...] = ()
    scorer: str = "jaro_winkler"
    near_column: str | None = None
    tf_adjust: bool = False
    wildcard: bool = False
    kana_column: str | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"comparison {self.name}: unknown kind {self.kind!r}")
        if self.scorer not in _SCORERS:
            raise ValueError(f"comparison {self.name}: unknown scorer {self.scorer!r}")
        if list(self.thresholds) != sorted(self.thresholds, reverse=True):
            raise ValueError(f"comparison {self.name}: thresholds must be in descending order")

    @property
    def n_levels(self) -> int:
        """Number of levels including 0 (disagree)."""
        if self.kind == "exact":
            return 2
        if self.kind == "date":
            return 4
        if self.kind == "name":
            return 5
        return 2 + len(self.thresholds) + (1 if self.near_column else 0)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["thresholds"] = list(self.thresholds)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ComparisonSpec:
        values = dict(data)
        values["thresholds"] = tuple(values.get("thresholds", ()))
        return cls(**values)


def level_labels(spec: ComparisonSpec) -> list[str]:
    """Human-readable label of each level, index = level."""
    if spec.kind == "exact":
        return ["不一致", "一致"]
    if spec.kind == "date":
        return ["不一致", "年月日の2つが一致", "日月の入れ替え・1桁違い", "一致"]
    if spec.kind == "name":
        return ["不一致", "読み類似", "読み一致・表記類似", "異体字・外字・読み完全一致", "一致"]
    labels = ["不一致"] + [f"類似度{t:g}以上" for t in reversed(spec.thresholds)]
    if spec.near_column:
        labels.append("表記ゆれ一致")
    labels.append("一致")
    return labels


def _fill_wildcards(left: list[str], right: list[str]) -> tuple[list[str], list[str]]:
    """Replace wildcard characters by the other side's character at the same position."""
    out_left, out_right = [], []
    for a, b in zip(left, right, strict=True):
        if len(a) == len(b):
            out_left.append("".join(y if x == WILDCARD else x for x, y in zip(a, b, strict=True)))
            out_right.append("".join(x if y == WILDCARD else y for x, y in zip(a, b, strict=True)))
        else:
            out_left.append(a)
            out_right.append(b)
    return out_left, out_right


def _with_wildcards_filled(
    a: np.ndarray, b: np.ndarray, uniques: np.ndarray, code_a: np.ndarray, code_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_fill_wildcards` on the few pairs where either side holds a wildcard."""
    has_wildcard = np.array([WILDCARD in value for value in uniques], dtype=bool)
    rows = np.flatnonzero(has_wildcard[code_a] | has_wildcard[code_b])
    if len(rows) == 0:
        return a, b
    a, b = a.copy(), b.copy()
    filled_a, filled_b = _fill_wildcards(list(a[rows]), list(b[rows]))
    a[rows], b[rows] = filled_a, filled_b
    return a, b


def _values(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column].to_numpy(dtype=object)
    return np.where(pd.isna(values), "", values)


def _codes(
    left: pd.DataFrame, right: pd.DataFrame, column: str, right_codes: ColumnCodes | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shared integer codes of a column on both frames; code -1 means missing ("")."""
    return column_codes(left, right, column, right_codes)


def _string_levels(
    spec: ComparisonSpec,
    code_left: np.ndarray,
    code_right: np.ndarray,
    uniques: np.ndarray,
    near: tuple[np.ndarray, np.ndarray] | None,
) -> np.ndarray:
    missing = (code_left < 0) | (code_right < 0)
    levels = np.zeros(len(code_left), dtype=np.int8)
    top = spec.n_levels - 1
    equal = code_left == code_right
    near_equal = None
    if near is not None:
        near_left, near_right = near
        near_equal = (near_left == near_right) & (near_left >= 0)
    if spec.thresholds and len(code_left):
        # Similarity only where it decides the level: not for missing, equal or near-equal values.
        scored = ~missing & ~equal if near_equal is None else ~missing & ~equal & ~near_equal
        n = len(uniques) + 1
        pair_codes = (code_left[scored].astype(np.int64) + 1) * n + (code_right[scored] + 1)
        inverse, distinct = pd.factorize(pair_codes)  # hashing: faster than sorting here
        del pair_codes
        a = uniques[distinct // n - 1]
        b = uniques[distinct % n - 1]
        if spec.wildcard:
            a, b = _with_wildcards_filled(a, b, uniques, distinct // n - 1, distinct % n - 1)
        similarity = np.asarray(process.cpdist(list(a), list(b), scorer=_SCORERS[spec.scorer], workers=-1))
        scored_levels = np.zeros(len(distinct), dtype=np.int8)
        for rank, threshold in enumerate(reversed(spec.thresholds), start=1):
            scored_levels[similarity >= threshold] = rank
        levels[scored] = scored_levels[inverse]
    if near_equal is not None:
        levels[near_equal] = top - 1
    levels[equal] = top
    levels[missing] = -1
    return levels


# Combined level of kind ``name`` by written level W (rows: missing, 0 disagree,
# 1 similar, 2 equal with 外字 wildcard, 3 equal after loose folding, 4 equal) and
# reading level K (columns: missing, 0 disagree, 1 similar, 2 equal key).
_NAME_LEVELS = np.array(
    [
        [-1, 0, 1, 3],
        [0, 0, 1, 2],
        [1, 0, 1, 2],
        [3, 1, 2, 3],
        [3, 1, 2, 3],
        [4, 2, 3, 4],
    ],
    dtype=np.int8,
)


def _written_spec(spec: ComparisonSpec) -> ComparisonSpec:
    return ComparisonSpec(
        spec.name,
        spec.column,
        thresholds=(0.99, 0.5),
        scorer="levenshtein",
        near_column="near",
        wildcard=True,
    )


def _kana_spec(spec: ComparisonSpec) -> ComparisonSpec:
    return ComparisonSpec(spec.name, spec.kana_column or "", thresholds=(0.85,))


def _date_numbers(frame: pd.DataFrame, column: str, coded: ColumnCodes | None = None) -> np.ndarray:
    if coded is not None and coded.frame is frame:
        return coded.numbers(column)
    codes, uniques = pd.factorize(_values(frame, column))
    numbers = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").fillna(-1).astype(np.int64)
    return numbers.to_numpy()[codes] if len(codes) else np.empty(0, np.int64)


def _date_levels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    missing = (a < 0) | (b < 0)
    ya, ma, da = a // 10000, (a // 100) % 100, a % 100
    yb, mb, db = b // 10000, (b // 100) % 100, b % 100
    same_year = ya == yb
    same_parts = same_year.astype(np.int8) + (ma == mb) + (da == db)
    levels = np.zeros(len(a), dtype=np.int8)
    levels[same_parts >= 2] = 1
    levels[same_year & (ma == db) & (da == mb)] = 2
    # One wrong digit leaves two of year, month and day equal: count digits only there.
    near = np.flatnonzero((same_parts >= 2) & (a != b))
    a_near, b_near = a[near], b[near]
    digit_diffs = np.zeros(len(near), dtype=np.int8)
    for power in range(8):
        digit_diffs += ((a_near // 10**power) % 10 != (b_near // 10**power) % 10).astype(np.int8)
    levels[near[digit_diffs <= 1]] = 2
    levels[a == b] = 3
    levels[missing] = -1
    return levels


_Coded = tuple[np.ndarray, np.ndarray, np.ndarray]  # code_left, code_right, uniques

# Pairs compared at once: bounds the temporary arrays of a comparison (a metropolis
# compares tens of millions of candidate pairs) to a few hundred megabytes.
CHUNK_PAIRS = 2_000_000


def _coded_columns(
    spec: ComparisonSpec, left: pd.DataFrame, right: pd.DataFrame, right_codes: ColumnCodes | None
) -> dict[str, _Coded | tuple[np.ndarray, np.ndarray]]:
    """The codes (or date numbers) a comparison reads, per row of each frame, computed once."""
    if spec.kind == "date":
        return {
            "numbers": (
                _date_numbers(left, spec.column),
                _date_numbers(right, spec.column, right_codes),
            )
        }
    coded: dict = {"main": _codes(left, right, spec.column, right_codes)}
    if spec.near_column and spec.kind in ("string", "name"):
        coded["near"] = _codes(left, right, spec.near_column, right_codes)
    if spec.kind == "name" and spec.kana_column:
        coded["kana"] = _codes(left, right, spec.kana_column, right_codes)
    return coded


def _spec_levels(
    spec: ComparisonSpec, coded: dict, left_index: np.ndarray, right_index: np.ndarray
) -> np.ndarray:
    """Levels of one comparison for aligned pairs (positions into the coded rows)."""
    if spec.kind == "date":
        left_numbers, right_numbers = coded["numbers"]
        return _date_levels(left_numbers[left_index], right_numbers[right_index])
    code_left, code_right, uniques = coded["main"]
    a, b = code_left[left_index], code_right[right_index]
    if spec.kind == "exact":
        level = (a == b).astype(np.int8)
        level[(a < 0) | (b < 0)] = -1
        return level
    near = None
    if "near" in coded:
        near_left, near_right, _ = coded["near"]
        near = (near_left[left_index], near_right[right_index])
    if spec.kind == "string":
        return _string_levels(spec, a, b, uniques, near)
    # kind "name": written form and reading judged together (see _NAME_LEVELS).
    written_levels = _string_levels(_written_spec(spec), a, b, uniques, near)
    kana_levels = np.full(len(a), -1, dtype=np.int8)
    if "kana" in coded:
        kana_left, kana_right, kana_uniques = coded["kana"]
        kana_levels = _string_levels(
            _kana_spec(spec), kana_left[left_index], kana_right[right_index], kana_uniques, None
        )
    return _NAME_LEVELS[written_levels + 1, kana_levels + 1]


def compare_pairs(
    left: pd.DataFrame,
    right: pd.DataFrame,
    left_index: np.ndarray,
    right_index: np.ndarray,
    specs: tuple[ComparisonSpec, ...],
    right_codes: ColumnCodes | None = None,
) -> np.ndarray:
    """Comparison levels of aligned pairs.

    Columns are coded once per comparison; pairs are then compared in slices of
    :data:`CHUNK_PAIRS`, so memory stays bounded however many pairs there are.

    Args:
        left: prepared left records (positional rows).
        right: prepared right records.
        left_index: positions into ``left``, one per pair.
        right_index: positions into ``right``, aligned with ``left_index``.
        specs: the comparisons.
        right_codes: the columns of ``right`` already coded (re-used across calls).

    Returns:
        ``int8`` array (pairs × comparisons); ``-1`` where a value is missing.
    """
    out = np.empty((len(left_index), len(specs)), dtype=np.int8)
    for k, spec in enumerate(specs):
        coded = _coded_columns(spec, left, right, right_codes)
        for start in range(0, len(left_index), CHUNK_PAIRS):
            stop = start + CHUNK_PAIRS
            out[start:stop, k] = _spec_levels(spec, coded, left_index[start:stop], right_index[start:stop])
    return out
