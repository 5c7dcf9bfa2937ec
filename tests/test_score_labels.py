"""教師データ: tab parsing errors name row and column; support status on a tiny town.

The tiny town is real files (cp932 住民記録 CSV, UTF-8 相談記録 CSV, 要対協 and SSW xlsx)
imported and linked through file mode, so support status is read from real linked
records (SSW records carry no 宛名番号 and are linked by name and birth date).
"""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from openpyxl import Workbook

from macros_py.book.build import build_workbook
from macros_py.book.filemode import run_in_file_mode
from macros_py.config.defaults import default_table, default_tables
from macros_py.config.errors import ConfigErrors
from macros_py.ingest.mapping import parse_mapping_tables
from macros_py.score.labels import label_source_ids, parse_label_sources, support_status
from macros_py.sheets import LABEL_SOURCES
from macros_py.store import open_store

REFERENCE_DATE = "2025-11-30"
RESIDENTS = [
    # 宛名番号, 世帯番号, 氏名, カナ, 生年月日, 性別, 続柄
    ("1001", "501", "佐藤　花子", "サトウ　ハナコ", "20150401", "2", "子"),
    ("2001", "501", "佐藤　恵子", "サトウ　ケイコ", "19850302", "2", "世帯主"),
    ("1002", "502", "鈴木　一郎", "スズキ　イチロウ", "20130510", "1", "子"),
    ("1003", "503", "高橋　次郎", "タカハシ　ジロウ", "20120611", "1", "子"),
    ("1004", "504", "田中　美咲", "タナカ　ミサキ", "20140712", "2", "子"),
    ("1005", "505", "伊藤　健太", "イトウ　ケンタ", "20110813", "1", "子"),
    ("1006", "506", "渡辺　陽菜", "ワタナベ　ヒナ", "20160914", "2", "子"),
]


def _write_exports(folder) -> None:
    header = "宛名番号,世帯番号,氏名,氏名カナ,生年月日,性別,続柄,郵便番号,住所,方書,住民状態,異動事由,異動年月日,国籍"
    lines = [header] + [
        ",".join([*row, "900-0001", f"さくら町本町1-{number}", "", "1", "", "", ""])
        for number, row in enumerate(RESIDENTS, start=1)
    ]
    (folder / "住民記録").mkdir(parents=True)
    (folder / "住民記録" / "住民記録_20251130.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))
    consultation = [
        "相談番号,宛名番号,氏名,フリガナ,生年月日,性別,本児との関係,住所,相談種別,受付日,対応状況,一時保護",
        "R1,1001,佐藤　花子,サトウ　ハナコ,2015-04-01,女,本児,さくら町本町1-1,1,2025-05-10,対応中,無",
        "R1,2001,佐藤　恵子,サトウ　ケイコ,1985-03-02,女,実母,さくら町本町1-2,1,2025-05-10,対応中,無",
        "R2,1002,鈴木　一郎,スズキ　イチロウ,2013-05-10,男,本児,さくら町本町1-3,2,2025-06-01,対応中,無",
        "R3,1003,高橋　次郎,タカハシ　ジロウ,2012-06-11,男,本児,さくら町本町1-4,2,2024-06-01,終結,無",
    ]
    (folder / "児童相談").mkdir()
    (folder / "児童相談" / "相談記録_20251128.csv").write_text(
        "\r\n".join(consultation) + "\r\n", encoding="utf-8-sig"
    )
    ledger = Workbook()
    sheet = ledger.active
    sheet.title = "進行管理台帳"
    sheet.append(
        ["台帳番号", "宛名番号", "児童氏名", "生年月日", "登録区分", "登録日", "主な虐待種別", "進行管理状況"]
    )
    sheet.append(["Y0001", "1001", "佐藤　花子", "2015-04-01", "要支援児童", "2025-05-20", "", "継続"])
    ledger.save(folder / "児童相談" / "要対協台帳_20251130.xlsx")
    ssw = Workbook()
    sheet = ssw.active
    sheet.title = "支援記録"
    sheet.append(["記録番号", "学校名", "学年", "氏名", "ふりがな", "生年月日", "主訴", "支援開始日", "状況"])
    sheet.append(
        [
            "S1",
            "さくら町立北小学校",
            5,
            "田中　美咲",
            "たなか　みさき",
            "2014-07-12",
            "不登校",
            "2025-04-10",
            "継続",
        ]
    )
    sheet.append(
        [
            "S2",
            "さくら町立北中学校",
            2,
            "伊藤　健太",
            "いとう　けんた",
            "2011-08-13",
            "家庭環境",
            "2024-04-10",
            "終結",
        ]
    )
    (folder / "教育委員会").mkdir()
    ssw.save(folder / "教育委員会" / "SSW支援記録_20251120.xlsx")


@pytest.fixture(scope="module")
def tiny_town(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_town")
    _write_exports(folder / "exports")
    tables = default_tables()
    settings = tables["settings"]
    settings.loc[settings["項目"] == "基準日", "値"] = REFERENCE_DATE
    workbook = build_workbook(folder / "mimamori.xlsm", tables)
    imported = run_in_file_mode("import", workbook, user_name="tester")
    assert imported.ok, imported.messages
    linked = run_in_file_mode("link", workbook, user_name="tester")
    assert linked.ok, linked.messages
    return folder, tables


def test_default_tab_gives_yotaikyo_consultation_and_ssw(tiny_town):
    _, tables = tiny_town
    mapping = parse_mapping_tables(tables)
    sources = parse_label_sources(default_table("label_sources"), mapping=mapping)
    assert label_source_ids(sources) == ("yotaikyo", "consultation", "ssw")
    assert [source.status for source in sources] == ["要対協", "支援中", "支援中", "支援歴あり", "支援歴あり"]
    assert [source.enabled for source in sources] == [True, True, True, False, False]
    assert sources[0].excel_row == LABEL_SOURCES.excel_row(0)


def test_support_status_on_a_tiny_town(tiny_town):
    folder, tables = tiny_town
    mapping = parse_mapping_tables(tables)
    sources = parse_label_sources(default_table("label_sources"), mapping=mapping)
    children = pd.DataFrame(
        index=pd.Index(["1001", "1002", "1003", "1004", "1005", "1006"], name="resident_id")
    )
    store = open_store(folder / "mimamori.db")
    try:
        status = support_status(
            store, label_sources=sources, children=children, mapping=mapping, reference_date=REFERENCE_DATE
        )
    finally:
        store.engine.dispose()
    assert status.to_dict() == {
        "1001": "要対協",  # on the ledger and in an open consultation: 要対協 wins
        "1002": "支援中",  # open consultation
        "1003": "",  # consultation closed
        "1004": "支援中",  # SSW support continuing (linked by name and birth date)
        "1005": "",  # SSW support ended
        "1006": "",
    }
    # The mother's open consultation record links to her, not to a child.
    assert "2001" not in status.index


def test_closed_cases_give_past_support_when_those_rows_are_switched_on(tiny_town):
    folder, tables = tiny_town
    mapping = parse_mapping_tables(tables)
    table = default_table("label_sources").assign(有効="はい")
    sources = parse_label_sources(table, mapping=mapping)
    store = open_store(folder / "mimamori.db")
    try:
        status = support_status(
            store,
            label_sources=sources,
            children=pd.DataFrame(index=pd.Index(["1001", "1002", "1003", "1004", "1005", "1006"])),
            mapping=mapping,
            reference_date=REFERENCE_DATE,
        )
    finally:
        store.engine.dispose()
    # 要対協 over 支援中 over 支援歴あり; closed cases are known to services too.
    assert status.tolist() == ["要対協", "支援中", "支援歴あり", "支援中", "支援歴あり", ""]


def test_a_disabled_row_gives_no_status(tiny_town):
    folder, tables = tiny_town
    mapping = parse_mapping_tables(tables)
    table = default_table("label_sources")
    table.loc[table["ソースID"] == "yotaikyo", "有効"] = "いいえ"
    sources = parse_label_sources(table, mapping=mapping)
    assert label_source_ids(sources) == ("consultation", "ssw")
    assert [source.enabled for source in sources] == [False, True, True, False, False]
    store = open_store(folder / "mimamori.db")
    try:
        status = support_status(
            store,
            label_sources=sources,
            children=pd.DataFrame(index=pd.Index(["1001"])),
            mapping=mapping,
            reference_date=REFERENCE_DATE,
        )
    finally:
        store.engine.dispose()
    assert status.tolist() == ["支援中"]


def _store_copy(folder, tmp_path):
    """A folder holding a copy of the tiny town's store (SQLite backup: WAL content included)."""
    copy = tmp_path / "town"
    copy.mkdir()
    source = sqlite3.connect(folder / "mimamori.db")
    target = sqlite3.connect(copy / "mimamori.db")
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return copy


def _table(rows: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=LABEL_SOURCES.headers)


def test_tab_errors_name_sheet_row_and_column():
    mapping = parse_mapping_tables(default_tables())
    table = _table(
        [
            ["yotaikyo", "", "要対協", "はい", ""],
            ["nosuch", "", "支援中", "はい", ""],
            ["", "", "", "", ""],  # blank row: skipped
            ["consultation", "相談対応状況 = = 「対応中」", "支援中", "はい", ""],
            ["ssw", "", "その他", "はい", ""],
            ["ssw", "", "支援中", "たぶん", ""],
            ["ssw", "存在しない項目 = 1", "支援中", "はい", ""],
            ["", "", "支援中", "はい", ""],
        ]
    )
    with pytest.raises(ConfigErrors) as caught:
        parse_label_sources(table, mapping=mapping)
    found = {(error.row, error.column) for error in caught.value.errors}
    assert found == {
        (6, "ソースID"),
        (8, "記録条件"),
        (9, "支援状況"),
        (10, "有効"),
        (11, "記録条件"),
        (12, "ソースID"),
    }
    assert all(error.sheet == "教師データ" for error in caught.value.errors)
    text = str(caught.value)
    assert "シート「教師データ」 6行目 「ソースID」列" in text and "nosuch" in text
    assert "存在しない項目" in text


def test_missing_column_is_named():
    table = _table([["yotaikyo", "", "要対協", "はい", ""]]).drop(columns=["支援状況"])
    with pytest.raises(ConfigErrors) as caught:
        parse_label_sources(table)
    assert [(error.row, error.column) for error in caught.value.errors] == [(None, "支援状況")]


def test_blank_tab_gives_no_sources():
    assert parse_label_sources(_table([])) == ()
    assert parse_label_sources(None) == ()


def test_a_wrong_label_row_stops_the_score_action_with_sheet_row_and_column(tiny_town, tmp_path):
    """Through the real entry point: file mode refuses the run and names the cell in Japanese."""
    folder, tables = tiny_town
    tables = {key: table.copy() for key, table in tables.items()}
    labels = default_table("label_sources")
    labels.loc[1, "記録条件"] = "相談対応状況 = = 「対応中」"
    labels.loc[2, "ソースID"] = "nosuch"
    tables["label_sources"] = labels
    copy = _store_copy(folder, tmp_path)
    workbook = build_workbook(copy / "mimamori.xlsm", tables)
    result = run_in_file_mode("score", workbook, user_name="tester")
    assert not result.ok
    text = "\n".join(result.messages)
    assert "シート「教師データ」 6行目 「記録条件」列" in text
    assert "シート「教師データ」 7行目 「ソースID」列" in text and "nosuch" in text
    assert "Traceback" not in text and "Error" not in text


def test_the_score_action_reads_the_labels_of_the_tiny_town(tiny_town, tmp_path):
    """Through the real entry point: with three labelled children the model cannot be
    fitted, the run still goes on (rules only) and says why in Japanese."""
    folder, tables = tiny_town
    copy = _store_copy(folder, tmp_path)
    workbook = build_workbook(copy / "mimamori.xlsm", tables)
    result = run_in_file_mode("score", workbook, user_name="tester")
    assert result.ok, result.messages
    evaluation = result.summary["evaluation"]
    assert evaluation["available"] is False
    assert "教師データが少なすぎる" in evaluation["reason"]
    assert "支援状況のある児童 3人、ない児童 3人" in evaluation["reason"]
