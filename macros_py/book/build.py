"""Render the governed workbook (.xlsm) from state: settings tables, outputs, status, VBA.

Everything about the layout comes from :mod:`macros_py.sheets`; every button and VBA Sub
comes from the action registry. The same inputs give the same bytes.

How tables grow: each settings table is rendered with its rows plus ``SPARE_ROWS`` empty,
unlocked rows inside the table, so administrators add rows by typing into them (a
protected sheet cannot grow a table by itself). Every build and every file-mode run
renders the table afresh with new spare rows. Harvest drops trailing empty rows.
"""

from __future__ import annotations

import io
import logging
import math
import os
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from macros_py.actions import ACTIONS, ActionSpec, validate_registry
from macros_py.book.cells import cell_text, source_names, table_records, with_source_names
from macros_py.book.status import status_table
from macros_py.book.vba import build_vba_project
from macros_py.book.vba_sources import STUB_RECORD_CELL, vba_modules
from macros_py.config.defaults import default_tables
from macros_py.sheets import FRESHNESS, SHEETS, SOURCES, STATUS, XLWINGS_CONF_SHEET_NAME, SheetSpec

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_XLWINGS_CONF",
    "MARKER_PROPERTY",
    "MARKER_VALUE",
    "SPARE_ROWS",
    "XLWINGS_CONF_KEY",
    "BuildOptions",
    "build_workbook",
    "render_workbook",
    "sheet_order",
]

SPARE_ROWS = 30
MARKER_PROPERTY = "mimamori"
MARKER_VALUE = "governed-workbook-1"
XLWINGS_CONF_KEY = "xlwings_conf"  # pseudo sheet key of the xlwings.conf tab (columns キー, 値)
FIXED_CREATED = datetime(2025, 4, 1, 0, 0, 0)
BUTTON_COLUMN = 6  # G: buttons sit beside their action's status row
BUTTON_HEIGHT = 20  # pixels: one default row
# Button width in pixels: padding plus a full-width character's width (11 pt font) per character.
BUTTON_PADDING_PIXELS = 32
FULL_WIDTH_CHARACTER_PIXELS = 16
MINIMUM_BUTTON_PIXELS = 96
PAPER_A4 = 9  # xlsxwriter set_paper code
DEFAULT_XLWINGS_CONF: tuple[tuple[str, object], ...] = (
    ("INTERPRETER_WIN", r"%LOCALAPPDATA%\mimamori\python\pythonw.exe"),
    ("PYTHONPATH", ""),
    ("ADD_WORKBOOK_TO_PYTHONPATH", False),
    ("SHOW CONSOLE", False),
    ("USE UDF SERVER", False),
)
_XLWINGS_CONF_NOTES = {
    "INTERPRETER_WIN": "Python(pythonw.exe)の場所。%LOCALAPPDATA% などの環境変数が使えます。",
    "PYTHONPATH": "追加で読み込むフォルダ(; 区切り)。通常は空欄です。",
    "ADD_WORKBOOK_TO_PYTHONPATH": "台帳のフォルダを読み込み先に加えるか。エンジンはインストール済みのため False です。",
    "SHOW CONSOLE": "実行中に黒い画面を表示するか(調査のときだけ True)。",
    "USE UDF SERVER": "False のままにしてください。",
}


@dataclass(frozen=True)
class BuildOptions:
    """How to build: the fixed creation time and, for tests, a stub ``RunPython``."""

    created: datetime = FIXED_CREATED
    runpython_stub: bool = False  # test build: RunPython records its argument in xlwings.conf!D1
    actions: tuple[ActionSpec, ...] = ACTIONS


def sheet_order() -> list[tuple[str, list[SheetSpec]]]:
    """Tabs in workbook order, each with the tables it holds (the 操作 tab holds two)."""
    order: list[tuple[str, list[SheetSpec]]] = []
    for sheet in SHEETS:
        if order and order[-1][0] == sheet.name:
            order[-1][1].append(sheet)
        elif any(name == sheet.name for name, _ in order):
            raise ValueError(f"tables of tab {sheet.name} must be adjacent in SHEETS")
        else:
            order.append((sheet.name, [sheet]))
    return order


class _Formats:
    def __init__(self, workbook: Workbook):
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.note = workbook.add_format({"font_color": "#595959"})
        self.label = workbook.add_format({"bold": True})
        self.locked_text = workbook.add_format({"num_format": "@"})
        self.locked_number = workbook.add_format({})
        self.open_text = workbook.add_format({"locked": False, "num_format": "@", "bg_color": "#FFFDE7"})
        self.open_number = workbook.add_format({"locked": False, "bg_color": "#FFFDE7"})


def caption_width(caption: str) -> float:
    """Width of ``caption`` in full-width characters (half-width ones count one half).

    >>> caption_width("取込"), caption_width("設定チェック"), caption_width("CSV取込")
    (2.0, 6.0, 3.5)
    """
    return sum(1.0 if unicodedata.east_asian_width(char) in ("F", "W", "A") else 0.5 for char in caption)


def button_pixels(caption: str) -> int:
    """Width in pixels of a button that shows ``caption`` on one line."""
    width = BUTTON_PADDING_PIXELS + math.ceil(caption_width(caption) * FULL_WIDTH_CHARACTER_PIXELS)
    return max(MINIMUM_BUTTON_PIXELS, width)


def _print_setup(worksheet: Worksheet, header_row: int) -> None:
    """A4 landscape, all columns on one page width, the table header on every page."""
    worksheet.set_paper(PAPER_A4)
    worksheet.set_landscape()
    worksheet.fit_to_pages(1, 0)
    worksheet.repeat_rows(header_row)
    worksheet.set_header("&L&A&R&D")  # tab name, print date
    worksheet.set_footer("&C&P / &N")  # page of pages


def _write_table(
    worksheet: Worksheet,
    sheet: SheetSpec,
    frame: pd.DataFrame | None,
    formats: _Formats,
    names: Mapping[str, str],
) -> None:
    records = table_records(with_source_names(frame, sheet.columns, dict(names)), sheet.columns)
    spare = SPARE_ROWS if sheet.role == "settings" else 0
    body_rows = max(len(records) + spare, 1)
    first = sheet.header_row - 1  # 0-based header row
    last = first + body_rows
    worksheet.add_table(
        first,
        0,
        last,
        len(sheet.columns) - 1,
        {
            "name": sheet.table_name,
            "style": "Table Style Medium 2",
            "columns": [{"header": column.header} for column in sheet.columns],
        },
    )
    for column_index, column in enumerate(sheet.columns):
        numeric = column.kind in ("int", "float")
        if column.editable:
            fmt = formats.open_number if numeric else formats.open_text
        else:
            fmt = formats.locked_number if numeric else formats.locked_text
        for offset in range(body_rows):
            value = records[offset][column_index] if offset < len(records) else ""
            row = first + 1 + offset
            if isinstance(value, int | float):
                worksheet.write_number(row, column_index, value, fmt)
            elif value == "":
                worksheet.write_blank(row, column_index, None, fmt)
            else:
                worksheet.write_string(row, column_index, value, fmt)
        if column.choices and column.editable:
            worksheet.data_validation(
                first + 1,
                column_index,
                last,
                column_index,
                {
                    "validate": "list",
                    "source": list(column.choices),
                    "error_title": column.header,
                    "error_message": "一覧から選んでください。",
                },
            )


def _column_widths(worksheet: Worksheet, sheets: list[SheetSpec]) -> None:
    widths: dict[int, float] = {}
    hidden: dict[int, bool] = {}
    for sheet in sheets:
        for index, column in enumerate(sheet.columns):
            widths[index] = max(widths.get(index, 0.0), column.width)
            # Hidden only when no table of the tab shows that column.
            hidden[index] = hidden.get(index, True) and column.hidden
    for index, width in widths.items():
        worksheet.set_column(index, index, width, None, {"hidden": True} if hidden[index] else None)


def _write_control_tab(
    worksheet: Worksheet, tables: Mapping[str, pd.DataFrame], options: BuildOptions, formats: _Formats
) -> None:
    actions = options.actions
    if STATUS.header_row + len(actions) >= FRESHNESS.header_row - 2:
        raise ValueError("too many actions for the status area: move FRESHNESS.header_row down in sheets.py")
    names = source_names(tables.get(SOURCES.key))
    worksheet.write_string(0, 0, "みまもり台帳", formats.title)
    worksheet.write_string(1, 0, STATUS.description, formats.note)
    _write_table(worksheet, STATUS, status_table(tables.get(STATUS.key), actions), formats, names)
    worksheet.write_string(STATUS.header_row - 1, BUTTON_COLUMN, "ボタン", formats.label)
    worksheet.write_string(STATUS.header_row - 1, BUTTON_COLUMN + 1, "説明", formats.label)
    button_width = max((button_pixels(action.label) for action in actions), default=MINIMUM_BUTTON_PIXELS)
    # One character of the default font is 7 pixels wide; leave a little room around the button.
    worksheet.set_column(BUTTON_COLUMN, BUTTON_COLUMN, math.ceil((button_width + 10) / 7))
    worksheet.set_column(BUTTON_COLUMN + 1, BUTTON_COLUMN + 1, 70)
    for index, action in enumerate(actions):
        row = STATUS.header_row + index  # 0-based row of the action's status row
        worksheet.insert_button(
            row,
            BUTTON_COLUMN,
            {
                "macro": action.vba_sub_name,
                "caption": action.label,
                "width": button_pixels(action.label),
                "height": BUTTON_HEIGHT,
                "x_offset": 2,
            },
        )
        worksheet.write_string(row, BUTTON_COLUMN + 1, action.description, formats.locked_text)
    worksheet.write_string(FRESHNESS.header_row - 3, 0, "データの鮮度", formats.label)
    worksheet.write_string(FRESHNESS.header_row - 2, 0, FRESHNESS.description, formats.note)
    _write_table(worksheet, FRESHNESS, tables.get(FRESHNESS.key), formats, names)


def _xlwings_conf_rows(tables: Mapping[str, pd.DataFrame]) -> list[tuple[str, object]]:
    frame = tables.get(XLWINGS_CONF_KEY)
    if frame is None or frame.empty:
        return list(DEFAULT_XLWINGS_CONF)
    rows: list[tuple[str, object]] = []
    for key, value in zip(frame["キー"], frame["値"], strict=True):
        key_text, value_text = cell_text(key), cell_text(value)
        if not key_text:
            continue
        boolean = {"true": True, "false": False}.get(value_text.lower())
        rows.append((key_text, value_text if boolean is None else boolean))
    return rows


def _write_xlwings_conf(worksheet: Worksheet, tables: Mapping[str, pd.DataFrame], formats: _Formats) -> None:
    for row, (key, value) in enumerate(_xlwings_conf_rows(tables)):
        worksheet.write_string(row, 0, key, formats.locked_text)
        if isinstance(value, bool):
            worksheet.write_boolean(row, 1, value)
        elif value == "":
            worksheet.write_blank(row, 1, None, formats.locked_text)
        else:
            worksheet.write_string(row, 1, str(value), formats.locked_text)
        if key in _XLWINGS_CONF_NOTES:
            worksheet.write_string(row, 2, _XLWINGS_CONF_NOTES[key], formats.note)
    worksheet.set_column(0, 0, 30)
    worksheet.set_column(1, 1, 50)
    worksheet.set_column(2, 2, 70)
    _print_setup(worksheet, 0)


def _protect_xlwings_conf(worksheet: Worksheet, options: BuildOptions, formats: _Formats) -> None:
    """Hidden and protected: xlwings still reads A:B (VBA reads hidden, protected sheets),
    staff cannot break the Python settings by accident. The test stub of RunPython
    records into an unlocked cell."""
    if options.runpython_stub:
        worksheet.write_blank(STUB_RECORD_CELL, None, formats.open_text)
    worksheet.hide()
    worksheet.protect("", {"format_columns": True, "format_rows": True})


def render_workbook(
    tables: Mapping[str, pd.DataFrame] | None = None,
    status: pd.DataFrame | None = None,
    options: BuildOptions | None = None,
) -> bytes:
    """The bytes of the workbook.

    Args:
        tables: Tables by sheet key. Settings tables not given come from ``mappings/``
            defaults; output tables not given are empty. ``xlwings_conf`` (columns
            キー, 値) replaces the default ``xlwings.conf`` tab.
        status: The status table (overrides ``tables["status"]``).
        options: Build options; defaults give the production workbook.

    Returns:
        The ``.xlsm`` file content.
    """
    options = options or BuildOptions()
    validate_registry(options.actions)
    merged: dict[str, pd.DataFrame] = dict(default_tables())
    merged.update(tables or {})
    if status is not None:
        merged[STATUS.key] = status
    tabs = sheet_order()
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        output,
        {
            "in_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    workbook.set_properties(
        {
            "title": "みまもり台帳",
            "subject": "こどもデータ連携",
            "author": "mimamori",
            "comments": "mimamori workbook build で作成。手で作り直さないでください。",
            "created": options.created,
        }
    )
    workbook.set_custom_property(MARKER_PROPERTY, MARKER_VALUE)
    formats = _Formats(workbook)
    names = source_names(merged.get(SOURCES.key))
    for name, sheets in tabs:
        worksheet = workbook.add_worksheet(name)
        _column_widths(worksheet, sheets)
        _print_setup(worksheet, sheets[0].header_row - 1)
        if sheets[0].role == "control":
            _write_control_tab(worksheet, merged, options, formats)
        else:
            sheet = sheets[0]
            worksheet.write_string(0, 0, sheet.name, formats.title)
            worksheet.write_string(1, 0, sheet.description, formats.note)
            _write_table(worksheet, sheet, merged.get(sheet.key), formats, names)
            worksheet.freeze_panes(sheet.header_row, 0)
        worksheet.protect("", {"autofilter": True, "format_columns": True, "format_rows": True})
    conf = workbook.add_worksheet(XLWINGS_CONF_SHEET_NAME)
    _write_xlwings_conf(conf, merged, formats)
    _protect_xlwings_conf(conf, options, formats)
    stub_sheet = XLWINGS_CONF_SHEET_NAME if options.runpython_stub else None
    modules = vba_modules(len(tabs) + 1, options.actions, stub_sheet=stub_sheet)
    workbook.add_vba_project(io.BytesIO(build_vba_project(modules)), is_stream=True)
    workbook.close()
    return output.getvalue()


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to a temporary file beside ``path`` and move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".mimamori-", suffix=".tmp", dir=path.parent)
    try:
        if path.exists():
            mode = path.stat().st_mode & 0o7777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(temporary, mode)
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def build_workbook(
    out_path: Path,
    tables: Mapping[str, pd.DataFrame] | None = None,
    status: pd.DataFrame | None = None,
    options: BuildOptions | None = None,
) -> Path:
    """Build the governed workbook at ``out_path`` (see :func:`render_workbook`).

    Returns:
        ``out_path``.
    """
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".xlsm":
        raise ValueError(f"the workbook must be an .xlsm file: {out_path}")
    write_atomically(out_path, render_workbook(tables, status, options))
    logger.info("built %s", out_path)
    return out_path
