"""Reading and checking the two CSV files of ``mimamori link``.

Staff hand this command files saved from other systems or from Excel, so every problem
is refused with a Japanese message naming the file, and where it applies the row and
the column: a missing file, an encoding that is neither UTF-8 nor Shift_JIS (cp932),
a broken CSV line, a missing required column, duplicate or empty ids, and a birth-date
column that is mostly unreadable (a few unreadable dates are reported as warnings and
compared as unknown). Row numbers are those Excel shows: the header is row 1.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from macros_py.config.defaults import default_table
from macros_py.config.settings import parse_settings
from macros_py.normalize.dates import parse_dates
from macros_py.vocabulary import FIELD_BY_LABEL

__all__ = [
    "MATCH_LABELS",
    "RECORD_ID",
    "LinkInputError",
    "PeopleFile",
    "default_thresholds",
    "read_master_csv",
    "read_people_csv",
    "read_source_csv",
]

RECORD_ID = "レコードID"
# Columns compared when matching (any one is enough, the more the better).
MATCH_LABELS = ("氏名", "氏名カナ", "生年月日", "性別", "住所")
# Values that say "unknown" rather than being a date.
UNKNOWN_DATE_WORDS = frozenset({"不明", "不詳", "未詳", "なし", "無し", "-", "ー", "－", "―"})
# Above this share of unreadable birth dates the column is refused: its notation is not
# one we read, and matching on it would silently lose the strongest evidence.
UNREADABLE_DATE_LIMIT = 0.05
# Rows named in one message at most.
ROWS_SHOWN = 5
_ENCODINGS = ("utf-8-sig", "cp932")
_PARSER_LINE = re.compile(r"line (\d+)")


def default_thresholds() -> tuple[float, float]:
    """(名寄せ自動しきい値, 名寄せ確認しきい値) as a new workbook's 設定 tab has them (mappings/settings.csv)."""
    settings = parse_settings(default_table("settings"))
    return settings.link_auto_threshold, settings.link_review_threshold


class LinkInputError(ValueError):
    """A file of ``mimamori link`` that cannot be used; the message is Japanese for staff."""


@dataclass
class PeopleFile:
    """A read CSV: canonical column names, all text; ``warnings`` in Japanese."""

    path: Path
    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def _row(index: int) -> int:
    """The Excel row of a data row (0-based position): the header is row 1."""
    return index + 2


def _rows_text(positions) -> str:
    rows = [str(_row(int(position))) for position in list(positions)[:ROWS_SHOWN]]
    more = len(positions) - ROWS_SHOWN
    return "・".join(rows) + (f" ほか{more}行" if more > 0 else "")


def _decode(path: Path) -> str:
    """The file's text, as UTF-8 (with or without BOM) or cp932; refused otherwise."""
    if not path.exists():
        raise LinkInputError(f"ファイル「{path}」がありません。場所と名前を確認してください。")
    if path.is_dir():
        raise LinkInputError(f"「{path}」はフォルダです。CSVファイルを指定してください。")
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")  # Excel's "Unicode テキスト"
    for encoding in _ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as error:
            failed_at = error.start
    line = data[:failed_at].count(b"\n") + 1
    raise LinkInputError(
        f"ファイル「{path}」の{line}行目に、UTF-8 としても Shift_JIS(cp932)としても読めない文字があります。"
        "CSV(UTF-8 または Shift_JIS)で保存し直してください。"
    )


def read_people_csv(path: Path) -> PeopleFile:
    """Read a CSV with Japanese headers (UTF-8 with or without BOM, cp932; or Excel's tab-separated UTF-16).

    Headers are stripped and known labels (宛名番号, 氏名, 氏名カナ …) become canonical
    identifiers; ``レコードID`` and unknown headers are kept as they are.

    Raises:
        LinkInputError: the file is missing, undecodable, empty or not a valid CSV.
    """
    path = Path(path)
    text = _decode(path)
    if not text.strip():
        raise LinkInputError(f"ファイル「{path}」は空です。見出しの行と記録の行が必要です。")
    header = text.lstrip("\ufeff").splitlines()[0]
    separator = "\t" if "\t" in header and "," not in header else ","  # Excel's Unicode text is tab-separated
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=separator, dtype=str, keep_default_na=False, skip_blank_lines=True
        )
    except pd.errors.ParserError as error:
        found = _PARSER_LINE.search(str(error))
        where = f"{found.group(1)}行目の" if found else ""
        raise LinkInputError(
            f"ファイル「{path}」の{where}区切り(カンマ)の数が見出しと合いません。"
            '値の中のカンマは「"」で囲んでください。'
        ) from None
    frame.columns = [str(column).strip() for column in frame.columns]
    duplicated = sorted({column for column in frame.columns if list(frame.columns).count(column) > 1})
    if duplicated:
        raise LinkInputError(f"ファイル「{path}」の見出しに同じ列名が2回あります: {'・'.join(duplicated)}")
    rename = {label: spec.identifier for label, spec in FIELD_BY_LABEL.items() if label in frame.columns}
    return PeopleFile(path=path, frame=frame.rename(columns=rename))


def _headers_text(people: PeopleFile) -> str:
    identifiers = {spec.identifier: label for label, spec in FIELD_BY_LABEL.items()}
    return "・".join(identifiers.get(column, column) for column in people.frame.columns) or "(なし)"


def _require_match_columns(people: PeopleFile, *, role: str) -> None:
    present = [label for label in MATCH_LABELS if FIELD_BY_LABEL[label].identifier in people.frame.columns]
    if not present:
        raise LinkInputError(
            f"{role}「{people.path}」に、照合に使う列({'・'.join(MATCH_LABELS)})が1つもありません。"
            f"見出しの行を確認してください(見出し: {_headers_text(people)})。"
        )


def _check_birth_dates(people: PeopleFile) -> None:
    """Blank "unknown" words; warn about a few unreadable dates, refuse a mostly unreadable column."""
    if "birth_date" not in people.frame.columns:
        return
    values = people.frame["birth_date"].str.strip()
    values = values.where(~values.isin(UNKNOWN_DATE_WORDS), "")
    people.frame["birth_date"] = values
    filled = values != ""
    result = parse_dates(values.where(filled, None))
    unreadable = (filled & result.dates.isna()).to_numpy()
    if not unreadable.any():
        return
    positions = unreadable.nonzero()[0]
    first = int(positions[0])
    example = f"{_row(first)}行目「{values.iat[first]}」: {result.errors.iat[first] or '読めない日付です'}"
    if unreadable.sum() > UNREADABLE_DATE_LIMIT * filled.sum():
        raise LinkInputError(
            f"ファイル「{people.path}」の「生年月日」列の{unreadable.sum()}件(行 {_rows_text(positions)})が"
            f"日付として読めません(例: {example})。西暦(2014-05-06、2014/5/6)か和暦(H26.5.6、平成26年5月6日)で"
            "書いてください。"
        )
    people.warnings.append(
        f"ファイル「{people.path}」の「生年月日」列の{unreadable.sum()}件(行 {_rows_text(positions)})は"
        f"日付として読めないため、生年月日なしとして照合しました(例: {example})。"
    )


def _refuse_blank_or_repeated(people: PeopleFile, column: str, label: str, *, role: str) -> None:
    values = people.frame[column].str.strip()
    people.frame[column] = values
    blank = (values == "").to_numpy().nonzero()[0]
    if len(blank):
        raise LinkInputError(
            f"{role}「{people.path}」の「{label}」列が空の行があります(行 {_rows_text(blank)})。"
        )
    repeated = values.duplicated(keep=False).to_numpy().nonzero()[0]
    if len(repeated):
        raise LinkInputError(
            f"{role}「{people.path}」の「{label}」列に同じ値が複数あります"
            f"(行 {_rows_text(repeated)}、値「{values.iat[int(repeated[0])]}」)。1行に1つずつ違う値にしてください。"
        )


def read_master_csv(path: Path) -> PeopleFile:
    """The residents' CSV: 宛名番号 (unique, filled) and at least one compared column.

    Raises:
        LinkInputError: see :func:`read_people_csv`; a missing 宛名番号 column, a blank or
            repeated 宛名番号, no compared column, or mostly unreadable birth dates.
    """
    people = read_people_csv(path)
    if "resident_id" not in people.frame.columns:
        raise LinkInputError(
            f"住民記録「{people.path}」に「宛名番号」列がありません(見出し: {_headers_text(people)})。"
        )
    if people.frame.empty:
        raise LinkInputError(f"住民記録「{people.path}」に記録の行がありません。")
    _refuse_blank_or_repeated(people, "resident_id", "宛名番号", role="住民記録")
    _require_match_columns(people, role="住民記録")
    _check_birth_dates(people)
    return people


def read_source_csv(path: Path) -> PeopleFile:
    """The CSV to match: at least one compared column; ``レコードID`` optional.

    Without a ``レコードID`` column, each record's id is its row number in the file
    (as Excel shows it: the first record is row 2).

    Raises:
        LinkInputError: see :func:`read_people_csv`; a blank or repeated レコードID, no
            compared column, or mostly unreadable birth dates.
    """
    people = read_people_csv(path)
    if RECORD_ID in people.frame.columns:
        _refuse_blank_or_repeated(people, RECORD_ID, RECORD_ID, role="照合するファイル")
    else:
        people.frame.insert(0, RECORD_ID, [str(_row(index)) for index in range(len(people.frame))])
    _require_match_columns(people, role="照合するファイル")
    _check_birth_dates(people)
    return people
