"""Content of a workbook that a fresh rendering would drop: sheets and cells we do not own.

File mode renders the workbook afresh, so anything outside its tables and fixed cells
would be lost: a sheet staff added, a note typed beside a table. Such content is found
before the action runs, and the run is refused naming the sheet and cell.

A cell is owned when it lies inside one of the file's tables or when the rendering
itself writes it (titles, descriptions, labels, button descriptions, the
``xlwings.conf`` rows). Cells holding a value count, and Excel notes (comments) on any
cell, since a rendering keeps neither. Formatting (colours) is not checked.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries

from macros_py.book.build import BUTTON_COLUMN, XLWINGS_CONF_KEY, render_workbook
from macros_py.book.harvest import TableLocation, relationships, sheet_parts, table_locations
from macros_py.sheets import FRESHNESS, STATUS

logger = logging.getLogger(__name__)

__all__ = ["ForeignContent", "find_foreign_content"]

_SMALL_SHEET_ROWS = 500  # sheets up to this many rows are read whole
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


def _has_value(cell: ElementTree.Element) -> bool:
    """Whether a ``<c>`` element holds a value, an inline string or a formula."""
    return any(child.tag.rsplit("}", 1)[-1] in ("v", "is", "f") for child in cell)


def _cells_with_values(
    archive: zipfile.ZipFile, part: str, tables: list[TableLocation]
) -> Iterator[tuple[int, int]]:
    """(row, column) of the sheet's cells holding a value, streamed from the sheet XML.

    The ``<dimension>`` element bounds the scan: when a long sheet's used range does not
    reach beyond its tables, only the rows above the first table are read.
    """
    first_header = min((table.min_row for table in tables), default=None)
    rows_above_only = False
    row_number = column_number = 0
    with archive.open(part) as stream:
        for event, element in ElementTree.iterparse(stream, events=("start", "end")):
            tag = element.tag.rsplit("}", 1)[-1]
            if event == "start":
                if tag == "row":
                    row_number = int(element.get("r") or row_number + 1)
                    column_number = 0
                    if rows_above_only and row_number >= (first_header or 0):
                        return
                continue
            if tag == "dimension":
                rows_above_only = _within_tables(element.get("ref", ""), tables)
            elif tag == "c":
                reference = element.get("r")
                if reference:
                    column_number, row_number = (
                        column_index_from_string(_letters(reference)),
                        int(_digits(reference)),
                    )
                else:
                    column_number += 1
                if _has_value(element):
                    yield row_number, column_number
                element.clear()
            elif tag == "row":
                element.clear()


def _letters(reference: str) -> str:
    return reference.rstrip("0123456789")


def _digits(reference: str) -> str:
    return reference[len(_letters(reference)) :]


def _within_tables(dimension: str, tables: list[TableLocation]) -> bool:
    """Whether a long sheet's used range ends inside its tables (so only the top needs reading)."""
    if not tables or not dimension:
        return False
    try:
        _min_col, _min_row, max_col, max_row = range_boundaries(dimension)
    except ValueError:
        return False
    if max_row is None or max_row <= _SMALL_SHEET_ROWS:
        return False
    return max_row <= max(t.max_row for t in tables) and max_col <= max(t.max_col for t in tables)


def _inside(row: int, column: int, tables: list[TableLocation]) -> bool:
    return any(t.min_row <= row <= t.max_row and t.min_col <= column <= t.max_col for t in tables)


def _button_area(name: str, row: int, column: int) -> bool:
    """The buttons' labels and descriptions beside the status table (their number follows the actions)."""
    return (
        name == STATUS.name
        and STATUS.header_row <= row < FRESHNESS.header_row - 3
        and BUTTON_COLUMN + 1 <= column <= BUTTON_COLUMN + 2
    )


def _comment_cells(archive: zipfile.ZipFile, part: str) -> list[str]:
    """Cells carrying an Excel note (comment): a rendering does not keep notes."""
    cells = []
    for _rel_id, rel_type, target in relationships(archive, part):
        if rel_type.endswith("/comments") and target in archive.namelist():
            root = ElementTree.fromstring(archive.read(target))
            cells += [c.get("ref", "") for c in root.iter() if c.tag.rsplit("}", 1)[-1] == "comment"]
    return [cell for cell in cells if cell]


def _rendered_fixed_cells(tables: Mapping[str, pd.DataFrame]) -> tuple[set[str], set[tuple[str, int, int]]]:
    """Sheet names and the non-table cells a rendering writes (titles, labels, xlwings.conf)."""
    content = io.BytesIO(
        render_workbook({key: tables[key] for key in (XLWINGS_CONF_KEY, STATUS.key) if key in tables})
    )
    locations = table_locations(content)  # type: ignore[arg-type]
    with zipfile.ZipFile(content) as archive:
        parts = sheet_parts(archive)
        cells = set()
        for name, part in parts.items():
            sheet_tables = [t for t in locations.values() if t.sheet_name == name]
            for row, column in _cells_with_values(archive, part, []):
                if not _inside(row, column, sheet_tables):
                    cells.add((name, row, column))
    return set(parts), cells


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
    with zipfile.ZipFile(path) as archive:
        for name, part in sheet_parts(archive).items():
            if name not in our_sheets:
                foreign_sheets.append(name)
                continue
            sheet_tables = [t for t in locations.values() if t.sheet_name == name]
            for row, column in _cells_with_values(archive, part, sheet_tables):
                if _inside(row, column, sheet_tables) or _button_area(name, row, column):
                    continue
                if (name, row, column) not in fixed_cells:
                    foreign_cells.append(f"{name}!{get_column_letter(column)}{row}")
            foreign_cells += [f"{name}!{cell}(メモ/コメント)" for cell in _comment_cells(archive, part)]
    return ForeignContent(tuple(foreign_sheets), tuple(dict.fromkeys(foreign_cells)))
