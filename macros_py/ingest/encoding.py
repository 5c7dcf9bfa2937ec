"""Character-encoding detection for CSV exports (CP932 or UTF-8, with or without BOM).

The whole file is scanned once in blocks (never held in memory) with incremental
decoders; the same pass computes the file's SHA-256, which identifies its content for
idempotent imports. Undecidable or contradictory files are refused with a Japanese
message naming the file and the line of the first unreadable byte.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AUTO", "EncodingError", "FileScan", "file_sha256", "scan_text_file"]

AUTO = "自動"
_BLOCK = 4 * 1024 * 1024
_BOM = codecs.BOM_UTF8
_LABELS = {"cp932": "CP932(Shift_JIS)", "utf-8": "UTF-8"}
# C0 control characters other than tab, line feed and carriage return, and DEL: no CP932
# trail byte is below 0x40 or 0x7F, so in both encodings these bytes are the characters.
# UTF-8's C1 controls (U+0080-U+009F) are bytes C2 80-9F, which can also be two CP932
# characters (half-width ﾂ and a kanji lead byte): they count only for UTF-8 files.
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
UTF8_C1_BYTES = re.compile(rb"\xc2[\x80-\x9f]")


class EncodingError(ValueError):
    """The file's encoding cannot be decided, or contradicts the 取込設定 row."""


@dataclass(frozen=True)
class FileScan:
    """What one pass over a text file found."""

    encoding: str  # a Python codec name: cp932, utf-8 or utf-8-sig
    sha256: str
    size: int
    has_quotes: bool = True  # a '"' occurs: cells may span lines (False only when certain)
    control_line: int | None = None  # first line holding a control character (NUL, ...)
    ends_with_newline: bool = True  # False: the last line may have been cut off


class _Checker:
    """Feeds blocks to an incremental decoder and remembers where it first failed."""

    def __init__(self, codec: str):
        self.decoder = codecs.getincrementaldecoder(codec)("strict")
        self.failed_at: int | None = None  # byte offset of the first bad byte
        self.failed_line: int | None = None
        self.offset = 0
        self.newlines = 0

    def feed(self, block: bytes, final: bool = False) -> None:
        if self.failed_at is None:
            try:
                self.decoder.decode(block, final)
            except UnicodeDecodeError as error:
                bad = max(error.start, 0)
                self.failed_at = self.offset + bad
                self.failed_line = self.newlines + block.count(b"\n", 0, bad) + 1
        self.offset += len(block)
        self.newlines += block.count(b"\n")

    @property
    def ok(self) -> bool:
        return self.failed_at is None


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _normalise_declared(declared: str) -> str:
    text = (declared or "").strip().lower().replace("_", "-")
    if text in {"", AUTO, "auto"}:
        return AUTO
    if text in {"cp932", "shift-jis", "sjis", "shift_jis", "ms932", "windows-31j"}:
        return "cp932"
    if text in {"utf-8", "utf8"}:
        return "utf-8"
    if text in {"utf-8-sig", "utf8-sig"}:
        return "utf-8-sig"
    raise EncodingError(f"文字コード「{declared}」には対応していません(自動・cp932・utf-8・utf-8-sig)。")


@dataclass
class _ByteScan:
    """What one pass over a file's bytes found (before deciding its encoding)."""

    digest: hashlib._Hash
    utf8: _Checker
    cp932: _Checker
    has_bom: bool = False
    non_ascii: bool = False
    quotes: bool = False
    control_line: int | None = None
    c1_line: int | None = None
    last_byte: bytes = b"\n"
    size: int = 0

    def feed(self, block: bytes, *, first: bool) -> bool:
        """Take the next block; return False once nothing more needs reading."""
        self.digest.update(block)
        decodable = block
        if first and block.startswith(_BOM):
            self.has_bom = True
            self.utf8.offset = len(_BOM)
            decodable = block[len(_BOM) :]
        self.size += len(block)
        self.quotes = self.quotes or b'"' in block
        if self.control_line is None and (control := CONTROL_BYTES.search(block)):
            self.control_line = self.utf8.newlines + block.count(b"\n", 0, control.start()) + 1
        if self.c1_line is None and (control := UTF8_C1_BYTES.search(block)):
            self.c1_line = self.utf8.newlines + block.count(b"\n", 0, control.start()) + 1
        self.last_byte = block[-1:] or self.last_byte
        if not self.non_ascii and decodable and max(decodable) >= 0x80:
            self.non_ascii = True
        final = not block
        self.utf8.feed(decodable, final)
        if not self.has_bom:
            self.cp932.feed(decodable, final)
        return not (final or (not self.utf8.ok and not self.cp932.ok))


def _scan_bytes(path: Path) -> _ByteScan:
    scan = _ByteScan(hashlib.sha256(), _Checker("utf-8"), _Checker("cp932"))
    with open(path, "rb") as stream:
        first = True
        while scan.feed(stream.read(_BLOCK), first=first):
            first = False
    return scan


def scan_text_file(path: Path, declared: str = AUTO) -> FileScan:
    """Decide a CSV file's encoding and hash its bytes in one pass.

    Args:
        path: the file.
        declared: the 取込設定 文字コード value (``自動``, ``cp932``, ``utf-8``, ``utf-8-sig``).

    Returns:
        The codec to read it with, its SHA-256 and size.

    Raises:
        EncodingError: naming the file when no encoding fits, or the declared one is wrong.
    """
    scan = _scan_bytes(path)
    ends_with_newline = scan.last_byte in (b"\n", b"\r")
    utf8_lines = [line for line in (scan.control_line, scan.c1_line) if line is not None]
    sha = scan.digest.hexdigest() if scan.size and (scan.utf8.ok or scan.cp932.ok) else file_sha256(path)
    common = (sha, scan.size, scan.quotes)
    utf8_scan = FileScan(
        "utf-8-sig" if scan.has_bom else "utf-8",
        *common,
        min(utf8_lines) if utf8_lines else None,
        ends_with_newline,
    )
    cp932_scan = FileScan("cp932", *common, scan.control_line, ends_with_newline)
    wanted = _normalise_declared(declared)
    _check_declared(path.name, wanted, scan)
    if wanted == "cp932" or (wanted == AUTO and not (scan.has_bom or scan.utf8.ok)):
        return cp932_scan
    return utf8_scan


def _check_declared(name: str, wanted: str, scan: _ByteScan) -> None:
    """Raise the Japanese error when no encoding fits or the declared one is wrong."""
    utf8, cp932 = scan.utf8, scan.cp932
    if wanted == AUTO:
        if (scan.has_bom or utf8.ok) and not utf8.ok:
            raise EncodingError(
                f"ファイル「{name}」は UTF-8(BOM付き)のはずですが、{utf8.failed_line}行目に"
                "UTF-8 として読めないバイトがあります。ファイルが壊れていないか確認してください。"
            )
        if not (scan.has_bom or utf8.ok or cp932.ok):
            raise EncodingError(
                f"ファイル「{name}」の文字コードを判定できません: UTF-8 としては{utf8.failed_line}行目、"
                f"CP932(Shift_JIS) としては{cp932.failed_line}行目に読めないバイトがあります。"
                "元のシステムから出力し直すか、文字コードを確認してください。"
            )
        return
    if wanted == "cp932":
        if scan.has_bom or (utf8.ok and scan.non_ascii):
            raise EncodingError(
                f"ファイル「{name}」は取込設定では cp932 ですが、UTF-8 で書かれています。"
                "取込設定の「文字コード」を「自動」または「utf-8」にしてください。"
            )
        if not cp932.ok:
            raise EncodingError(
                f"ファイル「{name}」の{cp932.failed_line}行目に CP932(Shift_JIS) として読めないバイトがあります。"
                "ファイルが壊れていないか、文字コードが正しいか確認してください。"
            )
        return
    if not utf8.ok:
        hint = "CP932(Shift_JIS) のようです。" if cp932.ok else ""
        raise EncodingError(
            f"ファイル「{name}」の{utf8.failed_line}行目に UTF-8 として読めないバイトがあります。{hint}"
            "取込設定の「文字コード」を確認してください。"
        )
