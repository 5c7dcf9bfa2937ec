"""Mapping tabs: defaults parse; every mistake names sheet, Excel row and column."""

from __future__ import annotations

import pytest
from fixtures.ingest.helpers import JUMIN_COLUMNS, SEX_CODES, mapping_tables, source_row

from macros_py.config import ConfigErrors
from macros_py.config.check import validate_all_settings
from macros_py.config.defaults import default_tables
from macros_py.ingest.mapping import parse_mapping_tables, validate_mapping_tables


def _where(errors):
    return {(error.sheet, error.row, error.column) for error in errors}


def test_default_mapping_rows_parse_without_errors():
    tables = default_tables()
    if tables["sources"].empty:
        pytest.skip("mappings/sources.csv is not there yet")
    assert validate_mapping_tables(tables) == []
    config = parse_mapping_tables(tables)
    assert "jumin" in {source.source_id for source in config.sources}
    assert all(config.columns_of(source.source_id) for source in config.sources)


def test_example_tables_parse_into_frozen_objects():
    config = parse_mapping_tables(mapping_tables())
    (source,) = config.sources
    assert (source.source_id, source.header_row, source.key_kind, source.excel_row) == (
        "jumin",
        1,
        "宛名番号",
        5,
    )
    assert [column.target for column in config.columns_of("jumin")][:3] == ["宛名番号", "氏名", "生年月日"]
    assert config.code_tables["sex"].values["1"] == "男"
    with pytest.raises(AttributeError):
        source.header_row = 2  # type: ignore[misc]


def test_source_mistakes_name_sheet_row_and_column():
    sources = [
        source_row("jumin", "住民記録/*.csv"),
        source_row("jumin", "x/*.csv"),
        source_row("住民", "x/*.csv"),
        source_row("school", "", 見出し行="ゼロ", 文字コード="sjis2", 抽出日の取得元="きのう", 有効="たぶん"),
    ]
    errors = validate_mapping_tables(mapping_tables(sources=sources))
    assert {
        ("取込設定", 6, "ソースID"),
        ("取込設定", 7, "ソースID"),
        ("取込設定", 8, "ファイルパターン"),
        ("取込設定", 8, "見出し行"),
        ("取込設定", 8, "文字コード"),
        ("取込設定", 8, "抽出日の取得元"),
        ("取込設定", 8, "有効"),
    } <= _where(errors)
    assert any("6行目" in e.as_japanese() and "5行目と重複" in e.message for e in errors)


def test_column_mistakes_name_sheet_row_and_column():
    columns = [
        *JUMIN_COLUMNS,
        ["nosuch", "A", "氏名", "文字", "", ""],
        ["jumin", "生年", "生年月日", "文字", "", ""],
        ["jumin", "続柄コード", "続柄", "コード", "zokugara", ""],
        ["jumin", "学年", "学年", "数値", "", "たぶん"],
        ["jumin", "別の氏名", "宛名番号", "文字", "", ""],
        ["jumin", "日", "受診日", "日付", "和暦のみ", ""],
    ]
    errors = validate_mapping_tables(mapping_tables(columns=columns))
    assert _where(errors) >= {
        ("項目マッピング", 12, "ソースID"),
        ("項目マッピング", 13, "型"),
        ("項目マッピング", 14, "変換規則"),
        ("項目マッピング", 15, "必須"),
        ("項目マッピング", 16, "項目"),
        ("項目マッピング", 17, "変換規則"),
    }
    joined = "\n".join(error.as_japanese() for error in errors)
    assert "コード表「zokugara」がコード表タブにありません" in joined
    assert "住所・氏名・氏名カナだけ" in joined


def test_code_table_mistakes_are_found():
    codes = [*SEX_CODES, ["sex", "１", "女", ""], ["sex", "3", "不明", ""], ["", "x", "y", ""]]
    errors = validate_mapping_tables(mapping_tables(codes=codes))
    assert ("コード表", 7, "コード") in _where(errors)  # "１" is "1" after width folding
    assert ("コード表", 9, "コード表ID") in _where(errors)
    assert any("男・女" in error.message for error in errors)


def test_parse_raises_every_error_and_check_settings_reports_them():
    tables = {
        **default_tables(),
        **mapping_tables(columns=[["jumin", "宛名番号", "宛名番号", "日付", "", "はい"]]),
    }
    with pytest.raises(ConfigErrors) as raised:
        parse_mapping_tables(tables)
    assert raised.value.errors[0].sheet == "項目マッピング"
    assert any(error.sheet == "項目マッピング" for error in validate_all_settings(tables))


def test_flag_rules_declare_true_and_false_values_and_mistakes_name_the_cell():
    columns = [
        *JUMIN_COLUMNS,
        ["jumin", "同意", "同意", "フラグ", "はい,1,有|いいえ,0,無", ""],
        ["jumin", "受診状況", "未受診", "フラグ", "未受診", ""],
        ["jumin", "保護", "保護", "フラグ", "", ""],
        ["jumin", "A", "A", "フラグ", "はい|いいえ|不明", ""],
        ["jumin", "B", "B", "フラグ", "|いいえ", ""],
        ["jumin", "C", "C", "フラグ", "はい|", ""],
        ["jumin", "D", "D", "フラグ", "はい,ハイ|いいえ,ﾊｲ", ""],
    ]
    errors = validate_mapping_tables(mapping_tables(columns=columns))
    assert _where(errors) == {("項目マッピング", row, "変換規則") for row in (15, 16, 17, 18)}
    joined = "\n".join(error.as_japanese() for error in errors)
    assert "「|」は1つだけ" in joined and "はいとみなす値を" in joined and "いいえとみなす値を" in joined
    assert "「ハイ」がはいとみなす値といいえとみなす値の両方にあります" in joined
    config = parse_mapping_tables(mapping_tables(columns=columns[:10]))
    consent, visit, custody = config.columns[-3:]
    assert (consent.true_values, consent.false_values) == (("はい", "1", "有"), ("いいえ", "0", "無"))
    assert (
        visit.true_values == ("未受診",) and "受診" in visit.false_values and "いいえ" in visit.false_values
    )
    assert "はい" in custody.true_values and "いいえ" in custody.false_values


def test_default_flag_rules_cover_every_value_the_synthetic_exports_write():
    """The generator writes 有/無, ○/blank, はい/いいえ/blank and 受診/未受診 (read from its source)."""
    config = parse_mapping_tables(default_tables())
    flags = {(m.source_id, m.source_column): m for m in config.columns if m.value_type == "フラグ"}
    written = {
        ("consultation", "一時保護"): {"有", "無"},
        ("mental_check", "要観察"): {"○"},
        ("checkup", "受診状況"): {"受診", "未受診"},
        **{
            ("checkup", column): {"はい", "いいえ"}
            for column in (
                "問_感情的に叩いた",
                "問_家に残して外出",
                "問_長時間食事を与えない",
                "問_口をふさいだ",
                "問_激しく揺さぶった",
            )
        },
    }
    assert set(flags) == set(written)
    for key, values in written.items():
        mapping = flags[key]
        assert values <= {*mapping.true_values, *mapping.false_values}, key
