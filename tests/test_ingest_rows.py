"""Rows are whole or quarantined: short rows, cut-off files, unclosed quotes, control
characters and full-width keys, through the import action on real files."""

from __future__ import annotations

import json

import pytest
from fixtures.ingest import make_fixtures as fx
from fixtures.ingest.helpers import (
    JUMIN_COLUMNS,
    JUMIN_SOURCE,
    SEX_CODES,
    context_for,
    mapping_tables,
    only_file,
    run_import,
    source_row,
)

from macros_py.actions import run_action
from macros_py.ingest.query import current_records
from macros_py.link.query import current_links

NAME = "住民記録/住民記録_20251130.csv"
LINES = [
    "宛名番号,氏名,生年月日,性別,住所,方書,備考",
    "0001,山田　太郎,R5.4.1,1,みどり村1番地,,",
    "0002,山田　花子,平成元年1月8日,2,みどり村1番地",
    "0003,佐藤　次郎,H27/10/03,1,みどり村2番地,,メモ",
]


def _write(tmp_path, lines: list[str], *, ending: str = "\r\n", encoding: str = "cp932", raw: bytes = b""):
    folder = tmp_path / "exports" / "住民記録"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "住民記録_20251130.csv"
    path.write_bytes(("\r\n".join(lines) + ending).encode(encoding) + raw)
    return path


def _records(tmp_path):
    return current_records(context_for(tmp_path).store, "jumin").sort_values("row_number")


def _whole_row_errors(result):
    errors = result.tables["import_errors"]
    return errors.loc[errors["列"] == "(行全体)"]


def test_a_row_with_fewer_fields_than_the_header_is_quarantined_naming_file_line_and_counts(tmp_path):
    _write(tmp_path, LINES)
    result = run_import(tmp_path)
    entry = only_file(result)
    assert (entry["read"], entry["stored"], entry["quarantined"]) == (3, 2, 1)
    (error,) = _whole_row_errors(result).to_dict("records")
    assert (error["ファイル"], error["行"]) == (NAME, 3)
    assert "住民記録_20251130.csv" in error["理由"] and "3行目" in error["理由"]
    assert "5個" in error["理由"] and "見出しは7列" in error["理由"]
    assert error["値"] == "0002,山田　花子,平成元年1月8日,2,みどり村1番地"
    assert _records(tmp_path)["resident_id"].tolist() == ["0001", "0003"]


def test_empty_trailing_cells_with_all_their_commas_are_a_whole_row(tmp_path):
    _write(tmp_path, [LINES[0], LINES[1], "0004,,R5.4.1,,,,"])
    entry = only_file(run_import(tmp_path))
    assert (entry["stored"], entry["quarantined"]) == (2, 0)


def test_a_file_cut_off_mid_line_quarantines_its_last_line_and_warns(tmp_path):
    _write(tmp_path, [*LINES[:2], LINES[3], "0004,高橋"], ending="")
    result = run_import(tmp_path)
    entry = only_file(result)
    assert (entry["stored"], entry["quarantined"]) == (2, 1)
    (error,) = _whole_row_errors(result).to_dict("records")
    assert error["行"] == 4 and "2個" in error["理由"] and error["値"] == "0004,高橋"
    assert (
        "改行で終わっていません"
        in json.dumps(result.to_json(), ensure_ascii=False) + result.tables["log"].to_string()
    )


def test_short_rows_in_a_quoted_file_count_fields_by_csv_rules(tmp_path):
    lines = [
        LINES[0],
        '"0001","山田　太郎","R5.4.1","1","みどり村1番地","コーポ\r\n2階",""',
        '"0002","佐藤, 次郎","R5.4.1","1"',
        '"0003","鈴木 ""三郎""","R5.4.1","1","みどり村","",""',
    ]
    _write(tmp_path, lines)
    result = run_import(tmp_path)
    entry = only_file(result)
    assert (entry["stored"], entry["quarantined"]) == (2, 1)
    (error,) = _whole_row_errors(result).to_dict("records")
    assert error["行"] == 4 and "4個" in error["理由"]
    assert _records(tmp_path)["row_number"].tolist() == [2, 5]


def test_a_quote_never_closed_refuses_the_file_naming_the_line_where_it_began(tmp_path):
    _write(tmp_path, [*LINES[:2], LINES[3], '0004,"高橋,R5.4.1,1', "0005,田中,R5.4.1,1,,,"])
    result = run_import(tmp_path)
    entry = only_file(result)
    assert entry["refused"] and "4行目で始まる" in entry["reason"] and "閉じられていません" in entry["reason"]
    assert _records(tmp_path).empty


def test_nul_and_other_control_characters_are_removed_and_reported(tmp_path):
    _write(
        tmp_path, [LINES[0], "0001,山田\x00　太郎,R5.4.1,1,みどり\x07村,,", "0002,\x1b佐藤,R5.4.1,2,,,\x7f"]
    )
    result = run_import(tmp_path)
    entry = only_file(result)
    assert (entry["stored"], entry["quarantined"]) == (2, 0)
    records = _records(tmp_path)
    assert records["name"].tolist() == ["山田　太郎", "佐藤"]
    assert records["address"].tolist()[0] == "みどり村"
    assert [json.loads(text) for text in records["values_json"]][1] == {"備考": None}
    everything = json.dumps(result.to_json(), ensure_ascii=False) + result.tables["log"].to_string()
    assert "制御文字" in everything and "2行目" in everything


KEY_COLUMNS = [
    ["jumin", "宛名番号", "宛名番号", "文字", "", "はい"],
    ["jumin", "世帯番号", "世帯番号", "文字", "", ""],
    ["jumin", "氏名", "氏名", "文字", "", ""],
]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_full_width_digits_and_dashes_in_keys_are_folded_so_exact_joins_work(tmp_path, file_format):
    rows = [
        ["０００１", "Ｈ１２３－４５", "山田"],
        ["0002", "H123‐45", "山田"],
        ["０\x00００３", "h123−45", "佐藤"],
    ]
    folder = tmp_path / "exports" / "住民記録"
    if file_format == "csv":
        fx.write_csv(folder, "住民記録_20251130.csv", rows, header=["宛名番号", "世帯番号", "氏名"])
    else:
        import xlsxwriter

        folder.mkdir(parents=True)
        workbook = xlsxwriter.Workbook(str(folder / "住民記録_20251130.xlsx"))
        sheet = workbook.add_worksheet()
        for index, row in enumerate([["宛名番号", "世帯番号", "氏名"], *rows]):
            sheet.write_row(index, 0, row)
        workbook.close()
    sources = [source_row("jumin", f"住民記録/*.{file_format}", 形式=file_format)]
    entry = only_file(run_import(tmp_path, mapping_tables(sources=sources, columns=KEY_COLUMNS)))
    assert (entry["stored"], entry["quarantined"]) == (3, 0)
    records = _records(tmp_path)
    assert records["resident_id"].tolist() == ["0001", "0002", "0003"]
    assert records["household_id"].tolist() == ["H123-45", "H123-45", "h123-45"]
    assert records["name"].tolist() == ["山田", "山田", "佐藤"]


@pytest.mark.parametrize("quoted", [False, True])
def test_a_short_row_deep_in_a_large_streamed_file_is_quarantined(tmp_path, quoted):
    """Over 4 MiB: mapped chunk by chunk (the streamed path), short row found by line."""
    template = (
        '"{:06d}","山田　太郎{}","R5.4.1","1","みどり村1番地","","備考です"'
        if quoted
        else ("{:06d},山田　太郎{},R5.4.1,1,みどり村1番地,,備考です")
    )
    lines = [LINES[0], *(template.format(number, number) for number in range(90_000))]
    lines[50_001] = "050000,山田"
    path = _write(tmp_path, lines)
    assert path.stat().st_size > 4 * 1024 * 1024
    result = run_import(tmp_path)
    entry = only_file(result)
    assert (entry["read"], entry["stored"], entry["quarantined"]) == (90_000, 89_999, 1)
    (error,) = _whole_row_errors(result).to_dict("records")
    assert error["行"] == 50_002 and "2個" in error["理由"]


def test_cp932_text_that_looks_like_utf8_c1_bytes_is_not_a_control_character(tmp_path):
    assert "ﾂ亜".encode("cp932") == b"\xc2\x88\x9f"  # UTF-8 would read C2 88 as U+0088
    _write(tmp_path, [LINES[0], "0001,ﾂ亜,R5.4.1,1,,,"])
    result = run_import(tmp_path)
    assert _records(tmp_path)["name"].tolist() == ["ﾂ亜"]
    assert (
        "制御文字" not in json.dumps(result.to_json(), ensure_ascii=False) + result.tables["log"].to_string()
    )


def test_file_mode_on_the_village_quarantines_short_and_cut_rows_and_unknown_flags(village_copy):
    """Through the workbook: the 住民記録 file gets a short row, a NUL and a cut-off last
    line; one 乳幼児健診 answer becomes ハイ. Every one lands on 取込エラー, nothing else does."""
    import openpyxl

    from macros_py.book.build import build_workbook
    from macros_py.book.filemode import run_in_file_mode
    from macros_py.sheets import IMPORT_ERRORS

    jumin = village_copy / "exports" / "住民記録" / "住民記録_20251130.csv"
    lines = jumin.read_bytes().rstrip(b"\r\n").split(b"\r\n")
    total = len(lines)
    lines[1] = b"\x00" + lines[1]  # removed, the row is stored
    lines[5] = b",".join(lines[5].split(b",")[:4])  # a short row in the middle
    lines.append(b",".join(lines[9].split(b",")[:2]))  # cut off mid-line, no final line break
    jumin.write_bytes(b"\r\n".join(lines))
    checkup = village_copy / "exports" / "母子保健" / "乳幼児健診_20251130.csv"
    text = checkup.read_bytes().decode("cp932").split("\r\n")
    answer_line = next(number for number, line in enumerate(text) if line.endswith(",いいえ"))
    text[answer_line] = text[answer_line][: -len("いいえ")] + "ハイ"
    checkup.write_bytes("\r\n".join(text).encode("cp932"))

    workbook = build_workbook(village_copy / "mimamori.xlsm")
    result = run_in_file_mode("import", workbook, user_name="tester")
    assert result.ok, result.messages
    sheet = openpyxl.load_workbook(workbook)[IMPORT_ERRORS.name]
    headers = [cell.value for cell in sheet[IMPORT_ERRORS.header_row]]
    rows = [
        dict(zip(headers, values, strict=False))
        for values in sheet.iter_rows(min_row=IMPORT_ERRORS.header_row + 1, values_only=True)
        if any(value is not None for value in values)
    ]
    found = {(row["ファイル"], int(row["行"]), row["列"]) for row in rows}
    assert found == {
        ("住民記録/住民記録_20251130.csv", 6, "(行全体)"),
        ("住民記録/住民記録_20251130.csv", total + 1, "(行全体)"),
        ("母子保健/乳幼児健診_20251130.csv", answer_line + 1, "問_激しく揺さぶった"),
    }
    flag = next(row for row in rows if row["列"] == "問_激しく揺さぶった")
    assert flag["値"] == "ハイ" and "フラグとして読めません" in flag["理由"]


def test_a_full_width_resident_number_in_another_source_joins_the_resident_exactly(tmp_path):
    """Import 住民記録 (0001-0003) and a 健診 file writing ０００２, then run 名寄せ."""
    fx.write_csv(tmp_path / "exports" / "住民記録", "住民記録_20251130.csv", fx.GOOD_ROWS)
    fx.write_csv(
        tmp_path / "exports" / "健診",
        "健診_20251130.csv",
        [["０００２", "山田　花子"], ["０００３－", "佐藤　次郎"]],
        header=["宛名番号", "氏名"],
    )
    mapping = mapping_tables(
        sources=[JUMIN_SOURCE, source_row("kenshin", "健診/健診_*.csv")],
        columns=[
            *JUMIN_COLUMNS,
            ["kenshin", "宛名番号", "宛名番号", "文字", "", "はい"],
            ["kenshin", "氏名", "氏名", "文字", "", ""],
        ],
        codes=SEX_CODES,
    )
    assert run_import(tmp_path, mapping).ok
    context = context_for(tmp_path, mapping)
    assert run_action("link", context).ok
    links = current_links(context.store).set_index("record_id")
    stored = current_records(context.store, "kenshin").set_index("resident_id")["record_id"]
    assert stored.index.tolist() == ["0002", "0003-"]
    assert links.loc[stored["0002"], ["resident_id", "outcome"]].tolist() == ["0002", "exact"]
    assert links.loc[stored["0003-"], "outcome"] != "exact"  # a real difference stays one
