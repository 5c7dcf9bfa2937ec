"""The 候補リスト on tiny hand-made data: listing, order, support handling, siblings, reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pytest

from macros_py.score.candidates import CandidateOptions, candidate_rows, rank_children, sibling_listed
from macros_py.sheets import CANDIDATES

IDS = pd.Index(["001", "002", "003", "004", "005"], name="resident_id")


@dataclass(frozen=True)
class Rule:  # the fields of ItemRule the list reads
    item_id: str
    name: str
    source_id: str
    points: dict = field(default_factory=dict)
    shown_in_review: bool = True
    enabled: bool = True


RULES = (
    Rule("absent", "欠席30日以上", "attendance", {"不登校": 3}),
    Rule("welfare", "生活保護", "welfare", {"貧困": 2}),
    Rule("hidden", "転居", "jumin", {"貧困": 1}, shown_in_review=False),
    Rule("club", "部活動", "school", {"不登校": -1}),
)
CHILDREN = pd.DataFrame(
    {
        "household_id": ["H1", "H1", "H2", "H3", ""],
        "name": ["山田 一郎", "山田 花子", "佐藤 次郎", "鈴木 三郎", "田中 四郎"],
        "age": [10, 7, 12, 4, 15],
        "school": ["第一小", "第一小", "第一中", "", "第二中"],
        "grade": [5, 2, 1, None, 3],
    },
    index=IDS,
)
HITS = pd.DataFrame(
    {
        "absent": [True, False, True, False, False],
        "welfare": [True, True, False, False, False],
        "hidden": [True, False, False, False, False],
        "club": [False, False, True, False, False],
    },
    index=IDS,
)
STATUS = pd.DataFrame(
    {
        "item_id": ["absent", "welfare", "hidden", "club"],
        "source_id": ["attendance", "welfare", "jumin", "school"],
        "extract_date": pd.to_datetime(["2025-03-31", "2025-01-31", "2025-04-01", "2025-03-31"]),
        "available": True,
    }
)


DEFAULT_OPTIONS = CandidateOptions()


def _rank(
    options=DEFAULT_OPTIONS,
    support=None,
    probability=None,
    by_model=None,
    first=None,
    final=None,
    priority=None,
):
    first = (
        first
        if first is not None
        else pd.DataFrame(
            {"不登校": [True, False, True, False, False], "貧困": [True, False, False, False, False]},
            index=IDS,
        )
    )
    final = final if final is not None else first
    return rank_children(
        totals=pd.Series([6.0, 2.0, 2.0, 0.0, 0.0], index=IDS),
        priority=priority,
        probability=probability,
        first=first,
        final=final,
        grades=pd.DataFrame({"不登校": ["B", "", "A", "", ""], "貧困": ["A", "", "", "", ""]}, index=IDS),
        by_model=by_model if by_model is not None else pd.Series(False, index=IDS),
        support=support if support is not None else pd.Series("", index=IDS),
        ranking_of={"不登校": "grades", "貧困": "threshold"},
        options=options,
    )


def test_listed_children_are_ranked_by_points_then_id():
    ranking = _rank()
    assert ranking.loc[ranking["listed"]].sort_values("rank").index.tolist() == ["001", "003"]
    assert ranking.loc["001", "types"] == "不登校・貧困"
    assert ranking.loc["001", "grade"] == "A"
    assert ranking.loc["001", "reason"] == "等級・基準点数以上"
    assert pd.isna(ranking.loc["002", "rank"])


@pytest.mark.parametrize(
    ("handling", "expected"),
    [("除外", ["003"]), ("順位を下げる", ["003", "001"]), ("そのまま", ["001", "003"])],
)
def test_supported_children_are_excluded_moved_down_or_kept(handling, expected):
    support = pd.Series(["要対協", "", "支援歴あり", "", ""], index=IDS)
    ranking = _rank(CandidateOptions(supported_children=handling), support=support)
    assert ranking.loc[ranking["listed"]].sort_values("rank").index.tolist() == expected


def test_order_by_probability_and_model_listing():
    probability = pd.Series([0.1, 0.2, 0.5, 0.45, 0.05], index=IDS)
    by_model = probability >= 0.4
    ranking = _rank(CandidateOptions(order="確率"), probability=probability, by_model=by_model)
    assert ranking.loc[ranking["listed"]].sort_values("rank").index.tolist() == ["003", "004", "001"]
    assert ranking.loc["004", "reason"] == "確率"


def test_the_rule_priority_orders_the_list_while_the_points_stay_as_shown():
    priority = pd.Series(
        [1.5, 0.0, 2.25, 0.0, 0.0], index=IDS
    )  # 003's strongest type is further over its bar
    ranking = _rank(priority=priority)
    assert ranking.loc[ranking["listed"]].sort_values("rank").index.tolist() == ["003", "001"]
    assert ranking.loc["001", "total"] == 6.0 and ranking.loc["003", "priority"] == 2.25


def test_sibling_of_a_listed_child_is_marked():
    first = pd.DataFrame({"不登校": [True, False, False, False, False], "貧困": False}, index=IDS)
    uplift = sibling_listed(first, CHILDREN["household_id"])
    assert uplift["不登校"].tolist() == [False, True, False, False, False]
    assert not uplift["貧困"].any()
    final = first | uplift
    ranking = _rank(first=first, final=final)
    assert ranking.loc["002", "reason"] == "きょうだい"


def test_candidate_rows_explain_each_listed_child():
    ranking = _rank()
    table = candidate_rows(
        ranking,
        children=CHILDREN,
        hits=HITS,
        rules=RULES,
        item_status=STATUS,
        source_names={"welfare": "生活保護台帳", "attendance": "出欠"},
    )
    assert list(table.columns) == CANDIDATES.headers
    first = table.iloc[0]
    assert first["宛名番号"] == "001" and first["順位"] == 1
    assert first["主な理由"] == "欠席30日以上、生活保護"  # 転居 is counted but hidden from review
    assert first["きょうだい"] == "山田 花子"
    assert first["データの鮮度"] == "2025-01-31(生活保護台帳)"
    assert first["学年"] == "5"
    second = table.iloc[1]
    assert second["保護的要因"] == "部活動"
    assert second["きょうだい"] == ""
    assert pd.isna(first["確率"])
