"""How many fields each CSV record has, and where an unclosed quote began.

pandas' C parser pads a short line with empty cells, so a row cut off mid-way cannot be
told from a row whose last cells are empty. The readers ask here, only for rows whose
last cell is empty, how many fields the record really had. Without any ``"`` in the file
every line is a record and its fields are counted on the bytes with NumPy (CP932 and
UTF-8 never use the bytes of ``,`` or a line feed inside a character); with quotes, the
``csv`` module reads the file once more, with the same quoting rules as pandas.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["RecordFields", "record_fields", "unclosed_quote_line"]

_BLOCK = 4 * 1024 * 1024


@dataclass(frozen=True)
class RecordFields:
    """Field count of every record, by the physical line the record starts on."""

    start_lines: np.ndarray  # int64, ascending
    counts: np.ndarray  # int64

    def at(self, lines: np.ndarray, default: int) -> np.ndarray:
        """Field counts of the records starting on ``lines`` (``default`` when unknown)."""
        if not len(self.start_lines):
            return np.full(len(lines), default, dtype=np.int64)
        where = np.clip(np.searchsorted(self.start_lines, lines), 0, len(self.start_lines) - 1)
        return np.where(self.start_lines[where] == lines, self.counts[where], default)


def _unquoted_fields(path: Path) -> RecordFields:
    counts: list[np.ndarray] = []
    commas_in_line = 0  # commas of the line still open at a block's end
    with open(path, "rb") as stream:
        while block := stream.read(_BLOCK):
            data = np.frombuffer(block, dtype=np.uint8)
            ends = np.flatnonzero(data == 10)
            commas = np.cumsum(data == 44, dtype=np.int64)
            at_ends = commas[ends] if len(ends) else np.zeros(0, dtype=np.int64)
            per_line = np.diff(at_ends, prepend=0)
            if len(per_line):
                per_line[0] += commas_in_line
                counts.append(per_line + 1)
                commas_in_line = int(commas[-1] - at_ends[-1])
            else:
                commas_in_line += int(commas[-1]) if len(commas) else 0
    counts.append(np.array([commas_in_line + 1], dtype=np.int64))  # the last line (maybe empty)
    fields = np.concatenate(counts)
    return RecordFields(np.arange(1, len(fields) + 1, dtype=np.int64), fields)


def _quoted_fields(path: Path, encoding: str) -> RecordFields:
    starts, counts = [], []
    with open(path, encoding=encoding, newline="") as stream:
        reader = csv.reader(stream)
        previous = 0
        for row in reader:
            starts.append(previous + 1)
            counts.append(len(row))
            previous = reader.line_num
    return RecordFields(np.array(starts, dtype=np.int64), np.array(counts, dtype=np.int64))


def record_fields(path: Path, encoding: str, *, quoted: bool) -> RecordFields:
    """Field counts of every record of a CSV file (one extra pass over it).

    Args:
        path: the file.
        encoding: its codec (cp932, utf-8, utf-8-sig).
        quoted: the file holds a ``"`` (records may span lines).
    """
    return _quoted_fields(path, encoding) if quoted else _unquoted_fields(path)


def unclosed_quote_line(path: Path, encoding: str) -> int | None:
    """The line where a quoted field that is never closed begins, ``None`` if every quote closes.

    A ``"`` opens a quoted field only at the start of a field, as in pandas and ``csv``;
    inside one, ``""`` is a quote character and a single ``"`` closes it.
    """
    line, opened_on, quoted, at_field_start, pending_quote = 1, None, False, True, False
    with open(path, encoding=encoding, newline="") as stream:
        while text := stream.read(1 << 20):
            for character in text:
                if quoted:
                    if pending_quote:
                        pending_quote = False
                        if character != '"':
                            quoted = False  # the previous quote closed the field
                    elif character == '"':
                        pending_quote = True
                        continue
                if not quoted:
                    if character == '"' and at_field_start:
                        quoted, opened_on = True, line
                    at_field_start = character in ",\n\r"
                if character == "\n":
                    line += 1
    return opened_on if quoted and not pending_quote else None
