"""The import action through file mode: formula-looking values reach the workbook as text."""

from __future__ import annotations

import openpyxl
import pytest
from fixtures.ingest.make_fixtures import FORMULAS

from macros_py.sheets import IMPORT_ERRORS


def test_import_in_file_mode_writes_formula_looking_values_as_text(village_copy):
    build = pytest.importorskip("macros_py.book.build")
    filemode = pytest.importorskip("macros_py.book.filemode")
    csv_path = village_copy / "exports" / "住民記録" / "住民記録_20251130.csv"
    lines = csv_path.read_bytes().rstrip(b"\r\n").split(b"\r\n")
    width = lines[0].decode("cp932").count(",") + 1
    for number, formula in enumerate(FORMULAS):
        cells = [f"99000{number}", "", "試験　太郎", "", f'"{formula}"', "1", *[""] * (width - 6)]
        lines.append(",".join(cells).encode("cp932"))
    csv_path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    workbook_path = build.build_workbook(village_copy / "mimamori.xlsm")
    result = filemode.run_in_file_mode("import", workbook_path, user_name="tester")
    assert result.ok, result.messages
    jumin = next(entry for entry in result.to_json()["sources"] if entry["source"] == "jumin")
    assert jumin["quarantined"] == len(FORMULAS)
    book = openpyxl.load_workbook(workbook_path)
    sheet = book[IMPORT_ERRORS.name]
    header_row = IMPORT_ERRORS.header_row
    headers = [cell.value for cell in sheet[header_row]]
    value_column = headers.index("値") + 1
    cells = [
        sheet.cell(row=row, column=value_column)
        for row in range(header_row + 1, sheet.max_row + 1)
        if sheet.cell(row=row, column=value_column).value is not None
    ]
    assert [cell.value for cell in cells] == list(FORMULAS)
    assert {cell.data_type for cell in cells} == {"s"}
