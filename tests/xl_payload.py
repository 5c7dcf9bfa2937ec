"""Build an xlwings JSON payload shaped like a built workbook (for the remote engine in tests)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import xlwings as xw
from openpyxl.utils.cell import get_column_letter, range_boundaries

from macros_py.book.cells import cell_text


def _address(min_col: int, min_row: int, max_col: int, max_row: int) -> str:
    return f"${get_column_letter(min_col)}${min_row}:${get_column_letter(max_col)}${max_row}"


def payload_from_workbook(path: Path, name: str = "mimamori.xlsm") -> dict:
    """Every tab's values and tables, as xlwings' Office.js client would send them."""
    book = openpyxl.load_workbook(path)
    sheets = []
    for worksheet in book.worksheets:
        values = [
            [value if isinstance(value, bool | int | float) else cell_text(value) for value in row]
            for row in worksheet.iter_rows(values_only=True)
        ] or [[]]
        tables = []
        for table in worksheet.tables.values():
            min_col, min_row, max_col, max_row = range_boundaries(table.ref)
            tables.append(
                {
                    "name": table.name,
                    "range_address": _address(min_col, min_row, max_col, max_row),
                    "header_row_range_address": _address(min_col, min_row, max_col, min_row),
                    "data_body_range_address": _address(min_col, min_row + 1, max_col, max_row),
                    "total_row_range_address": None,
                    "show_headers": True,
                    "show_totals": False,
                    "table_style": "TableStyleMedium2",
                    "show_autofilter": True,
                }
            )
        sheets.append({"name": worksheet.title, "values": values, "pictures": [], "tables": tables})
    return {
        "client": "Microsoft Office Scripts",
        "version": xw.__version__,
        "book": {"name": name, "active_sheet_index": 0, "selection": "A1"},
        "names": [],
        "sheets": sheets,
    }
