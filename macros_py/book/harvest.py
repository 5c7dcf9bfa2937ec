"""Read the tables of a closed workbook (openpyxl, read-only; never saved).

Where each table sits is read from the package's table parts, so a table that Excel
resized (live mode, or an administrator who unprotected a sheet) is read in full.
"""

from __future__ import annotations

import logging
import posixpath
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pandas as pd
from openpyxl.utils.cell import range_boundaries

from macros_py.book.build import MARKER_PROPERTY, MARKER_VALUE, XLWINGS_CONF_KEY
from macros_py.book.cells import cell_text
from macros_py.sheets import SETTINGS, SHEETS, XLWINGS_CONF_SHEET_NAME, SheetSpec

BACKUP_FOLDER = "バックアップ"  # beside the workbook; file mode keeps its previous versions there

logger = logging.getLogger(__name__)

__all__ = [
    "BACKUP_FOLDER",
    "NotOurWorkbook",
    "TableLocation",
    "damaged_workbook",
    "harvest_workbook",
    "newest_backup",
    "relationships",
    "sheet_parts",
    "table_locations",
]

_NS = {
    "main": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "cp": "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties",
    "vt": "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes",
}


class NotOurWorkbook(ValueError):
    """The file is not a mimamori workbook (or is damaged); the message is Japanese."""


# What reading a damaged package raises: not a zip or truncated (BadZipFile, EOFError),
# a corrupt deflate stream (zlib.error), a bad CRC, a missing part (KeyError), broken XML.
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ElementTree.ParseError, OSError, ValueError)


def newest_backup(path: Path) -> Path | None:
    """The newest copy of the workbook in its バックアップ folder, if any."""
    folder = Path(path).parent / BACKUP_FOLDER
    if not folder.is_dir():
        return None
    copies = [p for p in folder.glob(f"{Path(path).stem}_*{Path(path).suffix}") if p.is_file()]
    return max(copies, key=lambda p: (p.stat().st_mtime_ns, p.name), default=None)


def damaged_workbook(path: Path, error: BaseException) -> NotOurWorkbook:
    """The Japanese refusal for a workbook file that cannot be read (the detail is logged)."""
    logger.warning("cannot read workbook %s", path, exc_info=error)
    backup = newest_backup(path)
    advice = (
        f"最新のバックアップ「{backup}」をコピーして元に戻してください。"
        if backup
        else "元のファイルを確認するか、管理者に連絡してください。"
    )
    return NotOurWorkbook(
        f"「{Path(path).name}」はExcelの台帳ファイルとして読めません(ファイルが壊れているか、台帳ではありません)。"
        + advice
    )


@dataclass(frozen=True)
class TableLocation:
    """Where an Excel table sits: its sheet and its 1-based bounds including the header."""

    sheet_name: str
    min_row: int
    min_col: int
    max_row: int
    max_col: int


def relationships(archive: zipfile.ZipFile, part: str) -> list[tuple[str, str, str]]:
    """(Id, Type, resolved target) of every relationship of ``part``."""
    folder, name = posixpath.split(part)
    rels_path = posixpath.join(folder, "_rels", name + ".rels")
    if rels_path not in archive.namelist():
        return []
    root = ElementTree.fromstring(archive.read(rels_path))
    found = []
    for rel in root.findall("rel:Relationship", _NS):
        target = rel.get("Target", "")
        # Targets are relative to the part's folder, or absolute from the package root.
        resolved = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        found.append((rel.get("Id", ""), rel.get("Type", ""), posixpath.normpath(resolved)))
    return found


def _rels(archive: zipfile.ZipFile, part: str) -> dict[str, str]:
    return {rel_id: target for rel_id, _type, target in relationships(archive, part)}


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """The worksheet part (``xl/worksheets/sheetN.xml``) of every sheet, by sheet name."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    workbook_rels = _rels(archive, "xl/workbook.xml")
    return {
        sheet.get("name", ""): workbook_rels.get(sheet.get(f"{{{_NS['r']}}}id", ""), "")
        for sheet in workbook.findall("main:sheets/main:sheet", _NS)
    }


def table_locations(path: Path) -> dict[str, TableLocation]:
    """Every Excel table of the workbook by table name.

    Tables are found through each sheet's relationships, so the (possibly very large)
    sheet XML is not read.

    Raises:
        NotOurWorkbook: If the file is not an Office Open XML workbook.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            locations: dict[str, TableLocation] = {}
            for sheet_name, sheet_part in sheet_parts(archive).items():
                for _rel_id, rel_type, table_path in relationships(archive, sheet_part):
                    if not rel_type.endswith("/table"):
                        continue
                    table = ElementTree.fromstring(archive.read(table_path))
                    min_col, min_row, max_col, max_row = range_boundaries(table.get("ref", ""))
                    locations[table.get("name", "")] = TableLocation(
                        sheet_name, min_row, min_col, max_row, max_col
                    )
            return locations
    except _DAMAGED as error:
        raise damaged_workbook(path, error) from error


def _has_marker(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        if "docProps/custom.xml" not in archive.namelist():
            return False
        root = ElementTree.fromstring(archive.read("docProps/custom.xml"))
    for prop in root.findall("cp:property", _NS):
        if prop.get("name") == MARKER_PROPERTY:
            return "".join(prop.itertext()).strip() == MARKER_VALUE
    return False


def _frame(rows: list[tuple], sheet: SheetSpec, location: TableLocation) -> pd.DataFrame:
    """The table body in the spec's column order.

    Columns the spec added since the workbook was built come back empty (the next
    rendering adds them); a header the spec does not know means someone renamed it.
    """
    header = [cell_text(value) for value in rows[0]] if rows else []
    unknown = [name for name in header if name not in sheet.headers]
    if unknown or len(set(header)) != len(header):
        raise NotOurWorkbook(
            f"シート「{sheet.name}」の表「{sheet.table_name}」の見出しが変更されています"
            f"({location.min_row}行目の「{'」「'.join(unknown) or '重複'}」)。"
            f"見出しは {'・'.join(sheet.headers)} のままにしてください。"
        )
    body = [[cell_text(value) for value in row] for row in rows[1:]]
    while body and not any(body[-1]):
        body.pop()
    frame = pd.DataFrame(body, columns=header, dtype=str)
    return frame.reindex(columns=sheet.headers, fill_value="").astype(str)


def harvest_workbook(path: Path) -> dict[str, pd.DataFrame]:
    """Every table of a mimamori workbook as all-text DataFrames, by sheet key.

    See :func:`_harvest`; a damaged file (truncated, corrupt deflate stream, broken
    XML) raises :class:`NotOurWorkbook` with a Japanese message naming the newest backup.
    """
    path = Path(path)
    try:
        return _harvest(path)
    except NotOurWorkbook:
        raise
    except _DAMAGED as error:
        raise damaged_workbook(path, error) from error


def _harvest(path: Path) -> dict[str, pd.DataFrame]:
    """Every table of a mimamori workbook as all-text DataFrames, by sheet key.

    Row *i* of a table is Excel row ``sheet.excel_row(i)``: empty rows inside a table
    are kept (as empty strings), trailing empty rows are dropped. The ``xlwings.conf``
    tab comes back under ``"xlwings_conf"`` with columns キー, 値.

    Tables missing from the file (tabs added by a newer version) are left out, so the
    next rendering fills them with defaults or leaves them empty.

    Raises:
        NotOurWorkbook: If the file lacks our marker property or the 設定 table, a table
            was moved, or a table's headers were renamed.
    """
    path = Path(path)
    locations = table_locations(path)
    if not _has_marker(path):
        raise NotOurWorkbook(f"「{path.name}」はみまもり台帳ではありません(台帳の目印がありません)。")
    tables: dict[str, pd.DataFrame] = {}
    book = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        for sheet in SHEETS:
            location = locations.get(sheet.table_name)
            if location is None and sheet.key != SETTINGS.key:
                # A tab added by a newer version: the next rendering adds it (defaults or empty).
                logger.info("table %s not in %s", sheet.table_name, path.name)
                continue
            if location is None or location.sheet_name != sheet.name or sheet.name not in book.sheetnames:
                raise NotOurWorkbook(
                    f"「{path.name}」にシート「{sheet.name}」の表「{sheet.table_name}」がありません。"
                    "みまもり台帳ではないか、表が削除されています。"
                )
            if location.min_row != sheet.header_row or location.min_col != 1:
                raise NotOurWorkbook(
                    f"シート「{sheet.name}」の表「{sheet.table_name}」が動かされています"
                    f"(見出しは{sheet.header_row}行目のA列から始まります)。"
                )
            rows = list(
                book[sheet.name].iter_rows(
                    min_row=location.min_row,
                    max_row=location.max_row,
                    min_col=1,
                    max_col=len(sheet.columns),
                    values_only=True,
                )
            )
            tables[sheet.key] = _frame(rows, sheet, location)
        conf_rows: list[tuple[str, str]] = []
        if XLWINGS_CONF_SHEET_NAME in book.sheetnames:
            for key, value in book[XLWINGS_CONF_SHEET_NAME].iter_rows(min_col=1, max_col=2, values_only=True):
                if cell_text(key) == "":
                    break
                conf_rows.append((cell_text(key), cell_text(value)))
        tables[XLWINGS_CONF_KEY] = pd.DataFrame(conf_rows, columns=["キー", "値"], dtype=str)
    finally:
        book.close()
    return tables
