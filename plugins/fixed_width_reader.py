"""Example reader plugin: fixed-width text exports (固定長), as older host systems write them.

How an administrator adds a reader for a new file format
--------------------------------------------------------
1. Put a ``.py`` file like this one in the plugins folder (設定タブ「プラグインフォルダ」,
   default ``plugins`` beside the workbook). Files starting with ``_`` are skipped.
2. Import only from ``macros_py.plugin_api`` (the public plugin interface) and define one
   function decorated with ``@hookimpl`` named exactly ``register_readers``
   that returns a list of ``ReaderSpec(format, label, open)``:

   * ``format`` is what administrators type in the 取込設定 「形式」 column (here ``固定長``);
   * ``open(path, source, chunk_rows)`` returns a ``RawTable``: the column names
     (``headers``), the file's SHA-256 (``sha256``; same content = same hash, so a
     re-import is recognised) and an iterator of ``RawChunk(frame, row_numbers)`` where
     ``frame`` holds text cells by column position and ``row_numbers`` the line numbers a
     person sees in a text editor;
   * when the file cannot be read, raise ``ReadError`` with a Japanese message naming
     the file: the file is refused and the message appears on the 取込エラー tab.
3. Describe the file in the 取込設定 tab (形式 ``固定長``) and map the column names
   of the layout in 項目マッピング, exactly as for a CSV file.
4. Press 「設定チェック」 and 「取込」. A plugin that fails to load or raises is reported
   on the ログ tab with its file name; the other sources still import.

This reader's layouts are written below (``LAYOUTS``), one per ソースID: each field is
(column name, width in bytes). Widths count bytes of the file's encoding (CP932: a
full-width character is 2 bytes), as host-system record layouts (レコードレイアウト) do.
Lines before 見出し行 are skipped (a title line, for example); fixed-width files carry no
header line, so the first data line is 見出し行 itself. Cells are trimmed of half- and
full-width spaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from macros_py.plugin_api import RawChunk, RawTable, ReadError, ReaderSpec, hookimpl, scan_text_file

FORMAT = "固定長"

# ソースID -> ((column name, width in bytes), ...)
LAYOUTS: dict[str, tuple[tuple[str, int], ...]] = {
    "kokuho": (
        ("宛名番号", 10),
        ("氏名カナ", 20),
        ("生年月日", 8),
        ("性別", 1),
        ("資格区分", 2),
    ),
}


def _layout(path: Path, source_id: str) -> tuple[tuple[str, int], ...]:
    layout = LAYOUTS.get(source_id)
    if not layout:
        raise ReadError(
            f"ファイル「{path.name}」: ソース「{source_id}」の固定長レイアウトが {__file__} の LAYOUTS にありません。"
        )
    return layout


def _decode_fields(lines: list[bytes], numbers: list[int], layout, encoding: str, path: Path) -> RawChunk:
    record_length = sum(width for _name, width in layout)
    for line, number in zip(lines, numbers, strict=True):
        if len(line) > record_length:
            raise ReadError(
                f"ファイル「{path.name}」の{number}行目が{len(line)}バイトあり、レイアウトの{record_length}バイトより長いです。"
            )
    block = np.array(lines, dtype=f"S{record_length}").view("S1").reshape(len(lines), record_length)
    columns = {}
    start = 0
    for position, (name, width) in enumerate(layout):
        raw = pd.Series(np.ascontiguousarray(block[:, start : start + width]).view(f"S{width}").ravel())
        start += width
        try:
            text = raw.str.decode(encoding, errors="strict")
        except UnicodeDecodeError as error:
            raise ReadError(
                f"ファイル「{path.name}」の「{name}」の桁で文字が途中で切れています。レイアウトの桁数を確認してください。"
            ) from error
        columns[position] = text.str.strip(" \u3000").astype("str")
    return RawChunk(pd.DataFrame(columns), np.array(numbers, dtype="int64"))


def open_fixed_width(path: Path, source, chunk_rows: int = 100_000) -> RawTable:
    """Open a fixed-width file of one source (layout from ``LAYOUTS``)."""
    layout = _layout(path, source.source_id)
    # plugin_api.scan_text_file raises ReadError (naming the file) when the encoding is wrong.
    scan = scan_text_file(path, source.encoding if source.encoding != "自動" else "cp932")
    if scan.size == 0:
        raise ReadError(f"ファイル「{path.name}」は空です(0バイト)。")

    def chunks() -> Iterator[RawChunk]:
        lines: list[bytes] = []
        numbers: list[int] = []
        with open(path, "rb") as stream:
            for number, line in enumerate(stream, start=1):
                body = line.rstrip(b"\r\n")
                if number < source.header_row or not body.strip():
                    continue
                lines.append(body)
                numbers.append(number)
                if len(lines) >= chunk_rows:
                    yield _decode_fields(lines, numbers, layout, scan.encoding, path)
                    lines, numbers = [], []
        if lines:
            yield _decode_fields(lines, numbers, layout, scan.encoding, path)

    return RawTable(
        headers=[name for name, _width in layout], sha256=scan.sha256, chunks=chunks(), encoding=scan.encoding
    )


@hookimpl
def register_readers() -> list[ReaderSpec]:
    """The 固定長 reader."""
    return [ReaderSpec(FORMAT, "固定長テキスト(バイト数で区切る)", open_fixed_width)]
