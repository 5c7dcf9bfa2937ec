"""Real malformed exports: refused whole with a named reason, or quarantined row by row."""

from __future__ import annotations

import json

import pytest
from fixtures.ingest import make_fixtures as fx
from fixtures.ingest.helpers import JUMIN_COLUMNS, mapping_tables, only_file, run_import, source_row

from macros_py.ingest.query import current_quarantine, current_records, import_history
from macros_py.sheets import FRESHNESS, IMPORT_ERRORS, LOG, QUALITY_REPORT


@pytest.fixture
def folder(tmp_path):
    target = tmp_path / "exports" / "住民記録"
    target.mkdir(parents=True)
    return target


def _store(context_base):
    from fixtures.ingest.helpers import context_for

    return context_for(context_base).store


def test_broken_cp932_bytes_refuse_the_file_naming_file_and_line(tmp_path, folder):
    fx.broken_cp932(folder)
    result = run_import(tmp_path)
    entry = only_file(result)
    assert result.ok is False and entry["refused"] is True
    assert "住民記録_20251130.csv" in entry["reason"] and "4行目" in entry["reason"]
    assert "判定できません" in entry["reason"]
    errors = result.tables["import_errors"]
    assert errors["理由"].str.contains("ファイル全体を取り込みませんでした").all()
    assert current_records(_store(tmp_path)).empty


def test_broken_cp932_declared_cp932_is_refused(tmp_path, folder):
    fx.broken_cp932(folder)
    result = run_import(
        tmp_path, mapping_tables(sources=[source_row("jumin", "住民記録/*.csv", 文字コード="cp932")])
    )
    assert "CP932" in only_file(result)["reason"] and "4行目" in only_file(result)["reason"]


def test_utf8_file_declared_cp932_is_refused_with_a_hint(tmp_path, folder):
    fx.utf8_declared_cp932(folder)
    result = run_import(
        tmp_path, mapping_tables(sources=[source_row("jumin", "住民記録/*.csv", 文字コード="cp932")])
    )
    entry = only_file(result)
    assert entry["refused"] and "UTF-8 で書かれています" in entry["reason"]


@pytest.mark.parametrize("encoding", ["cp932", "utf-8", "utf-8-sig"])
def test_every_encoding_is_detected_and_reads_the_same(tmp_path, folder, encoding):
    fx.write_csv(folder, "住民記録_20251130.csv", fx.GOOD_ROWS, encoding=encoding)
    result = run_import(tmp_path)
    assert only_file(result) | {"reason": ""} == {
        "source": "jumin",
        "file": "住民記録/住民記録_20251130.csv",
        "status": "stored",
        "read": 3,
        "stored": 3,
        "quarantined": 0,
        "unchanged": 0,
        "refused": False,
        "held": False,
        "reason": "",
        "warnings": [],
    }
    records = current_records(_store(tmp_path))
    assert records["name"].tolist() == ["山田　太郎", "山田　花子", "佐藤　次郎"]
    assert records["address"].tolist()[1] == "みどり村1番地 コーポ1"
    assert records["sex"].tolist() == ["男", "女", "男"]
    assert records["row_number"].tolist() == [2, 3, 4]
    assert import_history(_store(tmp_path))["encoding"].tolist() == [encoding]


def test_empty_file_is_refused(tmp_path, folder):
    fx.empty_file(folder)
    entry = only_file(run_import(tmp_path))
    assert entry["refused"] and "空" in entry["reason"]


def test_header_only_file_imports_nothing_without_error(tmp_path, folder):
    fx.header_only(folder)
    entry = only_file(run_import(tmp_path))
    assert (entry["refused"], entry["read"], entry["stored"]) == (False, 0, 0)


def test_missing_required_columns_refuse_the_file_and_name_them(tmp_path, folder):
    fx.missing_required_column(folder)
    entry = only_file(run_import(tmp_path))
    assert entry["refused"]
    assert "「宛名番号」「生年月日」" in entry["reason"] and "住民記録_20251130.csv" in entry["reason"]


def test_file_without_its_header_line_is_refused(tmp_path, folder):
    fx.no_header_line(folder)
    entry = only_file(run_import(tmp_path))
    assert entry["refused"] and "必須の列" in entry["reason"]


def test_duplicated_mapped_header_is_refused_but_unmapped_duplicate_is_fine(tmp_path, folder):
    fx.duplicated_header(folder, "氏名")
    entry = only_file(run_import(tmp_path))
    assert entry["refused"] and "見出し「氏名」が複数の列" in entry["reason"]
    (folder / "住民記録_20251130.csv").unlink()
    fx.duplicated_header(folder, "未使用", name="住民記録_20251201.csv")
    path = folder / "住民記録_20251201.csv"
    path.write_bytes(
        path.read_bytes().replace("備考,未使用".encode("cp932"), "未使用,未使用".encode("cp932"))
    )
    columns = [row for row in JUMIN_COLUMNS if row[1] != "備考"]
    second = only_file(run_import(tmp_path, mapping_tables(columns=columns)))
    assert (second["refused"], second["stored"]) == (False, 3)


def test_a_line_with_too_many_fields_refuses_the_whole_file_atomically(tmp_path, folder):
    fx.too_many_fields(folder, line=2500, total=3000)
    result = run_import(tmp_path)
    entry = only_file(result)
    assert entry["refused"] and "2500行目" in entry["reason"]
    store = _store(tmp_path)
    assert current_records(store).empty
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("select count(*) from records").scalar_one() == 0
    assert import_history(store)["status"].tolist() == ["refused"]


def test_bad_values_are_quarantined_with_file_row_column_value_and_reason(tmp_path, folder):
    fx.bad_values(folder)
    result = run_import(tmp_path)
    entry = only_file(result)
    assert entry["read"] == 12
    assert entry["read"] == entry["stored"] + entry["quarantined"] + entry["unchanged"]
    assert (entry["stored"], entry["quarantined"]) == (7, 5)
    errors = result.tables["import_errors"]
    assert list(errors.columns) == IMPORT_ERRORS.headers
    found = {
        (row, column, reason)
        for row, column, reason in zip(errors["行"], errors["列"], errors["理由"], strict=True)
    }
    assert found == {
        (5, "生年月日", "存在しない日付です"),
        (6, "生年月日", "未来の日付です"),
        (8, "性別", "コード表「sex」にないコードです"),
        (9, "宛名番号", "必須項目が空です"),
        (15, "氏名", "文字数が多すぎます(上限 128 文字)"),
    }
    assert set(errors["ファイル"]) == {"住民記録/住民記録_20251130.csv"}
    values = dict(zip(errors["行"], errors["値"], strict=True))
    assert values[5] == "R5.2.30" and values[15] == fx.LONG_TEXT


def test_formula_looking_text_and_long_cells_stay_text(tmp_path, folder):
    fx.bad_values(folder)
    run_import(tmp_path)
    records = current_records(_store(tmp_path))
    by_row = records.set_index("row_number")
    assert [by_row.loc[row, "name"] for row in (10, 11, 12, 13)] == list(fx.FORMULAS)
    notes = {row: json.loads(text)["備考"] for row, text in by_row["values_json"].items()}
    assert [notes[row] for row in (10, 11, 12, 13)] == list(fx.FORMULAS)
    assert notes[14] == fx.LONG_TEXT
    assert notes[3] == "一行目\r\n二行目"


def test_formula_looking_values_in_quarantine_stay_text_in_the_error_table(tmp_path, folder):
    rows = [["", formula, "R5.4.1", "1", "", "", formula] for formula in fx.FORMULAS]
    fx.write_csv(folder, "住民記録_20251130.csv", rows)
    columns = [*JUMIN_COLUMNS[:1], ["jumin", "氏名", "氏名", "文字", "", ""], *JUMIN_COLUMNS[2:]]
    result = run_import(tmp_path, mapping_tables(columns=columns))
    quarantine = current_quarantine(_store(tmp_path))
    assert len(quarantine) == len(fx.FORMULAS)
    rows_fixed = [["0001", formula, "R5.2.30", "1", "", "", ""] for formula in fx.FORMULAS]
    (folder / "住民記録_20251130.csv").unlink()
    fx.write_csv(folder, "住民記録_20251201.csv", rows_fixed)
    result = run_import(
        tmp_path,
        mapping_tables(
            columns=[
                ["jumin", "宛名番号", "宛名番号", "文字", "", "はい"],
                ["jumin", "氏名", "生年月日", "日付", "", ""],
            ]
        ),
    )
    errors = result.tables["import_errors"]
    # the file has no storable row, so it is held; 取込エラー lists its rows all the same
    errors = errors.loc[(errors["ファイル"] == "住民記録/住民記録_20251201.csv") & errors["行"].notna()]
    assert errors["値"].tolist() == list(fx.FORMULAS)
    assert all(isinstance(value, str) for value in errors["値"])


def test_xlsx_titles_merged_headers_serial_dates_and_missing_sheet(tmp_path):
    folder = tmp_path / "exports" / "健診"
    fx.xlsx_with_titles(folder)
    sources = [source_row("kenshin", "健診/*.xlsx", 形式="xlsx", 見出し行="3", シート名="健診結果")]
    columns = [
        ["kenshin", "宛名番号", "宛名番号", "文字", "", "はい"],
        ["kenshin", "受診日", "受診日", "日付", "", "はい"],
        ["kenshin", "結果", "結果", "文字", "", ""],
        ["kenshin", "住所", "住所", "文字", "", ""],
        ["kenshin", "住所(2)", "住所", "文字", "", ""],
    ]
    result = run_import(tmp_path, mapping_tables(sources=sources, columns=columns))
    entry = only_file(result)
    assert (entry["read"], entry["stored"], entry["quarantined"]) == (4, 3, 1)
    records = current_records(_store(tmp_path))
    assert records["row_number"].tolist() == [4, 5, 8]
    values = [json.loads(text) for text in records["values_json"]]
    assert [value["受診日"] for value in values] == ["2025-04-01", "2023-04-01", "2025-01-05"]
    assert [value["結果"] for value in values] == [fx.FORMULAS[0], fx.FORMULAS[1], "異常なし"]
    assert records["address"].tolist()[:2] == ["みどり村 1番地", "みどり村"] and records["address"].isna()[2]
    assert records["resident_id"].tolist() == ["0001", "0002", "4"]
    errors = result.tables["import_errors"]
    assert errors[["行", "列", "値"]].values.tolist() == [[7, "受診日", "R5.2.30"]]

    missing = [source_row("kenshin", "健診/*.xlsx", 形式="xlsx", 見出し行="3", シート名="結果一覧")]
    (folder / "健診_20251130.xlsx").rename(folder / "健診_20251201.xlsx")
    entry = only_file(run_import(tmp_path, mapping_tables(sources=missing, columns=columns)))
    assert (
        entry["refused"]
        and "シート「結果一覧」がありません" in entry["reason"]
        and "健診結果" in entry["reason"]
    )


def test_not_an_xlsx_file_is_refused(tmp_path):
    folder = tmp_path / "exports" / "健診"
    folder.mkdir(parents=True)
    (folder / "健診_20251130.xlsx").write_bytes(b"not a zip")
    sources = [source_row("kenshin", "健診/*.xlsx", 形式="xlsx")]
    columns = [["kenshin", "宛名番号", "宛名番号", "文字", "", "はい"]]
    entry = only_file(run_import(tmp_path, mapping_tables(sources=sources, columns=columns)))
    assert entry["refused"] and "xlsx" in entry["reason"]


def test_result_tables_have_exactly_the_sheet_columns(tmp_path, folder):
    fx.bad_values(folder)
    result = run_import(tmp_path)
    assert list(result.tables["import_errors"].columns) == IMPORT_ERRORS.headers
    assert list(result.tables["quality_report"].columns) == QUALITY_REPORT.headers
    assert list(result.tables["freshness"].columns) == FRESHNESS.headers
    assert list(result.tables["log"].columns) == LOG.headers


def test_file_name_without_extract_date_is_refused(tmp_path, folder):
    fx.write_csv(folder, "住民記録_最新.csv", fx.GOOD_ROWS)
    entry = only_file(run_import(tmp_path))
    assert entry["refused"] and "抽出日" in entry["reason"]
