"""Readers turn one export file into text chunks with row numbers; built-ins are plugins.

A reader is a :class:`ReaderSpec`: the 取込設定 形式 it handles and a function
``open(path, source, chunk_rows) -> RawTable``. The built-in CSV and xlsx readers are
registered through the same ``register_readers`` hook as an administrator's plugin
(see ``plugins/fixed_width_reader.py``).

Row numbers are what a person sees: the physical line number in a text editor for
CSV (a quoted cell spanning two lines counts two), the Excel row number for xlsx.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from macros_py.hookspecs import hookimpl
from macros_py.ingest.csv_fields import RecordFields, record_fields, unclosed_quote_line
from macros_py.ingest.encoding import EncodingError, FileScan, file_sha256, scan_text_file
from macros_py.ingest.mapping import SourceSpec
from macros_py.ingest.row_marks import mark_rows

__all__ = ["RawChunk", "RawTable", "ReadError", "ReaderSpec", "read_csv_table", "read_xlsx_table"]

logger = logging.getLogger(__name__)

# Control characters removed from every cell (tab, line feed and carriage return stay).
CONTROL_CHARACTERS = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
_CONTROL_TABLE = {
    code: None for code in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]
}


class ReadError(ValueError):
    """The file cannot be read as configured; the Japanese message names the file."""


@dataclass(frozen=True)
class RawChunk:
    """Consecutive data rows: all-text cells by column position, and their row numbers."""

    frame: pd.DataFrame  # columns 0..n-1 in header order, every cell a str ("" when empty)
    row_numbers: np.ndarray  # int64, one per frame row


@dataclass
class RawTable:
    """An opened export: its header cells, its content hash and a stream of chunks."""

    headers: list[str]
    sha256: str
    chunks: Iterator[RawChunk]
    encoding: str = ""
    notes: list[str] = field(default_factory=list)  # Japanese remarks for the log


@dataclass(frozen=True)
class ReaderSpec:
    """One file format: the 取込設定 形式 value and the function that opens such files.

    Attributes:
        format: value of the 形式 column this reader handles (``csv``, ``xlsx``, ``固定長``).
        label: Japanese description shown in messages.
        open: ``open(path, source, chunk_rows) -> RawTable``; raise :class:`ReadError`
            with a Japanese message when the file cannot be read.
    """

    format: str
    label: str
    open: Callable[[Path, SourceSpec, int], RawTable]


def _header_cells(values: list[object]) -> list[str]:
    cells = ["" if value is None else str(value).strip().replace("\ufeff", "") for value in values]
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def _read_csv_header(path: Path, encoding: str, header_row: int) -> list[str]:
    with open(path, encoding=encoding, newline="") as stream:
        reader = csv.reader(stream)
        for number, row in enumerate(reader, start=1):
            if number == header_row:
                return _header_cells(row)
    raise ReadError(
        f"ファイル「{path.name}」が空か、見出し行({header_row}行目)がありません。"
        if header_row > 1
        else f"ファイル「{path.name}」が空です。"
    )


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose cells are all blank (tested column by column on the few candidates)."""
    blank = np.array(frame[0].str.strip() == "", dtype=bool)
    candidates = np.flatnonzero(blank)
    if candidates.size:
        rest = frame.iloc[candidates, 1:]
        for column in rest.columns:
            blank[candidates] &= (rest[column].str.strip() == "").to_numpy()
    return blank


@dataclass
class _ShortRows:
    """Finds rows with fewer fields than the header among a chunk's rows (see csv_fields)."""

    path: Path
    scan: FileScan
    width: int
    fields: RecordFields | None = None  # counted once, when a row first ends in an empty cell

    def mark(self, frame: pd.DataFrame, starts: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        if self.width < 2:
            return frame, starts
        candidates = np.flatnonzero((frame[self.width - 1] == "").to_numpy(dtype=bool))
        if not candidates.size:
            return frame, starts
        if self.fields is None:
            self.fields = record_fields(self.path, self.scan.encoding, quoted=self.scan.has_quotes)
        counts = self.fields.at(starts[candidates], default=self.width)
        short = counts < self.width
        rows, counts = candidates[short], counts[short]
        reasons = [
            f"ファイル「{self.path.name}」の{line}行目は列が{count}個しかありません(見出しは{self.width}列)。"
            "ファイルが途中で切れているか、区切りの「,」が抜けています。"
            for line, count in zip(starts[rows], counts, strict=True)
        ]
        return mark_rows(frame, starts, rows, reasons)


def _without_controls(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        frame[column] = frame[column].str.replace(CONTROL_CHARACTERS, "", regex=True)
    return frame


def _parser_error(path: Path, encoding: str, error: Exception) -> ReadError:
    text = str(error)
    if "EOF inside string" in text:
        line = unclosed_quote_line(path, encoding)
        where = f"{line}行目で始まる" if line else ""
        return ReadError(
            f'ファイル「{path.name}」の{where}「"」で囲まれた値が閉じられていません'
            '(ファイルが途中で切れているか、引用符「"」が1つ多い可能性があります)。'
        )
    line = re.search(r"line (\d+)", text)
    where = f"{int(line.group(1))}行目付近" if line else "途中"
    return ReadError(
        f"ファイル「{path.name}」の{where}で列の数が見出しより多い行があります(区切りの「,」や引用符を確認してください)。"
    )


def _csv_chunks(
    path: Path, scan: FileScan, header_row: int, width: int, chunk_rows: int
) -> Iterator[RawChunk]:
    encoding, quoted = scan.encoding, scan.has_quotes
    short_rows = _ShortRows(path, scan, width)
    next_line = header_row + 1
    reader = pd.read_csv(
        path,
        encoding=encoding,
        header=None,
        names=list(range(width)),
        index_col=False,
        skiprows=header_row,
        dtype="str",
        na_filter=False,
        skip_blank_lines=False,
        chunksize=chunk_rows,
        engine="c",
    )
    try:
        for frame in reader:
            frame = frame.reset_index(drop=True)
            embedded = np.zeros(len(frame), dtype="int64")
            for column in frame.columns if quoted else ():  # only a quoted cell holds a line break
                embedded += frame[column].str.count("\n").to_numpy(dtype="int64")
            starts = (
                next_line
                + np.arange(len(frame), dtype="int64")
                + np.concatenate(([0], np.cumsum(embedded)[:-1]))
            )
            next_line = int(starts[-1] + embedded[-1] + 1) if len(frame) else next_line
            if scan.control_line is not None:
                frame = _without_controls(frame)
            blank = _blank_rows(frame)
            if blank.any():
                frame = frame.loc[~blank].reset_index(drop=True)
                starts = starts[~blank]
            if len(frame):
                yield RawChunk(*short_rows.mark(frame, starts))
    except pd.errors.ParserError as error:
        raise _parser_error(path, encoding, error) from error
    except UnicodeDecodeError as error:
        raise ReadError(
            f"ファイル「{path.name}」に文字コード {encoding} として読めないバイトがあります。"
        ) from error


def read_csv_table(path: Path, source: SourceSpec, chunk_rows: int = 100_000) -> RawTable:
    """Open a CSV export: detect its encoding, read its header, stream its rows.

    Raises:
        ReadError: undecidable encoding, empty file, missing header row.
    """
    try:
        scan = scan_text_file(path, source.encoding)
    except EncodingError as error:
        raise ReadError(str(error)) from error
    if scan.size == 0:
        raise ReadError(f"ファイル「{path.name}」は空です(0バイト)。")
    headers = _read_csv_header(path, scan.encoding, source.header_row)
    width = max(len(headers), 1)
    chunks = _csv_chunks(path, scan, source.header_row, width, chunk_rows)
    return RawTable(
        headers=headers, sha256=scan.sha256, chunks=chunks, encoding=scan.encoding, notes=_notes(path, scan)
    )


def _notes(path: Path, scan: FileScan) -> list[str]:
    notes = []
    if scan.control_line is not None:
        notes.append(
            f"ファイル「{path.name}」に制御文字(NUL など、{scan.control_line}行目から)があり、取り除いて読みました。"
        )
    if not scan.ends_with_newline:
        notes.append(
            f"ファイル「{path.name}」は改行で終わっていません。最後の行が途中で切れていないか確認してください。"
        )
    return notes


# ---------------------------------------------------------------- xlsx
# Read with calamine (Rust): about ten times faster than openpyxl's read-only mode and
# gives cached formula values, dates for date-formatted cells and merged ranges.


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value if value.isprintable() else value.translate(_CONTROL_TABLE)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_headers(rows: list[list], header_row: int, merges: list[tuple[int, int, int, int]]) -> list[str]:
    """Header cells with merged ranges resolved: a vertical merge lends its value to the
    header row; a horizontal merge names its columns ``名前``, ``名前(2)``, ``名前(3)``."""
    grid = [list(row) for row in rows]
    width = max((len(row) for row in grid), default=0)
    for row in grid:
        row.extend([None] * (width - len(row)))
    headers = [grid[header_row - 1][c] if header_row <= len(grid) else None for c in range(width)]
    for r1, r2, c1, c2 in merges:
        if not r1 <= header_row <= r2 or c1 >= width:
            continue
        value = grid[r1 - 1][c1] if r1 - 1 < len(grid) else None
        for offset, column in enumerate(range(c1, min(c2, width - 1) + 1)):
            name = _cell_text(value).strip()
            headers[column] = name if offset == 0 or not name else f"{name}({offset + 1})"
    return _header_cells(headers)


def sheet_rows(sheet, first_row: int = 1) -> Iterator[tuple[int, list]]:
    """(Excel row number, cell values from column A) of a calamine sheet, from ``first_row``.

    calamine yields every row from row 1 but only the columns of the used range, so the
    cells left of it are put back: positions then match the header's.
    """
    left = [""] * (sheet.start[1] if sheet.start else 0)
    for number, row in enumerate(sheet.iter_rows(), start=1):
        if number >= first_row:
            yield number, left + row if left else row


def _xlsx_chunks(rows: Iterator[tuple[int, list]], width: int, chunk_rows: int) -> Iterator[RawChunk]:
    buffer: list[list[str]] = []
    numbers: list[int] = []
    for number, values in rows:
        cells = [_cell_text(value) for value in values[:width]]
        if not any(cell.strip() for cell in cells):
            continue
        cells.extend([""] * (width - len(cells)))
        buffer.append(cells)
        numbers.append(number)
        if len(buffer) >= chunk_rows:
            yield RawChunk(pd.DataFrame(buffer, columns=range(width), dtype="str"), np.array(numbers))
            buffer, numbers = [], []
    if buffer:
        yield RawChunk(pd.DataFrame(buffer, columns=range(width), dtype="str"), np.array(numbers))


def read_xlsx_table(path: Path, source: SourceSpec, chunk_rows: int = 50_000) -> RawTable:
    """Open an xlsx export: the named (or first) sheet, header at 見出し行, cell values.

    Dates come out as ISO text; formulas as their cached values; merged header cells
    are resolved (see :func:`_xlsx_headers`).

    Raises:
        ReadError: not an xlsx file, missing sheet, missing header row.
    """
    from python_calamine import CalamineWorkbook

    sha = file_sha256(path)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet_names = list(workbook.sheet_names)
        sheet_name = source.sheet_name or sheet_names[0]
        sheet = workbook.get_sheet_by_name(sheet_name) if sheet_name in sheet_names else None
    except Exception as error:  # calamine raises its own error types for broken files
        raise ReadError(f"ファイル「{path.name}」を Excel ファイル(xlsx)として開けません: {error}") from error
    if sheet is None:
        raise ReadError(
            f"ファイル「{path.name}」にシート「{sheet_name}」がありません(あるシート: {'・'.join(sheet_names)})。"
        )
    merges = [(r1 + 1, r2 + 1, c1, c2) for (r1, c1), (r2, c2) in sheet.merged_cell_ranges or []]
    rows = sheet_rows(sheet)
    top = [values for _number, values in itertools.islice(rows, source.header_row)]
    headers = _xlsx_headers(top, source.header_row, merges)
    if not headers:
        raise ReadError(
            f"ファイル「{path.name}」のシート「{sheet_name}」の{source.header_row}行目に見出しがありません。"
        )
    notes = []
    if any(r1 > source.header_row for r1, _r2, _c1, _c2 in merges):
        notes.append(
            f"ファイル「{path.name}」のデータ部分に結合セルがあります。結合セルの値は先頭のセルだけに入ります。"
        )
    return RawTable(
        headers=headers, sha256=sha, chunks=_xlsx_chunks(rows, len(headers), chunk_rows), notes=notes
    )


BUILTIN_READERS: tuple[ReaderSpec, ...] = (
    ReaderSpec("csv", "CSV(CP932/UTF-8)", read_csv_table),
    ReaderSpec("xlsx", "Excel(xlsx)", read_xlsx_table),
)


@hookimpl
def register_readers() -> list[ReaderSpec]:
    """The built-in CSV and xlsx readers."""
    return list(BUILTIN_READERS)
