"""困難類型 tab: parsing into HardshipType and ConfigErrors naming sheet, row and column."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from macros_py.config.errors import ConfigErrors
from macros_py.score.types import (
    AgeBand,
    HardshipType,
    check_required_groups,
    parse_age_bands,
    parse_grades,
    parse_hardship_types,
)
from macros_py.sheets import HARDSHIP_TYPES

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"


def _table(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{header: row.get(header, "") for header in HARDSHIP_TYPES.headers} for row in rows])


def _row(**cells) -> dict:
    base = {"類型": "虐待", "基準点数": "4"}
    base.update(cells)
    return base


def test_a_full_row_is_parsed_into_a_frozen_type():
    table = _table(
        _row(
            中分類の集計="最大",
            必須中分類="世帯、保護者, きょうだい",
            年齢帯別基準点数="6-12:4, 0-5:3, 13-18:5",
            順位付け="等級",
            順位付けの値="A:2, B:5, C:10",
            有効="はい",
            説明="説明文",
        )
    )
    (hardship,) = parse_hardship_types(table)
    assert hardship == HardshipType(
        name="虐待",
        threshold=4.0,
        group_method="max",
        required_groups=("世帯", "保護者", "きょうだい"),
        age_bands=(AgeBand(0, 5, 3.0), AgeBand(6, 12, 4.0), AgeBand(13, 18, 5.0)),
        ranking="grades",
        ranking_value=None,
        grades=(("A", 2.0), ("B", 5.0), ("C", 10.0)),
        enabled=True,
        description="説明文",
        excel_row=HARDSHIP_TYPES.excel_row(0),
    )
    with pytest.raises(AttributeError):
        hardship.threshold = 1  # type: ignore[misc]


def test_blank_cells_take_the_defaults_and_blank_rows_are_skipped():
    table = _table({}, _row(基準点数=3.0, 有効="いいえ"), {})
    (hardship,) = parse_hardship_types(table)
    assert (hardship.group_method, hardship.ranking, hardship.required_groups, hardship.age_bands) == (
        "sum",
        "threshold",
        (),
        (),
    )
    assert hardship.threshold == 3.0 and hardship.enabled is False
    assert hardship.excel_row == HARDSHIP_TYPES.excel_row(1)


@pytest.mark.parametrize(
    ("ranking", "value", "expected"),
    [
        ("上位N人", "200", 200.0),
        ("年齢内上位%", "10", 10.0),
        ("年齢内上位%", "２.５", 2.5),
        ("基準点数以上", "", None),
    ],
)
def test_ranking_values(ranking, value, expected):
    (hardship,) = parse_hardship_types(_table(_row(順位付け=ranking, 順位付けの値=value)))
    assert hardship.ranking_value == expected


def test_full_width_numbers_are_read():
    (hardship,) = parse_hardship_types(_table(_row(基準点数="３", 年齢帯別基準点数="０－５：２")))
    assert hardship.threshold == 3.0
    assert hardship.age_bands == (AgeBand(0, 5, 2.0),)


@pytest.mark.parametrize(
    ("cells", "column", "words"),
    [
        ({"基準点数": ""}, "基準点数", "基準点数を入れて"),
        ({"基準点数": "たくさん"}, "基準点数", "数値ではありません"),
        ({"基準点数": "-1"}, "基準点数", "0以上"),
        ({"中分類の集計": "平均"}, "中分類の集計", "合計・最大から選んで"),
        ({"順位付け": "上位"}, "順位付け", "から選んで"),
        ({"順位付け": "上位N人", "順位付けの値": ""}, "順位付けの値", "例: 200"),
        ({"順位付け": "上位N人", "順位付けの値": "2.5"}, "順位付けの値", "1以上の整数"),
        ({"順位付け": "上位N人", "順位付けの値": "0"}, "順位付けの値", "1以上の整数"),
        ({"順位付け": "年齢内上位%", "順位付けの値": "150"}, "順位付けの値", "100以下"),
        ({"順位付け": "年齢内上位%", "順位付けの値": "十"}, "順位付けの値", "数値ではありません"),
        ({"順位付け": "等級", "順位付けの値": ""}, "順位付けの値", "A:2, B:5, C:10"),
        ({"順位付け": "等級", "順位付けの値": "A:5, B:2"}, "順位付けの値", "前の等級より大きく"),
        ({"順位付け": "等級", "順位付けの値": "A:2, A:5"}, "順位付けの値", "2回あります"),
        ({"順位付け": "等級", "順位付けの値": "A=2"}, "順位付けの値", "読めません"),
        ({"順位付け": "等級", "順位付けの値": "A:0"}, "順位付けの値", "0より大きく"),
        ({"年齢帯別基準点数": "0-5"}, "年齢帯別基準点数", "読めません"),
        ({"年齢帯別基準点数": "6-5:3"}, "年齢帯別基準点数", "下限が上限より大きく"),
        ({"年齢帯別基準点数": "0-6:3, 5-12:4"}, "年齢帯別基準点数", "重なっています"),
        ({"有効": "たぶん"}, "有効", "はい・いいえ"),
        ({"類型": ""}, "類型", "類型の名前"),
    ],
)
def test_each_bad_cell_is_a_config_error_with_sheet_row_and_column(cells, column, words):
    table = _table(_row(類型="貧困"), _row(**cells))
    with pytest.raises(ConfigErrors) as caught:
        parse_hardship_types(table)
    (error,) = caught.value.errors
    assert (error.sheet, error.row, error.column) == ("困難類型", HARDSHIP_TYPES.excel_row(1), column)
    assert words in error.message
    assert f"シート「困難類型」 {HARDSHIP_TYPES.excel_row(1)}行目 「{column}」列" in str(caught.value)


def test_every_bad_cell_of_every_row_is_reported_at_once():
    table = _table(_row(基準点数="x", 中分類の集計="平均"), _row(類型="貧困", 順位付け="等級"), _row())
    with pytest.raises(ConfigErrors) as caught:
        parse_hardship_types(table)
    found = [(error.row, error.column) for error in caught.value.errors]
    assert found == [(5, "基準点数"), (5, "中分類の集計"), (6, "順位付けの値"), (7, "類型")]
    assert (
        "1行目にも" not in caught.value.errors[-1].message
        and "5行目にもあります" in caught.value.errors[-1].message
    )


def test_no_table_means_no_types():
    assert parse_hardship_types(None) == ()
    assert parse_hardship_types(_table()) == ()


def test_age_band_and_grade_texts():
    assert parse_age_bands("0〜5：3、6-18:4.5") == (AgeBand(0, 5, 3.0), AgeBand(6, 18, 4.5))
    assert parse_grades("A:2%, B:5, C：10") == (("A", 2.0), ("B", 5.0), ("C", 10.0))


@dataclass(frozen=True)
class _Rule:
    item_id: str
    group: str
    points: dict = field(default_factory=dict, hash=False)
    enabled: bool = True


def test_required_groups_without_any_scoring_item_are_reported_on_the_row():
    types = parse_hardship_types(_table(_row(類型="ヤングケアラー", 必須中分類="世帯, 親")))
    rules = [_Rule("kaigo", "世帯", {"ヤングケアラー": 3}), _Rule("late", "本人", {"ヤングケアラー": 1})]
    (error,) = check_required_groups(types, rules)
    assert (error.sheet, error.row, error.column) == ("困難類型", 5, "必須中分類")
    assert "「親」" in error.message and "使える中分類: 世帯、本人" in error.message
    assert check_required_groups(types[:0], rules) == []


def test_the_default_types_parse_and_name_the_eight_types():
    table = pd.read_csv(MAPPINGS / "hardship_types.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    assert list(table.columns) == HARDSHIP_TYPES.headers
    types = parse_hardship_types(table)
    assert [hardship.name for hardship in types] == [
        "虐待", "貧困", "不登校", "ヤングケアラー", "産後うつ", "発達", "いじめ", "ひきこもり",
    ]  # fmt: skip
    assert {hardship.ranking for hardship in types} == {"threshold", "top_percent_by_age", "grades"}
    young_carer = next(hardship for hardship in types if hardship.name == "ヤングケアラー")
    assert young_carer.required_groups == ("世帯", "保護者", "きょうだい")


def test_the_default_types_fit_the_default_items():
    """Every 必須中分類 of the defaults is a 中分類 of items.csv scoring that type, and vice versa."""
    items = pd.read_csv(MAPPINGS / "items.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    types = parse_hardship_types(
        pd.read_csv(MAPPINGS / "hardship_types.csv", dtype=str, keep_default_na=False)
    )
    rules = []
    for _, item in items.iterrows():
        points = {}
        for part in item["配点"].replace("、", ",").split(","):
            if part.strip():
                name, value = part.split(":")
                points[name.strip()] = float(value)
        rules.append(_Rule(item["項目ID"], item["中分類"], points, item["有効"] != "いいえ"))
    assert check_required_groups(types, rules) == []
    type_names = {hardship.name for hardship in types}
    assert {name for rule in rules for name in rule.points} <= type_names


def _type_into_hardship_types(path: Path, row_index: int, header: str, value: str) -> None:
    import openpyxl

    book = openpyxl.load_workbook(path, keep_vba=True)
    sheet = book[HARDSHIP_TYPES.name]
    sheet.cell(HARDSHIP_TYPES.excel_row(row_index), HARDSHIP_TYPES.headers.index(header) + 1).value = value
    book.save(path)


@pytest.mark.parametrize("action", ["check_settings", "score"])
def test_a_bad_cell_typed_in_the_workbook_is_refused_naming_sheet_row_and_column(tmp_path, action):
    from macros_py.book.build import build_workbook
    from macros_py.book.filemode import run_in_file_mode

    path = build_workbook(tmp_path / "mimamori.xlsm")
    _type_into_hardship_types(path, 1, "順位付けの値", "A:5, B:2")  # 貧困 row; grades must grow
    _type_into_hardship_types(path, 1, "順位付け", "等級")
    result = run_in_file_mode(action, path, user_name="tester")
    assert result.ok is False
    where = f"シート「困難類型」 {HARDSHIP_TYPES.excel_row(1)}行目 「順位付けの値」列"
    assert any(where in message and "前の等級より大きく" in message for message in result.messages), (
        result.messages
    )
    assert not any("Traceback" in message or "Error" in message for message in result.messages)
