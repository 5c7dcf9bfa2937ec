"""Field comparisons of candidate pairs, vectorised: each comparison gives a level per pair.

A comparison is data (:class:`ComparisonSpec`): which columns, which kind, which
thresholds. Each kind is one class (:class:`ExactComparison`, :class:`DateComparison`,
:class:`StringComparison`, :class:`AddressComparison`, :class:`NameComparison`) that
names its levels and computes them; a new kind is a new registered class and nothing
else. Levels count upwards from 0 (disagree) to the top level (exact agreement); ``-1``
(:data:`MISSING`, 欠損) means one side is missing, which the Fellegi–Sunter model treats
as no evidence. Decision rules (:mod:`macros_py.link.decision_rules`) use the names.
String similarities come from :func:`rapidfuzz.process.cpdist` over aligned arrays;
dates are compared numerically as ``YYYYMMDD`` integers. No Python loop runs per pair,
except over the few pairs that hold an unknown (外字) character.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

from macros_py.link.arrays import ColumnCodes, column_codes
from macros_py.normalize.kanji import WILDCARD

__all__ = [
    "KINDS",
    "MISSING",
    "AddressComparison",
    "Comparison",
    "ComparisonSpec",
    "DateComparison",
    "ExactComparison",
    "Level",
    "NameComparison",
    "StringComparison",
    "compare_pairs",
    "level_labels",
    "register_comparison",
]

_SCORERS = {
    "jaro_winkler": JaroWinkler.normalized_similarity,
    "levenshtein": Levenshtein.normalized_similarity,
    "damerau": DamerauLevenshtein.normalized_similarity,
}

MISSING = "欠損"  # name of level -1 (one side has no value) in every comparison


@dataclass(frozen=True)
class Level:
    """One named level of a comparison.

    Attributes:
        name: short Japanese name that decision rules refer to (``一致``, ``近い`` …).
        label: Japanese text shown to staff in the review rows' per-field agreement.
    """

    name: str
    label: str


@dataclass(frozen=True)
class ComparisonSpec:
    """One compared field, as data (saved with a model in ``link_models``).

    Attributes:
        name: identifier shown in parameters and review rows (e.g. ``"given_name"``).
        column: column of both frames holding the prepared value ("" = missing).
        kind: a registered comparison class (:data:`KINDS`): ``string`` (exact,
            optional near key, similarity thresholds), ``address`` (a string whose near
            key is the 丁目), ``exact`` (agree/disagree), ``date`` (``YYYYMMDD``) or
            ``name`` (written name and reading together).
        thresholds: similarity thresholds, highest first, each giving one level.
        scorer: ``jaro_winkler``, ``levenshtein`` or ``damerau``.
        near_column: optional second column whose equality is one level below exact
            (e.g. a loosely folded name, or a folded kana key).
        tf_adjust: weight exact agreement by how rare the value is (term frequency).
        wildcard: treat :data:`~macros_py.normalize.kanji.WILDCARD` as any character.
        kana_column: for kind ``name``: the folded reading (kana key) compared with the
            written name, so that kanji and kana count once, not twice.
        label: Japanese label for staff-facing tables and decision rules.

    The levels of each kind are named by its class (:meth:`Comparison.levels`).
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
        if self.kind not in _KIND_CLASSES:
            raise ValueError(f"comparison {self.name}: unknown kind {self.kind!r}")
        if self.scorer not in _SCORERS:
            raise ValueError(f"comparison {self.name}: unknown scorer {self.scorer!r}")
        if list(self.thresholds) != sorted(self.thresholds, reverse=True):
            raise ValueError(f"comparison {self.name}: thresholds must be in descending order")
        _KIND_CLASSES[self.kind].check(self)

    @property
    def comparison(self) -> Comparison:
        """The comparison object of this spec's kind."""
        return _KIND_CLASSES[self.kind](self)

    @property
    def n_levels(self) -> int:
        """Number of levels including 0 (disagree); -1 (missing) not counted."""
        return len(self.comparison.levels())

    @property
    def title(self) -> str:
        """The Japanese label, or the name when there is none."""
        return self.label or self.name

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
    return [level.label for level in spec.comparison.levels()]


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


class Comparison(ABC):
    """One kind of comparison: its named levels and how pairs get them.

    A subclass per kind; :func:`register_comparison` makes a kind usable in a
    :class:`ComparisonSpec`, so adding a kind touches only its class. Levels count
    upwards from 0 (disagree) to the top level (exact agreement); -1 is
    :data:`MISSING`.
    """

    kind: ClassVar[str] = ""

    def __init__(self, spec: ComparisonSpec) -> None:
        self.spec = spec

    @classmethod
    def check(cls, spec: ComparisonSpec) -> None:
        """Raise ``ValueError`` when the spec's options do not fit this kind (default: any fit)."""
        return None

    @abstractmethod
    def levels(self) -> tuple[Level, ...]:
        """The named levels, index = level number."""

    def level_number(self, name: str) -> int | None:
        """Number of the level called ``name`` (name or label; -1 for 欠損), ``None`` if unknown."""
        if name == MISSING:
            return -1
        for number, level in enumerate(self.levels()):
            if name in (level.name, level.label):
                return number
        return None

    def coded(
        self, left: pd.DataFrame, right: pd.DataFrame, right_codes: ColumnCodes | None
    ) -> dict[str, Any]:
        """The codes this comparison reads, per row of each frame, computed once per run."""
        coded: dict[str, Any] = {"main": _codes(left, right, self.spec.column, right_codes)}
        if self.spec.near_column:
            coded["near"] = _codes(left, right, self.spec.near_column, right_codes)
        return coded

    @abstractmethod
    def compare(self, coded: dict[str, Any], left_index: np.ndarray, right_index: np.ndarray) -> np.ndarray:
        """Levels (``int8``) of aligned pairs, positions into the coded rows."""


_KIND_CLASSES: dict[str, type[Comparison]] = {}


def register_comparison(cls: type[Comparison]) -> type[Comparison]:
    """Make a :class:`Comparison` subclass usable as ``kind`` of a :class:`ComparisonSpec`."""
    _KIND_CLASSES[cls.kind] = cls
    return cls


@register_comparison
class ExactComparison(Comparison):
    """Equal or not (sex, school cohort)."""

    kind = "exact"

    def levels(self) -> tuple[Level, ...]:
        return (Level("不一致", "不一致"), Level("一致", "一致"))

    def coded(self, left, right, right_codes) -> dict[str, Any]:
        return {"main": _codes(left, right, self.spec.column, right_codes)}

    def compare(self, coded, left_index, right_index) -> np.ndarray:
        code_left, code_right, _ = coded["main"]
        a, b = code_left[left_index], code_right[right_index]
        level = (a == b).astype(np.int8)
        level[(a < 0) | (b < 0)] = -1
        return level


@register_comparison
class DateComparison(Comparison):
    """``YYYYMMDD`` dates as integers: equal, close (day/month swapped or one digit), two of three parts."""

    kind = "date"

    def levels(self) -> tuple[Level, ...]:
        return (
            Level("不一致", "不一致"),
            Level("2項目一致", "年月日の2つが一致"),
            Level("近い", "日月の入れ替え・1桁違い"),
            Level("一致", "一致"),
        )

    def coded(self, left, right, right_codes) -> dict[str, Any]:
        return {
            "numbers": (
                _date_numbers(left, self.spec.column),
                _date_numbers(right, self.spec.column, right_codes),
            )
        }

    def compare(self, coded, left_index, right_index) -> np.ndarray:
        left_numbers, right_numbers = coded["numbers"]
        return _date_levels(left_numbers[left_index], right_numbers[right_index])


@register_comparison
class StringComparison(Comparison):
    """Text: exact, equal near key (optional), then one level per similarity threshold."""

    kind = "string"
    near_name: ClassVar[str] = "表記ゆれ一致"

    def levels(self) -> tuple[Level, ...]:
        ascending = list(reversed(self.spec.thresholds))
        similar = [
            Level("類似" if len(ascending) == 1 else f"類似{t:g}", f"類似度{t:g}以上") for t in ascending
        ]
        near = [Level(self.near_name, "表記ゆれ一致")] if self.spec.near_column else []
        return (Level("不一致", "不一致"), *similar, *near, Level("一致", "一致"))

    def compare(self, coded, left_index, right_index) -> np.ndarray:
        code_left, code_right, uniques = coded["main"]
        near = None
        if "near" in coded:
            near_left, near_right, _ = coded["near"]
            near = (near_left[left_index], near_right[right_index])
        return _string_levels(self.spec, code_left[left_index], code_right[right_index], uniques, near)


@register_comparison
class AddressComparison(StringComparison):
    """An address (町名+丁目-番地-号) whose near key is the 丁目: its near level is 丁目一致."""

    kind = "address"
    near_name = "丁目一致"

    @classmethod
    def check(cls, spec: ComparisonSpec) -> None:
        if not spec.near_column:
            raise ValueError(f"comparison {spec.name}: kind address needs near_column (the 丁目)")


@register_comparison
class NameComparison(Comparison):
    """A name part: written form and reading judged together, so kanji and kana count once.

    Levels: 一致 written name equal; 異体字一致 equal after loose folding or with a 外字
    wildcard, or readings exactly equal; 読み一致 reading keys equal (long vowels, small
    kana folded) or written names similar; 読み類似 readings similar; 不一致 otherwise.
    """

    kind = "name"

    def levels(self) -> tuple[Level, ...]:
        return (
            Level("不一致", "不一致"),
            Level("読み類似", "読み類似"),
            Level("読み一致", "読み一致・表記類似"),
            Level("異体字一致", "異体字・外字・読み完全一致"),
            Level("一致", "一致"),
        )

    def coded(self, left, right, right_codes) -> dict[str, Any]:
        coded = super().coded(left, right, right_codes)
        if self.spec.kana_column:
            coded["kana"] = _codes(left, right, self.spec.kana_column, right_codes)
        return coded

    def compare(self, coded, left_index, right_index) -> np.ndarray:
        code_left, code_right, uniques = coded["main"]
        a, b = code_left[left_index], code_right[right_index]
        near = None
        if "near" in coded:
            near_left, near_right, _ = coded["near"]
            near = (near_left[left_index], near_right[right_index])
        written_levels = _string_levels(_written_spec(self.spec), a, b, uniques, near)
        kana_levels = np.full(len(a), -1, dtype=np.int8)
        if "kana" in coded:
            kana_left, kana_right, kana_uniques = coded["kana"]
            kana_levels = _string_levels(
                _kana_spec(self.spec), kana_left[left_index], kana_right[right_index], kana_uniques, None
            )
        return _NAME_LEVELS[written_levels + 1, kana_levels + 1]


KINDS = tuple(_KIND_CLASSES)


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
        comparison = spec.comparison
        coded = comparison.coded(left, right, right_codes)
        for start in range(0, len(left_index), CHUNK_PAIRS):
            stop = start + CHUNK_PAIRS
            out[start:stop, k] = comparison.compare(coded, left_index[start:stop], right_index[start:stop])
    return out
