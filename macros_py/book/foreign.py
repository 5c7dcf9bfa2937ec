"""Content of a workbook that a fresh rendering would drop: sheets and cells we do not own.

File mode renders the workbook afresh, so anything outside its tables and fixed cells
would be lost: a sheet staff added, a note typed beside a table. Such content is found
before the action runs, and the run is refused naming the sheet and cell.

A cell is owned when it lies inside one of the file's tables or when the rendering
itself writes it (titles, descriptions, labels, button descriptions, the
``xlwings.conf`` rows). Only cells holding a value count (formats are not content).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.utils.cell import get_column_letter

from macros_py.book.build import BUTTON_COLUMN, XLWINGS_CONF_KEY, render_workbook
from macros_py.book.cells import cell_text
from macros_py.book.harvest import TableLocation, table_locations
from macros_py.sheets import FRESHNESS, STATUS

logger = logging.getLogger(__name__)

__all__ = ["ForeignContent", "find_foreign_content"]

_SMALL_SHEET_ROWS = 500  # sheets up to this many rows are scanned cell by cell
_MAX_NAMED_CELLS = 10


@dataclass(frozen=True)
class ForeignContent:
    """Sheets and cells (``"シート!A1"``) a fresh rendering would drop."""

    sheets: tuple[str, ...]
    cells: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.sheets or self.cells)

    def as_japanese(self, workbook_name: str) -> str:
        """One message naming what would be lost (at most a few cells)."""
        parts = [f"シート「{name}」(台帳にないシート)" for name in self.sheets]
        parts += [f"セル {cell}" for cell in self.cells[:_MAX_NAMED_CELLS]]
        if len(self.cells) > _MAX_NAMED_CELLS:
            parts.append(f"ほか {len(self.cells) - _MAX_NAMED_CELLS} セル")
        return (
            f"台帳「{workbook_name}」に、表の外に入力された内容があるため実行しませんでした(台帳は変更していません)。"
            f"実行すると次の内容が消えてしまいます: {'、'.join(parts)}。"
            "残したい内容は別のファイルに移し、台帳からは消してから、もう一度実行してください。"
        )


def _cells_with_values(
    sheet, *, min_row: int = 1, max_row: int | None = None, min_col: int = 1
) -> Iterator[tuple[int, int]]:
    for row in sheet.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col):
        for cell in row:
            if getattr(cell, "value", None) is not None and cell_text(cell.value) != "":
                yield cell.row, cell.column


def _regions(sheet, tables: list[TableLocation]) -> Iterator[tuple[int, int]]:
    """Cells holding a value that may lie outside the tables (the dimension bounds the scan)."""
    max_row, max_col = sheet.max_row, sheet.max_column
    if not tables or max_row is None or max_row <= _SMALL_SHEET_ROWS:
        yield from _cells_with_values(sheet)
        return
    # Large sheets (a long review or error table): read only what lies beyond the tables.
    last_row = max(table.max_row for table in tables)
    width = max(table.max_col for table in tables)
    first_header = min(table.min_row for table in tables)
    yield from _cells_with_values(sheet, max_row=first_header - 1)
    if max_col is None or max_col > width:
        yield from _cells_with_values(sheet, min_row=first_header, max_row=last_row, min_col=width + 1)
    if max_row > last_row:
        yield from _cells_with_values(sheet, min_row=last_row + 1)


def _inside(row: int, column: int, tables: list[TableLocation]) -> bool:
    return any(t.min_row <= row <= t.max_row and t.min_col <= column <= t.max_col for t in tables)


def _button_area(name: str, row: int, column: int) -> bool:
    """The buttons' labels and descriptions beside the status table (their number follows the actions)."""
    return (
        name == STATUS.name
        and STATUS.header_row <= row < FRESHNESS.header_row - 3
        and BUTTON_COLUMN + 1 <= column <= BUTTON_COLUMN + 2
    )


def _rendered_fixed_cells(tables: Mapping[str, pd.DataFrame]) -> tuple[set[str], set[tuple[str, int, int]]]:
    """Sheet names and the non-table cells a rendering writes (titles, labels, xlwings.conf)."""
    content = render_workbook({key: tables[key] for key in (XLWINGS_CONF_KEY, STATUS.key) if key in tables})
    locations = table_locations(io.BytesIO(content))  # type: ignore[arg-type]
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    try:
        cells = {
            (name, row, column)
            for name in book.sheetnames
            for row, column in _cells_with_values(book[name])
            if not _inside(row, column, [t for t in locations.values() if t.sheet_name == name])
        }
        return set(book.sheetnames), cells
    finally:
        book.close()


def find_foreign_content(path: Path, tables: Mapping[str, pd.DataFrame]) -> ForeignContent:
    """Sheets and cells of ``path`` that a rendering of its harvested ``tables`` would drop.

    Args:
        path: The workbook (already harvested, so known to be ours and readable).
        tables: Its harvested tables (the status and ``xlwings.conf`` rows decide which
            fixed cells a rendering writes).
    """
    our_sheets, fixed_cells = _rendered_fixed_cells(tables)
    locations = table_locations(path)
    foreign_sheets: list[str] = []
    foreign_cells: list[str] = []
    book = openpyxl.load_workbook(path, read_only=True, keep_links=False)
    try:
        for name in book.sheetnames:
            if name not in our_sheets:
                foreign_sheets.append(name)
                continue
            sheet_tables = [t for t in locations.values() if t.sheet_name == name]
            for row, column in _regions(book[name], sheet_tables):
                if _inside(row, column, sheet_tables) or _button_area(name, row, column):
                    continue
                if (name, row, column) not in fixed_cells:
                    foreign_cells.append(f"{name}!{get_column_letter(column)}{row}")
    finally:
        book.close()
    return ForeignContent(tuple(foreign_sheets), tuple(dict.fromkeys(foreign_cells)))
