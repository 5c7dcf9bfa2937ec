"""The 判定ルール tab: parsing, and every bad cell refused with sheet, Excel row and column."""

from __future__ import annotations

import pandas as pd
import pytest

from macros_py.config.defaults import default_table, read_mapping_csv
from macros_py.config.errors import ConfigErrors
from macros_py.indicators.rules import parse_item_rules, parse_period_days, parse_points
from macros_py.ingest.mapping import parse_mapping_tables
from macros_py.sheets import ITEM_RULES

TYPES = ("虐待", "貧困", "不登校", "ヤングケアラー", "産後うつ", "発達", "いじめ", "ひきこもり")
MAPPING = parse_mapping_tables(
    {key: default_table(key) for key in ("sources", "column_mappings", "code_tables")}
)
GOOD = {
    "項目ID": "absence",
    "項目名": "欠席が多い",
    "基本項目番号": "12",
    "ソースID": "attendance",
    "値項目": "欠席日数",
    "集計": "最大",
    "判定": "値 >= 30",
    "範囲": "本人",
    "配点": "不登校:3, 虐待:1",
}


def _table(*rows: dict) -> pd.DataFrame:
    base = {header: "" for header in ITEM_RULES.headers}
    return pd.DataFrame([{**base, **row} for row in rows], columns=ITEM_RULES.headers)


def _errors(*rows: dict) -> list[tuple[int, str, str]]:
    with pytest.raises(ConfigErrors) as caught:
        parse_item_rules(_table(*rows), type_names=TYPES, mapping=MAPPING)
    for error in caught.value.errors:
        assert error.sheet == "判定ルール"
    return [(error.row, error.column, error.message) for error in caught.value.errors]


def test_a_good_row():
    (rule,) = parse_item_rules(_table(GOOD), type_names=TYPES, mapping=MAPPING)
    assert (rule.item_id, rule.basic_item_no, rule.scope, rule.aggregation) == ("absence", 12, "self", "max")
    assert dict(rule.points) == {"不登校": 3.0, "虐待": 1.0}
    assert rule.group == "absence" and rule.enabled and rule.shown_in_review
    assert rule.excel_row == ITEM_RULES.excel_row(0)
    assert rule.judgement.text == "値 >= 30"


def test_defaults_for_blank_cells():
    (rule,) = parse_item_rules(
        _table({"項目ID": "x", "項目名": "x", "ソースID": "seiho"}), type_names=TYPES, mapping=MAPPING
    )
    assert (rule.aggregation, rule.scope, rule.points, rule.period_days) == ("any", "self", {}, None)


@pytest.mark.parametrize(
    ("cells", "column", "words"),
    [
        ({"ソースID": "nosuch"}, "ソースID", "取込設定"),
        ({"値項目": "欠席"}, "値項目", "欠席日数"),  # unknown field: the known ones are named
        ({"値項目": "学校"}, "値項目", "数値"),  # a text field cannot be 最大
        ({"集計": "平均"}, "集計", "有無"),
        ({"範囲": "親戚"}, "範囲", "保護者"),
        ({"判定": "値 >= "}, "判定", "読めません"),
        ({"記録条件": "遅刻 > 3"}, "記録条件", "遅刻"),
        ({"対象": "年齢 >= 2025-01-01"}, "対象", "日付"),
        ({"配点": "虐待 2"}, "配点", "類型:点数"),
        ({"配点": "貧乏:2"}, "配点", "困難類型"),
        ({"配点": "虐待:多い"}, "配点", "数値"),
        ({"配点": "虐待:1, 虐待:2"}, "配点", "2回"),
        ({"基本項目番号": "20"}, "基本項目番号", "1から19"),
        ({"期間": "3日半"}, "期間", "30日"),
        ({"期間": "1年"}, "日付項目", "日付項目"),
        ({"日付項目": "欠席日数"}, "日付項目", "日付"),
        ({"有効": "多分"}, "有効", "はい"),
        ({"項目ID": "欠席"}, "項目ID", "英数字"),
        ({"項目名": ""}, "項目名", "項目名"),
    ],
)
def test_each_bad_cell_names_row_and_column(cells, column, words):
    errors = _errors({**GOOD, **cells})
    assert [(row, col) for row, col, _ in errors] == [(ITEM_RULES.excel_row(0), column)]
    assert words in errors[0][2]


def test_all_problems_are_collected_with_their_rows():
    errors = _errors(
        GOOD, {**GOOD, "配点": "謎:1"}, {**GOOD, "項目ID": "other", "集計": "合計", "値項目": ""}
    )
    rows = [(row, column) for row, column, _ in errors]
    assert (ITEM_RULES.excel_row(1), "項目ID") in rows  # duplicate id
    assert (ITEM_RULES.excel_row(1), "配点") in rows
    assert (ITEM_RULES.excel_row(2), "値項目") in rows  # 合計 needs a value field


def test_a_disabled_row_may_name_a_source_the_municipality_lacks():
    rows = parse_item_rules(
        _table({**GOOD, "ソースID": "nursery", "値項目": "", "集計": "有無", "判定": "", "有効": "いいえ"}),
        type_names=TYPES,
        mapping=MAPPING,
    )
    assert not rows[0].enabled


def test_period_and_points_syntax():
    assert [parse_period_days(text) for text in ("30日", "6か月", "6ヶ月", "1年", "90", "")] == [
        30,
        183,
        183,
        365,
        90,
        None,
    ]
    assert parse_points("虐待:2、貧困：-1", TYPES) == {"虐待": 2.0, "貧困": -1.0}
    with pytest.raises(ValueError):
        parse_period_days("0日")


def test_the_default_items_parse_and_cover_the_19_basic_items():
    rules = parse_item_rules(read_mapping_csv("items.csv"), type_names=TYPES, mapping=MAPPING)
    assert {rule.basic_item_no for rule in rules if rule.basic_item_no} == set(range(1, 20))
    assert len({rule.item_id for rule in rules}) == len(rules)
    assert any(min(rule.points.values(), default=0) < 0 for rule in rules)  # protective items
    assert {rule.aggregation for rule in rules} >= {
        "any",
        "count",
        "max",
        "latest",
        "none_in_period",
        "change",
    }
    assert {rule.scope for rule in rules} == {"self", "household", "guardians", "siblings"}
    for rule in rules:
        assert rule.rationale and rule.points and set(rule.points) <= set(TYPES)
