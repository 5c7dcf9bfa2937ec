"""Flag and code columns through the import action: unknown values are errors, blank is unknown."""

from __future__ import annotations

import json

import pytest
from fixtures.ingest import make_fixtures as fx
from fixtures.ingest.helpers import context_for, mapping_tables, only_file, run_import, source_row

from macros_py.ingest.query import current_records

HEADER = ["宛名番号", "受診状況", "同意", "保護", "区分"]
ROWS = [
    ["0001", "受診", "はい", "有", "1"],
    ["0002", "未受診", "いいえ", "", "2"],
    ["0003", "", "", "", ""],
    ["0004", "未受信", "はい", "有", "1"],
    ["0005", "受診", "ハイ", "有", "1"],
    ["0006", "受診", "はい", "○", "9"],
    ["0007", "受診", "１", "無", "２"],
]
COLUMNS = [
    ["kenshin", "宛名番号", "宛名番号", "文字", "", "はい"],
    ["kenshin", "受診状況", "未受診", "フラグ", "未受診", ""],
    ["kenshin", "同意", "同意", "フラグ", "はい,1,有|いいえ,0,無", ""],
    ["kenshin", "保護", "保護", "フラグ", "", ""],
    ["kenshin", "区分", "区分", "コード", "kubun", ""],
]
CODES = [["kubun", "1", "A", ""], ["kubun", "2", "B", ""]]


def _write_xlsx(path, rows):
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("一覧")
    for row_index, row in enumerate([HEADER, *rows]):
        for column_index, value in enumerate(row):
            if value != "":
                sheet.write_string(row_index, column_index, value)
    workbook.close()


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_unknown_flag_and_code_values_are_errors_and_blank_flags_stay_unknown(tmp_path, file_format):
    folder = tmp_path / "exports" / "健診"
    if file_format == "csv":
        fx.write_csv(folder, "健診_20251130.csv", ROWS, encoding="cp932", header=HEADER)
    else:
        _write_xlsx(folder / "健診_20251130.xlsx", ROWS)
    sources = [source_row("kenshin", f"健診/健診_*.{file_format}", 形式=file_format)]
    result = run_import(tmp_path, mapping_tables(sources=sources, columns=COLUMNS, codes=CODES))
    entry = only_file(result)
    assert (entry["read"], entry["stored"], entry["quarantined"]) == (7, 4, 3)
    errors = result.tables["import_errors"]
    found = {
        (file, row, column, value, reason.split("(")[0])
        for file, row, column, value, reason in errors[["ファイル", "行", "列", "値", "理由"]].values.tolist()
    }
    name = f"健診/健診_20251130.{file_format}"
    assert found == {
        (name, 5, "受診状況", "未受信", "フラグとして読めません"),
        (name, 6, "同意", "ハイ", "フラグとして読めません"),
        (name, 7, "区分", "9", "コード表「kubun」にないコードです"),
    }
    reason = errors.loc[errors["値"] == "ハイ", "理由"].iloc[0]
    assert "はい,1,有" in reason and "いいえ,0,無" in reason
    records = current_records(context_for(tmp_path).store, "kenshin").sort_values("row_number")
    assert records["row_number"].tolist() == [2, 3, 4, 8]
    assert [json.loads(text) for text in records["values_json"]] == [
        {"未受診": False, "同意": True, "保護": True, "区分": "A"},
        {"未受診": True, "同意": False, "保護": None, "区分": "B"},
        {"未受診": None, "同意": None, "保護": None, "区分": None},
        {"未受診": False, "同意": True, "保護": False, "区分": "B"},
    ]


def test_an_invalid_flag_rule_stops_the_import_naming_sheet_row_and_column(tmp_path):
    folder = tmp_path / "exports" / "健診"
    fx.write_csv(folder, "健診_20251130.csv", ROWS, header=HEADER)
    columns = [*COLUMNS[:2], ["kenshin", "同意", "同意", "フラグ", "はい|いいえ|不明", ""]]
    sources = [source_row("kenshin", "健診/健診_*.csv")]
    result = run_import(tmp_path, mapping_tables(sources=sources, columns=columns, codes=CODES))
    assert result.ok is False
    assert any("項目マッピング" in m and "7行目" in m and "変換規則" in m for m in result.messages)
