"""Rule scores per hardship type (docs/dev/SCORING.md §3).

For each enabled type, every hit item adds its 配点 for that type to its 中分類 (the item
id when blank). Within a 中分類 the points are added up (合計) or the strongest one counts
(最大: the largest raise plus the largest reduction, so a group of protective items is
not counted twice either). The 中分類 are then added up. When the type names 必須中分類,
a child none of whose required groups scores above 0 gets 0 for the type (Kaisei's
young-carer gate). Everything is matrix arithmetic over all children at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from macros_py.score.types import HardshipType

__all__ = ["basic_item_count", "group_scores", "rule_priority", "rule_total", "type_scores"]


def _hit_matrix(hits: pd.DataFrame, item_ids: Sequence[str]) -> np.ndarray:
    frame = hits.reindex(columns=list(item_ids))
    return frame.to_numpy(dtype=np.float64, na_value=0.0)


def _scoring_rules(rules: Sequence, hits: pd.DataFrame, type_name: str) -> list:
    return [
        rule
        for rule in rules
        if getattr(rule, "enabled", True)
        and rule.item_id in hits.columns
        and float(rule.points.get(type_name, 0.0)) != 0.0
    ]


def group_scores(hits: pd.DataFrame, rules: Sequence, hardship: HardshipType) -> pd.DataFrame:
    """Score of each 中分類 for one type: index resident_id, one float column per group.

    Args:
        hits: bool per child (index resident_id) and item (columns item_id).
        rules: item rules (attributes ``item_id``, ``group``, ``points``; ``enabled`` if present).
        hardship: the type; its ``group_method`` says 合計 (sum) or 最大 (max).
    """
    chosen = _scoring_rules(rules, hits, hardship.name)
    by_group: dict[str, list] = {}
    for rule in chosen:
        by_group.setdefault(rule.group or rule.item_id, []).append(rule)
    columns: dict[str, np.ndarray] = {}
    for group, members in by_group.items():
        points = np.array([float(rule.points[hardship.name]) for rule in members], dtype=np.float64)
        contributions = _hit_matrix(hits, [rule.item_id for rule in members]) * points
        if hardship.group_method == "max":
            raises = np.clip(contributions, 0.0, None).max(axis=1)
            reductions = np.clip(contributions, None, 0.0).min(axis=1)
            columns[group] = raises + reductions
        else:
            columns[group] = contributions.sum(axis=1)
    return pd.DataFrame(columns, index=hits.index, dtype=np.float64)


def type_scores(hits: pd.DataFrame, rules: Sequence, types: Sequence[HardshipType]) -> pd.DataFrame:
    """Rule score per child and enabled hardship type.

    Args:
        hits: bool per child (index resident_id) and item (columns item_id).
        rules: item rules with ``item_id``, ``group`` and ``points`` (type name → points).
        types: hardship types; disabled ones are left out.

    Returns:
        Index resident_id (as ``hits``), one float column per enabled type, in tab order.
    """
    scores: dict[str, np.ndarray] = {}
    for hardship in types:
        if not hardship.enabled:
            continue
        groups = group_scores(hits, rules, hardship)
        total = groups.to_numpy().sum(axis=1) if groups.shape[1] else np.zeros(len(hits.index))
        if hardship.required_groups:
            present = [group for group in hardship.required_groups if group in groups.columns]
            opened = (groups[present].to_numpy() > 0).any(axis=1) if present else np.zeros(len(total), bool)
            total = np.where(opened, total, 0.0)
        scores[hardship.name] = total
    return pd.DataFrame(scores, index=hits.index, dtype=np.float64)


def rule_total(scores: pd.DataFrame) -> pd.Series:
    """The ranking score of the rule method: the type scores added up per child."""
    return pd.Series(scores.to_numpy(dtype=np.float64).sum(axis=1), index=scores.index, name="rule_total")


def rule_priority(
    scores: pd.DataFrame, listed: pd.DataFrame, types: Sequence[HardshipType], ages: pd.Series
) -> pd.Series:
    """The order of the rule method: types listed, then the strongest type against its bar.

    A child listed in more hardship types comes first (hardship in several areas at once
    is the more urgent case); among equals, the child whose strongest type exceeds that
    type's 基準点数 (for its age band) by the largest factor. Raw points are not added
    across types, because each type's points are on their own scale (貧困 items are many
    and small, 虐待 items few and large): the sum would rank by how many items a type has.

    Args:
        scores: Rule score per child and type (:func:`type_scores`).
        listed: Per type, whether the child is listed (columns = type names, bool).
        types: The hardship types (for their thresholds per age band).
        ages: Age in whole years per child.

    Returns:
        ``listed types + max(score / threshold)`` per child (0 for a child scoring nothing).
    """
    from macros_py.score.ranking import age_thresholds

    age = ages.reindex(scores.index)
    ratios = np.zeros((len(scores.index), 0))
    for hardship in types:
        if not hardship.enabled or hardship.name not in scores.columns:
            continue
        bar = np.maximum(age_thresholds(hardship, age), 1e-9)
        score = scores[hardship.name].to_numpy(dtype=np.float64, na_value=0.0)
        ratios = np.column_stack([ratios, np.maximum(score, 0.0) / np.where(bar > 0, bar, 1.0)])
    strongest = ratios.max(axis=1) if ratios.shape[1] else np.zeros(len(scores.index))
    count = listed.reindex(scores.index).fillna(False).to_numpy(dtype=bool).sum(axis=1)
    return pd.Series(count + strongest, index=scores.index, name="rule_priority")


def basic_item_count(hits: pd.DataFrame, rules: Sequence) -> pd.Series:
    """How many of the national basic items (基本項目番号 1–19) each child hits.

    Several rules with the same number (e.g. the three checkups of item 3) count once.
    """
    numbers: dict[int, list[str]] = {}
    for rule in rules:
        number = getattr(rule, "basic_item_no", None)
        if number is not None and getattr(rule, "enabled", True) and rule.item_id in hits.columns:
            numbers.setdefault(int(number), []).append(rule.item_id)
    count = np.zeros(len(hits.index), dtype=np.int64)
    for item_ids in numbers.values():
        count += _hit_matrix(hits, item_ids).any(axis=1)
    return pd.Series(count, index=hits.index, name="basic_item_count")
