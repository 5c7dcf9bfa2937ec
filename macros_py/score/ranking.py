"""Choosing candidates per hardship type from the rule scores (docs/dev/SCORING.md §3).

A child is ranked in a type only when its score is above 0 **and** reaches the
threshold of its age (the 年齢帯別基準点数 band holding its age, else 基準点数). Among
those, the type's 順位付け decides:

* 基準点数以上 (``threshold``): every such child is listed;
* 上位N人 (``top_n``): the N highest scores over all ages;
* 年齢内上位% (``top_percent_by_age``): within each age in whole years, the highest
  scores up to ``ceil(p% × children of that age)`` (all children of the age count, so the
  share is of the age group, as in Tsukuba's top 10 % per age);
* 等級 (``grades``, e.g. ``A:2, B:5, C:10``): within each age, rank ≤ ceil(2 % × n) is A,
  else ≤ ceil(5 % × n) is B, and so on; every graded child is listed.

Equal scores are ordered by resident_id, so the same input always gives the same list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from macros_py.score.types import HardshipType

__all__ = ["age_thresholds", "select_by_type"]


def age_thresholds(hardship: HardshipType, ages: pd.Series) -> np.ndarray:
    """The score a child of each age must reach in ``hardship`` (band, else 基準点数)."""
    age = pd.to_numeric(ages, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    whole = np.floor(age)
    floors = np.full(len(age), float(hardship.threshold), dtype=np.float64)
    for band in hardship.age_bands:
        floors[(whole >= band.min_age) & (whole <= band.max_age)] = float(band.threshold)
    return floors


def _id_ranks(index: pd.Index) -> np.ndarray:
    """0-based position of each resident_id in ascending text order (the tie-breaker)."""
    ids = np.asarray(index.astype(str), dtype=str)
    ranks = np.empty(len(ids), dtype=np.int64)
    ranks[np.argsort(ids, kind="stable")] = np.arange(len(ids))
    return ranks


def _ranks_within(
    cohort: np.ndarray, score: np.ndarray, id_ranks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(1-based rank by score within the cohort, cohort size) per child; ties by resident_id."""
    order = np.lexsort((id_ranks, -score, cohort))
    sorted_cohort = cohort[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_cohort)) + 1] if len(order) else np.array([], int)
    sizes = np.diff(np.r_[starts, len(order)])
    rank, size = np.empty(len(order), np.int64), np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order)) - np.repeat(starts, sizes) + 1
    size[order] = np.repeat(sizes, sizes)
    return rank, size


def _cut(percent: float, size: np.ndarray) -> np.ndarray:
    """How many of a cohort of ``size`` fall in the top ``percent`` (at least 1 of a non-empty cohort)."""
    return np.ceil(size * (percent / 100.0) - 1e-9).astype(np.int64)


def _select_one(
    hardship: HardshipType, score: np.ndarray, eligible: np.ndarray, cohort: np.ndarray, id_ranks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(listed, grade) of every child for one type."""
    grade = np.full(len(score), "", dtype=object)
    if hardship.ranking == "top_n":
        n = int(hardship.ranking_value or 0)
        rank, _ = _ranks_within((~eligible).astype(np.int64), score, id_ranks)  # eligible first
        return eligible & (rank <= n), grade
    if hardship.ranking in ("top_percent_by_age", "grades"):
        rank, size = _ranks_within(cohort, score, id_ranks)
        if hardship.ranking == "top_percent_by_age":
            return eligible & (rank <= _cut(float(hardship.ranking_value or 0.0), size)), grade
        for name, percent in reversed(hardship.grades):  # the best grade is written last
            grade[eligible & (rank <= _cut(percent, size))] = name
        return grade != "", grade
    return eligible.copy(), grade


def select_by_type(scores: pd.DataFrame, types: Sequence[HardshipType], ages: pd.Series) -> pd.DataFrame:
    """Which children each enabled type lists, and their grade.

    Args:
        scores: rule score per child (index resident_id) and type (columns), from
            :func:`macros_py.score.points.type_scores`.
        types: hardship types; disabled ones and those without a score column are left out.
        ages: age in whole years per child (index resident_id).

    Returns:
        Index as ``scores``; columns ``(type name, "listed")`` (bool) and
        ``(type name, "grade")`` (text, "" when not graded).
    """
    age = pd.to_numeric(ages.reindex(scores.index), errors="coerce")
    cohort = np.floor(age.to_numpy(dtype=np.float64, na_value=-1.0)).astype(np.int64)
    id_ranks = _id_ranks(scores.index)
    columns: dict[tuple[str, str], np.ndarray] = {}
    for hardship in types:
        if not hardship.enabled or hardship.name not in scores.columns:
            continue
        score = scores[hardship.name].to_numpy(dtype=np.float64, na_value=0.0)
        eligible = (score > 0) & (score >= age_thresholds(hardship, age))
        listed, grade = _select_one(hardship, score, eligible, cohort, id_ranks)
        columns[(hardship.name, "listed")] = listed
        columns[(hardship.name, "grade")] = grade
    result = pd.DataFrame(columns, index=scores.index)
    result.columns = (
        pd.MultiIndex.from_tuples(list(columns), names=["type", "field"])
        if columns
        else (pd.MultiIndex.from_arrays([[], []], names=["type", "field"]))
    )
    return result
