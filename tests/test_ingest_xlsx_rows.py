"""The xlsx reader gives the same cell texts and row numbers as openpyxl sees."""

from __future__ import annotations

import datetime as dt

import openpyxl
import xlsxwriter
from fixtures.ingest.helpers import source_row

from macros_py.ingest.mapping import parse_mapping_tables
from macros_py.ingest.readers import _cell_text, read_xlsx_table

TEXTS = ["a & b", "<tag>", '"quoted"', "改行\nあり", "髙﨑", "=cmd|' /C calc'!A0", "  spaced  ", "😀"]


def _source(header_row: int, sheet: str = ""):
    from fixtures.ingest.helpers import mapping_tables

    row = source_row("book", "*.xlsx", 形式="xlsx", 見出し行=str(header_row), シート名=sheet)
    tables = mapping_tables(sources=[row], columns=[["book", "x", "x", "文字", "", ""]])
    return parse_mapping_tables(tables).sources[0]


def _openpyxl_rows(path, first_row: int, width: int) -> list[tuple[int, list[str]]]:
    book = openpyxl.load_workbook(path, data_only=True)
    rows = []
    for number, row in enumerate(book.active.iter_rows(min_row=1, max_col=width, values_only=True), start=1):
        cells = [_cell_text(value) for value in row]
        if number >= first_row and any(cell.strip() for cell in cells):
            rows.append((number, cells))
    book.close()
    return rows


def _read(path, header_row: int) -> tuple[list[str], list[tuple[int, list[str]]]]:
    table = read_xlsx_table(path, _source(header_row), chunk_rows=3)
    rows = []
    for chunk in table.chunks:
        rows += list(zip(chunk.row_numbers.tolist(), chunk.frame.values.tolist(), strict=True))
    return table.headers, rows


def test_openpyxl_written_values_match(tmp_path):
    path = tmp_path / "o.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["title"])
    sheet.append(["名前", "数", "日", "真偽", "小数", "", "遠く"])
    for index, text in enumerate(TEXTS):
        sheet.append([text, index * 1000, dt.date(2015, 4, 1 + index), index % 2 == 0, index / 7])
    sheet.append([None, None, None])
    sheet.append(["after gap", 123456789012.0, dt.datetime(2020, 1, 2, 3, 4, 5), None, -0.5])
    sheet["G20"] = "far away"
    book.save(path)
    headers, rows = _read(path, 2)
    assert headers == ["名前", "数", "日", "真偽", "小数", "", "遠く"]
    assert rows == _openpyxl_rows(path, 3, 7)
    assert rows[0] == (3, ["a & b", "0", "2015-04-01", "1", "0", "", ""])


def test_xlsxwriter_values_formulas_and_a_table_away_from_a1(tmp_path):
    path = tmp_path / "x.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("健診結果")
    date_format = book.add_format({"num_format": "yyyy/mm/dd"})
    sheet.write_string(0, 2, "健診結果一覧")
    sheet.write_row(3, 2, ["宛名番号", "氏名", "受診日", "合計"])
    for row, text in enumerate(TEXTS, start=4):
        sheet.write_string(row, 2, f"{row:010d}")
        sheet.write_string(row, 3, text)
        sheet.write_datetime(row, 4, dt.datetime(2025, 5, row), date_format)
        sheet.write_formula(row, 5, f"=1+{row}", None, row + 1)
    sheet.write_number(20, 5, 3.25)
    book.close()
    headers, rows = _read(path, 4)
    assert headers == ["", "", "宛名番号", "氏名", "受診日", "合計"]
    assert rows == _openpyxl_rows(path, 5, 6)
    assert rows[0] == (5, ["", "", "0000000004", "a & b", "2025-05-04", "5"])
    assert rows[-1] == (21, ["", "", "", "", "", "3.25"])
