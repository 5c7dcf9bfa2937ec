"""Rule scores per hardship type: known answers on tiny hand-made data."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from macros_py.score.points import basic_item_count, group_scores, rule_total, type_scores
from macros_py.score.types import HardshipType


@dataclass(frozen=True)
class Rule:
    """The attributes of indicators.rules.ItemRule that scoring reads."""

    item_id: str
    group: str
    points: dict = field(default_factory=dict, hash=False)
    basic_item_no: int | None = None
    enabled: bool = True


RULES = (
    Rule("absence", "本人", {"不登校": 3, "虐待": 1}, basic_item_no=12),
    Rule("late", "本人", {"不登校": 1, "ヤングケアラー": 1}, basic_item_no=13),
    Rule("seiho", "世帯", {"貧困": 3, "虐待": 1}, basic_item_no=18),
    Rule("jifu", "", {"貧困": 2}, basic_item_no=19),  # blank group: its own group "jifu"
    Rule("kaigo", "世帯", {"ヤングケアラー": 3}),
    Rule("parent_tech", "保護者", {"ヤングケアラー": 2}),
    Rule("fun", "保護的要因", {"不登校": -1}),
    Rule("confidant", "保護的要因", {"不登校": -1}),
    Rule("checkup_4m", "本人", {"虐待": 2}, basic_item_no=3),
    Rule("checkup_18m", "本人", {"虐待": 2}, basic_item_no=3),
)

# children: a (absence, late, fun), b (seiho, jifu), c (late only), d (late, kaigo),
# e (nothing), f (fun, confidant), g (both checkups, seiho)
HITS = pd.DataFrame(
    {
        "absence": [1, 0, 0, 0, 0, 0, 0],
        "late": [1, 0, 1, 1, 0, 0, 0],
        "seiho": [0, 1, 0, 0, 0, 0, 1],
        "jifu": [0, 1, 0, 0, 0, 0, 0],
        "kaigo": [0, 0, 0, 1, 0, 0, 0],
        "parent_tech": [0, 0, 0, 0, 0, 0, 0],
        "fun": [1, 0, 0, 0, 0, 1, 0],
        "confidant": [0, 0, 0, 0, 0, 1, 0],
        "checkup_4m": [0, 0, 0, 0, 0, 0, 1],
        "checkup_18m": [0, 0, 0, 0, 0, 0, 1],
    },
    index=pd.Index(list("abcdefg"), name="resident_id"),
).astype(bool)


def _types(**overrides) -> tuple[HardshipType, ...]:
    base = {
        "不登校": HardshipType("不登校", 3.0),
        "貧困": HardshipType("貧困", 3.0),
        "ヤングケアラー": HardshipType("ヤングケアラー", 3.0, required_groups=("世帯", "保護者")),
        "虐待": HardshipType("虐待", 4.0),
    }
    base.update(overrides)
    return tuple(base.values())


def test_sum_within_groups_then_groups_added():
    scores = type_scores(HITS, RULES, _types())
    assert list(scores.columns) == ["不登校", "貧困", "ヤングケアラー", "虐待"]
    assert scores.index.equals(HITS.index)
    assert scores["不登校"].tolist() == [3.0, 0, 1, 1, 0, -2, 0]  # a: 3 + 1 - 1; f: -1 - 1
    assert scores["貧困"].tolist() == [0, 5.0, 0, 0, 0, 0, 3]  # b: seiho 3 + jifu 2 (own group)
    assert scores["虐待"].tolist() == [1.0, 1, 0, 0, 0, 0, 5]  # g: 2 + 2 + 1


def test_max_within_groups_counts_the_strongest_raise_and_reduction_once():
    types = _types(
        不登校=HardshipType("不登校", 3.0, group_method="max"),
        虐待=HardshipType("虐待", 4.0, group_method="max"),
    )
    scores = type_scores(HITS, RULES, types)
    assert scores["不登校"].tolist() == [2.0, 0, 1, 1, 0, -1, 0]  # a: max(3, 1) - 1; f: min(-1, -1)
    assert scores["虐待"].tolist() == [1.0, 1, 0, 0, 0, 0, 3]  # g: max(2, 2) in 本人 + 1 in 世帯
    assert scores["貧困"].tolist() == [0, 5.0, 0, 0, 0, 0, 3]  # different groups are still added


def test_gate_scores_zero_unless_a_required_group_scores():
    scores = type_scores(HITS, RULES, _types())
    # c has lateness only (本人): gate closed; d has lateness and care in the household.
    assert scores["ヤングケアラー"].tolist() == [0, 0, 0, 4.0, 0, 0, 0]
    open_gate = type_scores(HITS, RULES, _types(ヤングケアラー=HardshipType("ヤングケアラー", 3.0)))
    assert open_gate["ヤングケアラー"].tolist() == [1.0, 0, 1, 4, 0, 0, 0]


def test_a_gate_on_a_group_nobody_scores_in_closes_for_everyone():
    types = _types(ヤングケアラー=HardshipType("ヤングケアラー", 3.0, required_groups=("なし",)))
    assert type_scores(HITS, RULES, types)["ヤングケアラー"].tolist() == [0.0] * 7


def test_group_scores_per_group():
    groups = group_scores(HITS, RULES, HardshipType("ヤングケアラー", 3.0))
    assert list(groups.columns) == ["本人", "世帯", "保護者"]
    assert groups.loc["d"].tolist() == [1.0, 3.0, 0.0]


def test_disabled_types_rules_and_missing_items_are_left_out():
    types = _types(貧困=HardshipType("貧困", 3.0, enabled=False))
    rules = (
        *RULES[:2],
        Rule("seiho", "世帯", {"虐待": 1}, enabled=False),
        Rule("not_computed", "本人", {"虐待": 9}),
    )
    scores = type_scores(HITS, rules, types)
    assert "貧困" not in scores.columns
    assert scores["虐待"].tolist() == [1.0, 0, 0, 0, 0, 0, 0]


def test_missing_hit_cells_count_as_no_hit():
    hits = HITS.astype(object)
    hits.loc["a", "absence"] = None
    assert type_scores(hits, RULES, _types())["不登校"]["a"] == 0.0


def test_no_children_and_no_rules():
    empty = HITS.iloc[:0]
    assert type_scores(empty, RULES, _types()).shape == (0, 4)
    assert type_scores(HITS, (), _types())["虐待"].tolist() == [0.0] * 7


def test_rule_total_adds_the_types():
    scores = type_scores(HITS, RULES, _types())
    assert rule_total(scores).tolist() == [4.0, 6, 1, 5, 0, -2, 8]
    assert rule_total(scores).index.equals(HITS.index)


def test_basic_item_count_counts_each_national_item_once():
    counts = basic_item_count(HITS, RULES)
    # a: 12, 13; b: 18, 19; g: 18 and item 3 (two checkups) once
    assert counts.tolist() == [2, 2, 1, 1, 0, 0, 2]
    assert counts.dtype == np.int64


@pytest.mark.parametrize("size", [0, 1, 1000])
def test_scores_are_vectorised_over_many_children(size):
    rng = np.random.default_rng(size)
    hits = pd.DataFrame(rng.random((size, len(RULES))) < 0.3, columns=[rule.item_id for rule in RULES])
    scores = type_scores(hits, RULES, _types())
    expected = hits["absence"] * 3 + hits["late"] * 1 - hits["fun"] - hits["confidant"]
    assert np.allclose(scores["不登校"].to_numpy(), expected.to_numpy(dtype=float))


def test_rule_priority_orders_by_types_listed_then_strongest_type_against_its_bar():
    from macros_py.score.points import rule_priority
    from macros_py.score.types import AgeBand

    types = (
        HardshipType("虐待", 4.0),
        HardshipType("貧困", 2.0, age_bands=(AgeBand(0, 5, 8.0),)),
    )
    scores = pd.DataFrame(
        {"虐待": [4.0, 8.0, 0.0, 2.0, 0.0], "貧困": [2.0, 0.0, 3.0, 4.0, -1.0]},
        index=pd.Index(list("vwxyz"), name="resident_id"),
    )
    listed = pd.DataFrame(
        {"虐待": [True, True, False, False, False], "貧困": [True, False, True, False, False]},
        index=scores.index,
    )
    ages = pd.Series([10, 10, 10, 3, 10], index=scores.index)
    priority = rule_priority(scores, listed, types, ages)
    # v: two types listed + max(4/4, 2/2) = 3; w: one type + 8/4 = 3; x: one + 3/2 = 2.5;
    # y (age 3, 貧困 bar 8): none listed + max(2/4, 4/8) = 0.5; z: a negative score counts 0.
    assert priority.tolist() == pytest.approx([3.0, 3.0, 2.5, 0.5, 0.0])
    assert priority.name == "rule_priority"
