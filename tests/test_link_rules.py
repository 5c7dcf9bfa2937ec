"""The decision rules of 名寄せ as data (名寄せルール tab, mappings/link_rules.csv)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from macros_py.actions import ActionContext, run_action
from macros_py.config.defaults import default_table, default_tables
from macros_py.config.errors import ConfigErrors
from macros_py.link.compare import (
    KINDS,
    MISSING,
    AddressComparison,
    Comparison,
    ComparisonSpec,
    DateComparison,
    Level,
    NameComparison,
    compare_pairs,
    level_labels,
    register_comparison,
)
from macros_py.link.decision_rules import (
    EXCLUDE,
    REVIEW,
    default_link_rules,
    link_rules_from_tab,
    parse_link_rules,
)
from macros_py.link.match import MatchOptions
from macros_py.link.pipeline import link_source
from macros_py.link.query import current_links
from macros_py.sheets import LINK_RULES

sys.path.insert(0, str(Path(__file__).parent))
from test_link_action import _context  # noqa: E402
from test_link_known_answers import make_master  # noqa: E402


def _table(*rows: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame([list(row) + [""] * (6 - len(row)) for row in rows], columns=LINK_RULES.headers)


def test_default_rules_are_the_documented_ones_in_order():
    rules = default_link_rules()
    assert [rule.rule_id for rule in rules.rules] == [
        "twins",
        "grade",
        "birth_close",
        "birth",
        "given",
        "surname",
        "margin",
    ]
    assert [rule.rule_id for rule in rules.of(EXCLUDE)] == ["twins"]
    assert all(rule.reason for rule in rules.of(REVIEW))
    # The workbook tab starts from the same file.
    tab = default_table(LINK_RULES.key)
    assert list(tab.columns) == LINK_RULES.headers and len(tab) == len(rules.rules)
    assert link_rules_from_tab(tab) == rules


def test_every_comparison_kind_names_its_levels():
    assert set(KINDS) >= {"exact", "date", "name", "string", "address"}
    date = ComparisonSpec("birth", "birth", kind="date", label="生年月日")
    assert isinstance(date.comparison, DateComparison)
    assert [level.name for level in date.comparison.levels()] == ["不一致", "2項目一致", "近い", "一致"]
    assert date.comparison.level_number("近い") == 2
    assert date.comparison.level_number(MISSING) == -1
    assert date.comparison.level_number("日月の入れ替え・1桁違い") == 2  # the staff label works too
    name = ComparisonSpec("given", "given", kind="name", kana_column="kana_given")
    assert isinstance(name.comparison, NameComparison) and name.n_levels == 5
    assert name.comparison.level_number("読み一致") == 2
    address = ComparisonSpec("address", "address", kind="address", thresholds=(0.85,), near_column="chome")
    assert isinstance(address.comparison, AddressComparison)
    assert [level.name for level in address.comparison.levels()] == ["不一致", "類似", "丁目一致", "一致"]
    # Labels shown to staff are unchanged by the names.
    assert level_labels(address) == ["不一致", "類似度0.85以上", "表記ゆれ一致", "一致"]
    with pytest.raises(ValueError, match="near_column"):
        ComparisonSpec("address", "address", kind="address", thresholds=(0.85,))
    with pytest.raises(ValueError, match="unknown kind"):
        ComparisonSpec("x", "x", kind="fuzzy")


def test_condition_terms_follow_named_levels():
    rules = parse_link_rules(
        _table(
            ("a", "名", "名 ≥ 読み一致 または 名 = 欠損", "要確認", "名が違う"),
            ("b", "生年月日と性別", "生年月日 = 一致 かつ 性別 ≠ 不一致", "要確認", "生年月日か性別"),
            ("c", "全角", "氏 ＞＝ 異体字一致", "要確認", "氏"),
        )
    )
    given = np.array([-1, 0, 1, 2, 3, 4], dtype=np.int8)
    assert rules.rules[0].holds({"名": given}, 6).tolist() == [True, False, False, True, True, True]
    birth = np.array([3, 3, 3, 2, -1], dtype=np.int8)
    sex = np.array([1, -1, 0, 1, 1], dtype=np.int8)
    assert rules.rules[1].holds({"生年月日": birth, "性別": sex}, 5).tolist() == [
        True,
        True,
        False,
        False,
        False,
    ]
    surname = np.array([-1, 2, 3, 4], dtype=np.int8)
    assert rules.rules[2].holds({"氏": surname}, 4).tolist() == [False, False, True, True]
    reasons = rules.review_reasons(
        {"名": given, "生年月日": np.full(6, 3), "性別": np.ones(6), "氏": np.full(6, 4)}, 6
    )
    assert reasons.tolist() == ["", "名が違う", "名が違う", "", "", ""]


@pytest.mark.parametrize(
    ("row", "column", "fragment"),
    [
        (("x", "年齢", "年齢 = 一致", "要確認", "理由"), "条件", "「年齢」という比較はありません"),
        (
            ("x", "名", "名 = よく似ている", "要確認", "理由"),
            "条件",
            "「名」に「よく似ている」という水準はありません",
        ),
        (("x", "名", "名 読み一致", "要確認", "理由"), "条件", "を読めません"),
        (("x", "名", "名 ≥ 欠損", "要確認", "理由"), "条件", "欠損には = か ≠"),
        (("x", "名", "名 = 一致", "自動", "理由"), "満たさないとき", "「自動」は使えません"),
        (("x", "名", "名 = 一致", "要確認", ""), "理由", "理由を入れてください"),
        (("", "名", "名 = 一致", "要確認", "理由"), "ルールID", "ルールIDが空欄"),
        (("x", "差", "次点との差 = 十分", "候補から除外", ""), "条件", "候補を選んだ後に決まる"),
        (("x", "名", "", "要確認", "理由"), "条件", "条件が空欄"),
    ],
)
def test_a_bad_rule_row_is_refused_naming_sheet_row_and_column(row, column, fragment):
    table = _table(("ok", "名", "名 = 一致", "要確認", "名"), row)
    with pytest.raises(ConfigErrors) as caught:
        link_rules_from_tab(table)
    (error,) = caught.value.errors
    assert (error.sheet, error.row, error.column) == ("名寄せルール", LINK_RULES.excel_row(1), column)
    assert fragment in error.message
    assert error.as_japanese().startswith(
        f"シート「名寄せルール」 {LINK_RULES.excel_row(1)}行目 「{column}」列"
    )


def test_duplicate_rule_ids_and_missing_columns_are_refused():
    with pytest.raises(ConfigErrors, match="重複"):
        link_rules_from_tab(
            _table(("a", "名", "名 = 一致", "要確認", "r"), ("a", "氏", "氏 = 一致", "要確認", "r"))
        )
    with pytest.raises(ConfigErrors, match="「条件」列: 列が見つかりません"):
        link_rules_from_tab(pd.DataFrame({"ルールID": ["a"]}))


def test_an_empty_tab_keeps_the_default_rules():
    assert link_rules_from_tab(_table(("", "", "", "", ""))) == default_link_rules()
    assert link_rules_from_tab(None) == default_link_rules()


def _records(master: pd.DataFrame) -> pd.DataFrame:
    """Copies of residents 50..349; resident 60 with a different given name (reading too)."""
    source = master.iloc[50:350].copy()
    source["resident_id"] = ""
    source.loc[60, "name"] = source.loc[60, "name"].split("　")[0] + "　" + "紗和"
    source.loc[60, "name_kana"] = source.loc[60, "name_kana"].split("　")[0] + "　" + "サワ"
    return source.reset_index(drop=True)


def test_rules_decide_review_and_reasons_instead_of_code():
    master = make_master(1500)
    source = _records(master)
    links, _ = link_source(source, master, MatchOptions())
    changed = 10  # resident 60 is row 10 of the source
    assert links.loc[changed, "outcome"] == "review" and links.loc[changed, "reason"] == "名が一致しない"
    assert (links["outcome"] == "auto").sum() >= 290

    # Without the given-name rule the same pair is automatic: the table decides, not code.
    table = default_table(LINK_RULES.key)
    without_given = link_rules_from_tab(table[table["ルールID"] != "given"])
    links_without, _ = link_source(source, master, MatchOptions(rules=without_given))
    assert links_without.loc[changed, "outcome"] == "auto"
    assert links_without.loc[changed, "resident_id"] == master.loc[60, "resident_id"]

    # A new rule with its own Japanese reason sends pairs to review with that reason.
    stricter = pd.concat(
        [table, _table(("address", "住所", "住所 = 一致", "要確認", "住所が完全には一致しない"))],
        ignore_index=True,
    )
    source.loc[20, "address"] = "みどり市本町9丁目99番99号"
    links_stricter, _ = link_source(source, master, MatchOptions(rules=link_rules_from_tab(stricter)))
    assert links_stricter.loc[20, "outcome"] == "review"
    assert links_stricter.loc[20, "reason"] == "住所が完全には一致しない"
    assert links_stricter.loc[changed, "reason"] == "名が一致しない"  # earlier rows come first


def test_an_exclude_rule_removes_the_candidate():
    master = make_master(1500)
    source = _records(master)
    table = pd.concat(
        [default_table(LINK_RULES.key), _table(("given_exact", "名", "名 = 一致", "候補から除外", ""))],
        ignore_index=True,
    )
    links, _ = link_source(source, master, MatchOptions(rules=link_rules_from_tab(table)))
    assert links.loc[10, "resident_id"] != master.loc[60, "resident_id"]
    assert links.loc[10, "outcome"] in ("none", "review")
    assert (links.drop(index=10)["outcome"] == "auto").sum() >= 290


def test_the_link_action_refuses_a_bad_rules_tab_and_writes_nothing(tmp_path):
    context = _context(tmp_path)
    table = default_table(LINK_RULES.key)
    table.loc[2, "条件"] = "生年月日 = 大体一致"
    context.tables[LINK_RULES.key] = table
    result = run_action("link", context)
    assert not result.ok
    expected = f"シート「名寄せルール」 {LINK_RULES.excel_row(2)}行目 「条件」列"
    assert any(message.startswith(expected) for message in result.messages), result.messages
    assert "「生年月日」に「大体一致」という水準はありません" in " ".join(result.messages)
    assert current_links(context.store).empty


def test_the_link_action_uses_the_rules_tab(tmp_path):
    context = _context(tmp_path)
    table = default_table(LINK_RULES.key)
    context.tables[LINK_RULES.key] = pd.concat(
        [table, _table(("never_auto", "テスト", "性別 = 欠損", "要確認", "テストのため自動にしない"))],
        ignore_index=True,
    )
    result = run_action("link", context)
    assert result.ok, result.messages
    summary = result.to_json()["sources"]
    assert summary["gakureibo"].get("auto", 0) == 0 and summary["gakureibo"]["review"] >= 295
    review = result.tables["link_review"]
    listed = review[review["ソースID"] == "gakureibo"]["項目別一致"]
    assert listed.str.startswith("テストのため自動にしない").sum() >= 295


def test_the_settings_check_lists_a_bad_rules_row(tmp_path):
    tables = default_tables()
    tables[LINK_RULES.key].loc[4, "満たさないとき"] = "保留"
    result = run_action(
        "check_settings", ActionContext(tables=tables, workbook_dir=tmp_path, user_name="tester")
    )
    assert not result.ok
    expected = (
        f"シート「名寄せルール」 {LINK_RULES.excel_row(4)}行目 「満たさないとき」列: 「保留」は使えません"
    )
    assert any(message.startswith(expected) for message in result.messages), result.messages
    clean = run_action(
        "check_settings", ActionContext(tables=default_tables(), workbook_dir=tmp_path, user_name="t")
    )
    assert clean.ok, clean.messages


def test_a_new_comparison_kind_is_one_class_and_rules_can_name_its_levels():
    @register_comparison
    class InitialComparison(Comparison):
        """Equal text, or only the same first character."""

        kind = "test_initial"

        def levels(self) -> tuple[Level, ...]:
            return (Level("不一致", "不一致"), Level("頭文字一致", "最初の字が一致"), Level("一致", "一致"))

        def compare(self, coded, left_index, right_index) -> np.ndarray:
            code_left, code_right, uniques = coded["main"]
            a, b = code_left[left_index], code_right[right_index]
            first = np.array([value[:1] for value in uniques], dtype=object)
            levels = (first[a] == first[b]).astype(np.int8)
            levels[a == b] = 2
            levels[(a < 0) | (b < 0)] = -1
            return levels

    spec = ComparisonSpec("town", "town", kind="test_initial", label="町名")
    left = pd.DataFrame({"town": ["本町", "本郷", "栄町", ""]})
    right = pd.DataFrame({"town": ["本町", "本町", "本町", "本町"]})
    positions = np.arange(4)
    assert compare_pairs(left, right, positions, positions, (spec,)).ravel().tolist() == [2, 1, 0, -1]
    assert level_labels(spec) == ["不一致", "最初の字が一致", "一致"]
    rules = parse_link_rules(
        _table(("town", "町名", "町名 ≥ 頭文字一致", "要確認", "町名が違う")), comparisons=[spec]
    )
    levels = {"町名": np.array([2, 1, 0, -1], dtype=np.int8)}
    assert rules.review_reasons(levels, 4).tolist() == ["", "", "町名が違う", "町名が違う"]
