"""The condition language of 判定ルール / 教師データ: known answers, errors, properties."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from macros_py.indicators.conditions import Condition, ConditionError, check_condition, parse_condition

REFERENCE = pd.Timestamp("2025-06-01")


def _columns() -> dict[str, pd.Series]:
    return {
        "欠席日数": pd.Series([30, 5, None, 40, 0]),
        "受診日": pd.Series(pd.to_datetime(["2024-06-01", "2024-05-31", None, "2025-01-01", "2023-01-01"])),
        "状態": pd.Series(["保護中", "廃止", None, "停止", ""], dtype="str"),
        "生活保護": pd.Series([True, False, None, True, False], dtype=object),
        "値": pd.Series(["12", "3", "", None, "９"], dtype=object),
        "Q1よく眠れる": pd.Series(["はい", "いいえ", None, "1", "0"], dtype=object),
    }


def _run(text: str, columns: dict | None = None, *, reference_date=REFERENCE) -> list[bool]:
    columns = _columns() if columns is None else columns
    length = len(next(iter(columns.values())))
    result = parse_condition(text).evaluate(columns, reference_date=reference_date, length=length)
    assert result.dtype == bool and result.shape == (length,)
    return result.tolist()


T, F = True, False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # numbers and comparisons; a missing value makes every comparison false
        ("欠席日数 >= 30", [T, F, F, T, F]),
        ("欠席日数 > 30", [F, F, F, T, F]),
        ("欠席日数 < 30", [F, T, F, F, T]),
        ("欠席日数 <= 5", [F, T, F, F, T]),
        ("欠席日数 = 30", [T, F, F, F, F]),
        ("欠席日数 != 30", [F, T, F, T, T]),
        ("欠席日数 <> 30", [F, T, F, T, T]),
        ("欠席日数 >= 0.5", [T, T, F, T, F]),
        ("欠席日数 > -1", [T, T, F, T, T]),
        # full-width digits, operators and spaces as typed in Excel
        ("欠席日数　＞＝　３０", [T, F, F, T, F]),
        ("欠席日数 ≧ 30", [T, F, F, T, F]),
        # text literals, both quote styles; blank text counts as missing
        ('状態 = "保護中"', [T, F, F, F, F]),
        ("状態 = 「保護中」", [T, F, F, F, F]),
        ("状態 != 「保護中」", [F, T, F, T, F]),
        # in-lists and ranges
        ('状態 in ("保護中", "停止")', [T, F, F, T, F]),
        ("状態 in (「保護中」、「停止」)", [T, F, F, T, F]),
        ('状態 not in ("保護中", "停止")', [F, T, F, F, F]),
        ("欠席日数 in (0, 5)", [F, T, F, F, T]),
        ("欠席日数 between 5 and 30", [T, T, F, F, F]),
        ("欠席日数 between 1 かつ 40", [T, T, F, T, F]),
        # blank tests
        ("受診日 が 空欄", [F, F, T, F, F]),
        ("受診日が空欄", [F, F, T, F, F]),
        ("受診日 が 空欄でない", [T, T, F, T, T]),
        ("状態 が 空欄", [F, F, T, F, T]),
        ("値 が 空欄", [F, F, T, T, F]),
        # flags
        ("生活保護 = はい", [T, F, F, T, F]),
        ("生活保護 = いいえ", [F, T, F, F, T]),
        ("生活保護", [T, F, F, T, F]),
        ("Q1よく眠れる = はい", [T, F, F, T, F]),
        ("Q1よく眠れる = いいえ", [F, T, F, F, T]),
        # boolean connectives, both spellings, precedence (and binds tighter than or)
        ("欠席日数 >= 30 and 生活保護 = はい", [T, F, F, T, F]),
        ("欠席日数 >= 30 かつ 生活保護 = いいえ", [F, F, F, F, F]),
        ("欠席日数 = 5 or 受診日 が 空欄", [F, T, T, F, F]),
        ("欠席日数 = 5 または 欠席日数 = 0", [F, T, F, F, T]),
        ("欠席日数 = 5 or 欠席日数 = 0 and 生活保護 = はい", [F, T, F, F, F]),
        ("(欠席日数 = 5 or 欠席日数 = 0) and 生活保護 = いいえ", [F, T, F, F, T]),
        ("not 欠席日数 >= 30", [F, T, T, F, T]),
        ("欠席日数 >= 30 でない", [F, T, T, F, T]),
        ("(状態 = 「保護中」 または 状態 = 「停止」) でない", [F, T, T, F, T]),
        ("生活保護でない", [F, T, T, F, T]),
        # date literals and calendar arithmetic
        ("受診日 >= 2024-06-01", [T, F, F, T, F]),
        ("受診日 >= 2024/6/1", [T, F, F, T, F]),
        ("受診日 < 2024年6月1日", [F, T, F, F, T]),
        ("基準日 - 受診日 <= 1年", [T, F, F, T, F]),
        ("基準日 - 受診日 > 1年", [F, T, F, F, T]),
        ("受診日 + 30日 >= 2024-07-01", [T, F, F, T, F]),
        ("受診日 + 1か月 >= 2024-07-01", [T, F, F, T, F]),
        ("受診日 + 1ヶ月 >= 2024-06-30", [T, T, F, T, F]),
        ("受診日 + 1ヶ月 > 2024-06-30", [T, F, F, T, F]),
        ("受診日 >= 基準日 - 6か月", [F, F, F, T, F]),
        ("基準日 - 受診日 >= 1年6か月", [F, F, F, F, T]),
        ("(基準日 - 受診日) > 365", [F, T, F, F, T]),
        ("基準日 - 受診日 <= 2週", [F, F, F, F, F]),
        ("基準日 >= 2025-06-01", [T, T, T, T, T]),
        # 値 (the aggregated value) stored as text is compared as a number
        ("値 >= 9", [T, F, F, F, T]),
        ("値 < 10", [F, T, F, F, T]),
        # field names in brackets may hold spaces and symbols
        ("[欠席日数] >= 30", [T, F, F, T, F]),
    ],
)
def test_known_answers_for_every_construct(text, expected):
    assert _run(text) == expected


def test_blank_condition_matches_every_row():
    for text in ("", "   ", None, "　"):
        condition = parse_condition(text)
        assert condition.is_always and condition.fields == frozenset()
        assert condition.evaluate({}, reference_date=REFERENCE, length=3).tolist() == [T, T, T]


def test_fields_are_listed_including_value_but_not_reference_date():
    condition = parse_condition("基準日 - 受診日 <= 1年 かつ 値 >= 9 または [EPDS点数] > 8")
    assert condition.fields == frozenset({"受診日", "値", "EPDS点数"})


def test_full_width_field_names_match_columns_by_nfkc():
    columns = {"ＥＰＤＳ点数": pd.Series([9, 8])}
    assert _run("EPDS点数 >= 9", columns) == [T, F]
    assert parse_condition("ＥＰＤＳ点数 >= 9").fields == frozenset({"EPDS点数"})


def test_half_width_kana_in_names_is_composed():
    columns = {"ガイダンス": pd.Series([1, 0])}
    assert _run("ｶﾞｲﾀﾞﾝｽ = 1", columns) == [T, F]


def test_string_literals_keep_spaces_and_symbols_inside():
    columns = {"備考": pd.Series(["A = B", "x"], dtype="str")}
    assert _run('備考 = "A = B"', columns) == [T, F]


def test_missing_values_numpy_arrays_nan_nat_none_and_nullable_dtypes():
    columns = {
        "n": np.array([1.0, np.nan, 3.0]),
        "d": pd.Series([pd.Timestamp("2025-01-01"), pd.NaT, None]),
        "i": pd.Series([1, None, 3], dtype="Int64"),
        "b": pd.Series([True, None, False], dtype="boolean"),
        "t": pd.Series(["a", None, pd.NA], dtype="string"),
    }
    assert _run("n >= 1", columns) == [T, F, T]
    assert _run("n != 2", columns) == [T, F, T]
    assert _run("d < 2026-01-01", columns) == [T, F, F]
    assert _run("d が 空欄", columns) == [F, T, T]
    assert _run("i != 2", columns) == [T, F, T]
    assert _run("b = はい", columns) == [T, F, F]
    assert _run("b = いいえ", columns) == [F, F, T]
    assert _run("t != 「b」", columns) == [T, F, F]
    assert _run("t が 空欄", columns) == [F, T, T]


def test_columns_are_aligned_by_position_not_index():
    columns = {"n": pd.Series([1, 2, 3], index=[10, 5, 7])}
    assert _run("n >= 2", columns) == [F, T, T]


def test_dates_stored_as_text_are_compared_as_dates():
    columns = {"日付": pd.Series(["2025-05-01", "2024-01-01", "不明"], dtype="str")}
    assert _run("基準日 - 日付 <= 3か月", columns) == [T, F, F]
    assert _run("日付 >= 2025-01-01", columns) == [T, F, F]


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("欠席日数 >=", 7, "途中で終わって"),
        ("(欠席日数 > 1", 0, "「)」がありません"),
        ("状態 = 「保護中", 5, "「」」がありません"),
        ('状態 = "保護中', 5, "終わりの"),
        ("欠席日数 30", 5, "「30」はここには書けません(6文字目)"),
        ("欠席日数 >= 30 かつ", 13, "途中で終わって"),
        ("2025-13-01 = 受診日", 0, "日付「2025-13-01」は正しくありません"),
        ("欠席日数 ; 1", 5, "使えない文字「;」"),
        ("欠席日数 between 1 or 3", 15, "「or」はここには書けません"),
        ("欠席日数 in 1", 8, "「1」はここには書けません"),
        ("受診日 が 1", 6, "「1」はここには書けません"),
        ("[欠席日数 >= 1", 0, "「]」で閉じて"),
        (")", 0, "「)」はここには書けません(1文字目)"),
    ],
)
def test_syntax_errors_are_japanese_and_name_the_position(text, position, words):
    with pytest.raises(ConditionError) as caught:
        parse_condition(text)
    assert caught.value.position == position
    assert words in caught.value.message
    assert str(caught.value) == caught.value.message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("受診日 > 3", "日付と数値は比べられません(5文字目)"),
        ("欠席日数 + 受診日 > 1", "単位を付けてください"),
        ("受診日 + 受診日 > 基準日", "日付どうしは足せません"),
        ("欠席日数 > 30日", "期間"),
        ("30日", "期間だけでは条件になりません"),
        ("(欠席日数 > 1) = はい", "条件の結果をさらに比べる"),
        ("生活保護 > はい", "「=」か「!=」"),
        ("-状態 = 1", "付けられません"),
    ],
)
def test_type_errors_are_found_by_check_and_by_evaluation(text, words):
    condition = parse_condition(text)
    types = {"受診日": "日付", "欠席日数": "数値", "生活保護": "フラグ", "状態": "文字"}
    problems = check_condition(condition, types)
    assert any(words in problem for problem in problems), problems
    columns = _columns()
    if "状態" in text:
        return  # text columns are coerced at run time; check_condition is where this is refused
    with pytest.raises(ConditionError) as caught:
        condition.evaluate(columns, reference_date=REFERENCE, length=5)
    assert words in caught.value.message


def test_check_names_unknown_fields_and_lists_the_known_ones():
    problems = check_condition(
        parse_condition("欠席日数 >= 30 かつ 欠席数 > 1"), {"欠席日数": "数値", "値": "数値"}
    )
    assert problems == ["「欠席数」という項目はありません(15文字目)。使える項目: 欠席日数、値"]


def test_check_accepts_well_typed_conditions():
    types = {"受診日": "date", "欠席日数": "int", "生活保護": "flag", "状態": "code", "値": "数値"}
    for text in (
        "基準日 - 受診日 <= 1年",
        "欠席日数 between 1 and 3",
        "生活保護",
        '状態 in ("a", "b")',
        "値 > 0",
        "",
    ):
        assert check_condition(parse_condition(text), types) == [], text


def test_evaluation_names_a_missing_column():
    with pytest.raises(ConditionError) as caught:
        parse_condition("x >= 1 かつ 欠席 = 1").evaluate(
            {"x": pd.Series([1])}, reference_date=REFERENCE, length=1
        )
    assert "「欠席」という項目がありません(11文字目)" in caught.value.message


def test_reference_date_is_required_when_used():
    with pytest.raises(ConditionError, match="基準日が決まっていません"):
        parse_condition("基準日 > 2020-01-01").evaluate({}, reference_date=None, length=1)


def test_conditions_are_immutable_and_hashable():
    condition = parse_condition("欠席日数 >= 30")
    assert condition == parse_condition("欠席日数 >= 30")
    assert hash(condition) == hash(parse_condition("欠席日数 >= 30"))
    with pytest.raises(AttributeError):
        condition.text = "x"  # type: ignore[misc]


# ----------------------------------------------------------------------------- properties

_PIECES = [
    "欠席日数",
    "受診日",
    "状態",
    "生活保護",
    "値",
    "基準日",
    "30",
    "0.5",
    "-",
    "+",
    "=",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "and",
    "or",
    "not",
    "かつ",
    "または",
    "でない",
    "in",
    "not in",
    "between",
    "(",
    ")",
    ",",
    "、",
    '"保護中"',
    "「停止」",
    "2025-04-01",
    "30日",
    "6か月",
    "1年",
    "はい",
    "いいえ",
    "が",
    "空欄",
    "空欄でない",
    "[Q1よく眠れる]",
    "__import__",
    "'os'",
    ".system",
    "eval",
    "exec",
    ";",
    "lambda",
    "os",
    "ＥＰＤＳ",
    "＞＝",
    "　",
    "1年6か月",
    "2週",
    "9999999年",
    "99999999999999999999999日",
    "9999-12-31",
    "0001-01-01",
    "1e309",
    "99999999999999999999",
]


def _parse_or_error(text: str) -> Condition | None:
    try:
        return parse_condition(text)
    except ConditionError as error:
        assert isinstance(error.message, str) and error.message
        assert error.position is None or 0 <= error.position <= len(text)
        return None


def _evaluate_or_error(condition: Condition) -> None:
    try:
        result = condition.evaluate(_columns(), reference_date=REFERENCE, length=5)
    except ConditionError:
        return
    assert result.dtype == bool and result.shape == (5,)


@pytest.fixture(autouse=True)
def _no_code_execution(monkeypatch):
    def refuse(*args, **kwargs):  # pragma: no cover - would mean a condition ran code
        raise AssertionError("a condition executed code")

    monkeypatch.setattr(os, "system", refuse)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=60))
def test_arbitrary_text_gives_a_condition_or_a_condition_error(text):
    condition = _parse_or_error(text)
    if condition is not None:
        _evaluate_or_error(condition)
        check_condition(condition, {"欠席日数": "数値"})


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(_PIECES), max_size=12), st.sampled_from([" ", ""]))
def test_token_soups_give_a_condition_or_a_condition_error(pieces, separator):
    condition = _parse_or_error(separator.join(pieces))
    if condition is not None:
        _evaluate_or_error(condition)
        types = {"欠席日数": "数値", "受診日": "日付", "状態": "文字", "生活保護": "フラグ", "値": "数値"}
        assert all(isinstance(problem, str) for problem in check_condition(condition, types))


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('x')",
        'eval("1")',
        "exec('import os')",
        "(lambda: 1)()",
        'os.system("rm -rf /")',
        "欠席日数 >= 30; __import__('os')",
        "().__class__.__bases__[0]",
        "{{7*7}}",
    ],
)
def test_code_is_never_run_but_refused(text):
    with pytest.raises(ConditionError):
        parse_condition(text)


def test_date_arithmetic_out_of_range_is_a_condition_error():
    with pytest.raises(ConditionError, match="扱える範囲を超えています"):
        _run("受診日 + 9999999年 > 基準日")


def _readme_section() -> str:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = text.index("### 判定ルールの書き方")
    return text[start : text.index("\n### ", start + 1)]


def test_every_example_in_the_readme_section_parses():
    import re

    section = _readme_section()
    table_part, block, _ = section.split("```")
    cells = re.findall(r"`([^`]+)`", table_part)
    examples = [
        cell
        for cell in cells
        if re.search(r"[=<>]|空欄|between|in \(", cell) and len(cell) > 4 and "..." not in cell
    ]
    examples += [line.split("  ")[0].strip() for line in block.strip().splitlines()]
    assert len(examples) > 20
    for example in examples:
        if example in ("A=1かつB=2", "受診日 > 3", "受診日 + 30"):
            continue  # shown as what is refused
        parse_condition(example)
    with pytest.raises(ConditionError):
        parse_condition("A=1かつB=2")


def test_text_comparisons_on_both_sides_blank_literals_and_two_columns():
    columns = {
        "a": pd.Series(["b", "a", None, "ｃ", " a "], dtype="str"),
        "b": pd.Series(["b", "b", "a", None, "a"], dtype=object),
    }
    assert _run('a > "a"', columns) == [T, F, F, T, F]
    assert _run('"a" < a', columns) == [T, F, F, T, F]
    assert _run("「a」 = a", columns) == [F, T, F, F, T]
    assert _run('a = ""', columns) == [F] * 5
    assert _run('a != ""', columns) == [F] * 5
    assert _run("a = b", columns) == [T, F, F, F, T]
    assert _run("a < b", columns) == [F, T, F, F, F]
