"""How many fields each CSV record has, and where an unclosed quote began.

pandas' C parser pads a short line with empty cells, so a row cut off mid-way cannot be
told from a row whose last cells are empty. The readers ask here, only for rows whose
last cell is empty, how many fields the record really had. Without any ``"`` in the file
every line is a record and its fields are counted on the bytes with NumPy (CP932 and
UTF-8 never use the bytes of ``,``, ``"`` or a line feed inside a character); with
quotes, NumPy reads them by parity when every quote stands where csv rules expect one,
else the ``csv`` module reads the file once more, with the same quoting rules as pandas.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["RecordFields", "record_fields", "unclosed_quote_line"]

_BLOCK = 4 * 1024 * 1024
_QUOTED_BLOCK = 1024 * 1024  # smaller: several temporaries of the block size


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


_FIELD_EDGE = np.zeros(256, dtype=bool)  # bytes around a quote that csv rules allow: , LF CR "
_FIELD_EDGE[[44, 10, 13, 34]] = True


def _outside(positions: np.ndarray, quotes: np.ndarray, parity: int) -> np.ndarray:
    """Which ``positions`` lie outside quoted fields (an even number of quotes before them)."""
    return ((np.searchsorted(quotes, positions) + parity) & 1) == 0


def _quotes_follow_csv_rules(data: np.ndarray, quotes: np.ndarray, parity: int, previous: int) -> bool:
    """Every opening quote starts a field and every closing quote but the block's last ends one."""
    opening = (np.arange(len(quotes)) + parity) & 1 == 0
    opens, closes = quotes[opening], quotes[~opening]
    before = np.where(opens > 0, data[np.maximum(opens - 1, 0)], previous)
    closes = closes[closes < len(data) - 1]
    return bool(_FIELD_EDGE[before].all() and _FIELD_EDGE[data[closes + 1]].all())


def _fields_on_bytes(path: Path, *, quoted: bool) -> RecordFields | None:
    """Field counts from the bytes; with ``quoted``, each ``"`` opens or closes a quoted field.

    That equals the csv rules when every opening quote starts a field (after ``,``, a line
    break or a closing quote: ``""``) and every closing quote ends one; otherwise (a quote
    inside an unquoted value, say) ``None``, and the ``csv`` module counts instead. Works on
    the positions of the few special bytes, not on per-byte running sums.
    """
    starts: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    parity, lines_before, record_start, commas_open, previous, pending_close = 0, 0, 1, 0, 10, False
    with open(path, "rb") as stream:
        while block := stream.read(_QUOTED_BLOCK if quoted else _BLOCK):
            data = np.frombuffer(block, dtype=np.uint8)
            quotes = np.flatnonzero(data == 34) if quoted else np.zeros(0, dtype=np.int64)
            if pending_close and not _FIELD_EDGE[data[0]]:
                return None
            if len(quotes) and not _quotes_follow_csv_rules(data, quotes, parity, previous):
                return None
            if len(quotes):
                last_is_closing = (len(quotes) - 1 + parity) & 1 == 1
                pending_close = bool(quotes[-1] == len(data) - 1 and last_is_closing)
            else:
                pending_close = False
            newlines = np.flatnonzero(data == 10)
            commas = np.flatnonzero(data == 44)
            if len(quotes):
                commas = commas[_outside(commas, quotes, parity)]
                ends = newlines[_outside(newlines, quotes, parity)]
            else:
                ends = newlines if parity == 0 else newlines[:0]
                commas = commas if parity == 0 else commas[:0]
            if len(ends):
                commas_before = np.searchsorted(commas, ends)
                per_record = np.diff(commas_before, prepend=0)
                per_record[0] += commas_open
                counts.append(per_record + 1)
                lines_through = lines_before + np.searchsorted(newlines, ends) + 1  # this end included
                starts.append(np.concatenate(([record_start], lines_through[:-1] + 1)))
                record_start = int(lines_through[-1] + 1)
                commas_open = int(len(commas) - commas_before[-1])
            else:
                commas_open += len(commas)
            lines_before += len(newlines)
            previous, parity = int(data[-1]), (parity + len(quotes)) & 1
    starts.append(np.array([record_start], dtype=np.int64))
    counts.append(np.array([commas_open + 1], dtype=np.int64))
    return RecordFields(np.concatenate(starts).astype(np.int64), np.concatenate(counts).astype(np.int64))


def _fields_by_csv_module(path: Path, encoding: str) -> RecordFields:
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
    return _fields_on_bytes(path, quoted=quoted) or _fields_by_csv_module(path, encoding)


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
