"""Dates as departments write them: Japanese eras, western notations and Excel serials.

Every function here is strict: a value that names no real day (``R5.2.30``), a day
outside its era (``H31.5.1``, ``R1.4.30``) or, when asked, a day after a limit (a birth
date in the future) is reported as an error with a Japanese reason, never guessed at.

Accepted notations, after NFKC folding (full-width digits and ``㍻``/``㋿`` ligatures):

* eras by name or initial: ``令和5年4月1日``, ``R5.4.1``, ``H27/10/03``, ``S64-1-7``,
  ``平成元年1月8日``, ``r05.04.01``; separators ``年月日``, ``.``, ``/``, ``-``;
* western: ``2023-04-01``, ``2023/4/1``, ``2023.4.1``, ``2023年4月1日``, ``20230401``,
  optionally followed by a time (``2023-04-01 00:00:00`` as Excel exports write it);
* numbers in kanji numerals, as typed forms and hand-made lists write them: with
  ``十``/``百``/``千`` (``平成三十一年四月三十日``, ``二千二十三年``) or digit by digit with
  ``〇`` (``二〇二三年一〇月一日``), alone or mixed with digits (``平成二年01月03日``);
* Excel serial day numbers (``45017`` is 2023-04-01), integral or with a time fraction.

Parsing is vectorised over the distinct values of a :class:`pandas.Series`, so a column
of a million birth dates parses only the few tens of thousands of different strings.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from macros_py.normalize.text import WHITESPACE

__all__ = ["ERAS", "DateParseResult", "Era", "parse_date", "parse_dates"]


@dataclass(frozen=True)
class Era:
    """One Japanese era: its names, first year in the western calendar and valid days."""

    name: str
    initial: str
    first_year: int
    start: dt.date
    end: dt.date | None


ERAS: tuple[Era, ...] = (
    Era("明治", "M", 1868, dt.date(1868, 1, 1), dt.date(1912, 7, 29)),
    Era("大正", "T", 1912, dt.date(1912, 7, 30), dt.date(1926, 12, 24)),
    Era("昭和", "S", 1926, dt.date(1926, 12, 25), dt.date(1989, 1, 7)),
    Era("平成", "H", 1989, dt.date(1989, 1, 8), dt.date(2019, 4, 30)),
    Era("令和", "R", 2019, dt.date(2019, 5, 1), None),
)
_ERA_BY_TOKEN: dict[str, Era] = {token: era for era in ERAS for token in (era.name, era.initial)}

_SEP = r"\s*(?:[./\-]|年|月)\s*"
_ERA_PATTERN = (
    r"^(?P<era>明治|大正|昭和|平成|令和|[MTSHR])\s*(?P<year>\d{1,2}|元)"
    rf"{_SEP}(?P<month>\d{{1,2}}){_SEP}(?P<day>\d{{1,2}})\s*日?$"
)
_WESTERN_PATTERN = (
    rf"^(?P<year>\d{{4}}){_SEP}(?P<month>\d{{1,2}}){_SEP}(?P<day>\d{{1,2}})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_COMPACT_PATTERN = r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})$"
_SERIAL_PATTERN = r"^(?P<serial>\d{2,7})(?:\.\d+)?$"

# Kanji numerals: digits (``〇``/``○``/``零`` are zero) and the multipliers 十, 百, 千.
_KANJI_DIGITS = {
    "〇": 0,
    "○": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
_KANJI_CLASS = "[" + "".join(_KANJI_DIGITS) + "".join(_KANJI_UNITS) + "]"
_KANJI_RUN = re.compile(_KANJI_CLASS + "+")

_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
_FIRST_SERIAL = 61  # 1900-03-01; smaller serials fall before Excel's phantom 1900-02-29
_LAST_SERIAL = 2958465  # 9999-12-31
_MIN_YEAR, _MAX_YEAR = 1868, 2200

REASON_UNREADABLE = "日付として読み取れません"
REASON_NO_SUCH_DAY = "存在しない日付です"
REASON_OUT_OF_ERA = "元号の期間外の日付です"
REASON_FUTURE = "未来の日付です"
REASON_OUT_OF_RANGE = "日付の範囲外です"


@dataclass(frozen=True)
class DateParseResult:
    """Parsed dates and, aligned with them, the reason each bad value was rejected.

    Attributes:
        dates: ``datetime64`` values (``NaT`` for empty or rejected input).
        errors: Japanese reason per value, ``""`` when the value is empty or valid.
    """

    dates: pd.Series
    errors: pd.Series

    @property
    def invalid(self) -> pd.Series:
        """Boolean mask of rejected values."""
        return self.errors != ""


def _as_text(value: object) -> str:
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.date().isoformat() if value == value else ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return "" if value != value else (str(int(value)) if value.is_integer() else repr(value))
    return str(value)


def _fold(values: pd.Series) -> pd.Series:
    text = values.astype("str").fillna("")
    text = text.str.normalize("NFKC").str.strip().str.upper()
    return text.str.replace(WHITESPACE + "+", " ", regex=True)


def _components(text: pd.Series, pattern: str) -> pd.DataFrame:
    """Named groups of ``pattern`` per value (missing where it does not match), with
    Arrow's RE2 engine: pandas' own ``str.extract`` runs Python's ``re`` per value."""
    array = pa.array(text.to_numpy(dtype=object), type=pa.string())
    groups = pc.extract_regex(array, pattern)
    matched = groups.is_valid().to_numpy(zero_copy_only=False)
    columns = {}
    for position, name in enumerate(groups.type.names):
        values = groups.field(position).to_numpy(zero_copy_only=False).astype(object)
        values[~matched] = None
        columns[name] = pd.Series(values, index=text.index, dtype="str")
    return pd.DataFrame(columns, index=text.index)


def _kanji_number(run: str) -> str | None:
    """Arabic digits for one run of kanji numerals, ``None`` when it is no number.

    Without a multiplier the run is read digit by digit (``二〇二三`` → ``2023``);
    with one, as a spoken number (``三十一`` → ``31``, ``十`` → ``10``, ``二千二十三`` → ``2023``).
    """
    if not any(character in _KANJI_UNITS for character in run):
        return "".join(str(_KANJI_DIGITS[character]) for character in run)
    total, digit, last_unit = 0, None, 10_000
    for character in run:
        if character in _KANJI_DIGITS:
            if digit is not None:  # two digits in a row inside a spoken number: 二三十
                return None
            digit = _KANJI_DIGITS[character]
        else:
            unit = _KANJI_UNITS[character]
            if unit >= last_unit or digit == 0:  # 十百, 十十, 〇十: not a number
                return None
            total += (1 if digit is None else digit) * unit
            digit, last_unit = None, unit
    return str(total + (digit or 0))


def _replace_kanji_run(match: re.Match) -> str:
    number = _kanji_number(match.group(0))
    return match.group(0) if number is None else number


def _with_arabic_numerals(text: pd.Series, candidates: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """``text`` with kanji numerals written as digits, among the ``candidates`` positions,
    and the mask of rewritten values.

    Only values holding a kanji numeral (found with one RE2 pass) are rewritten, one by
    one: they are few, and the western and arabic-numeral values are left untouched.
    """
    mask = np.zeros(len(text), dtype=bool)
    positions = np.flatnonzero(candidates)
    if not positions.size:
        return text, mask
    holding = text.iloc[positions].str.contains(_KANJI_CLASS, regex=True).to_numpy(dtype=bool)
    if not holding.any():
        return text, mask
    positions = positions[holding]
    mask[positions] = True
    rewritten = text.to_numpy(dtype=object).copy()
    rewritten[positions] = [_KANJI_RUN.sub(_replace_kanji_run, value) for value in rewritten[positions]]
    return pd.Series(rewritten, index=text.index, dtype="str"), mask


def _to_int(part: pd.Series) -> np.ndarray:
    return pd.to_numeric(part, errors="coerce").to_numpy(dtype="float64")


def _assemble(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days since epoch (``datetime64[D]``) and a mask of existing days."""
    valid = ~(np.isnan(year) | np.isnan(month) | np.isnan(day))
    in_range = valid & (year >= _MIN_YEAR) & (year <= _MAX_YEAR) & (month >= 1) & (month <= 12) & (day >= 1)
    y = np.where(in_range, year, 2000).astype("int64")
    m = np.where(in_range, month, 1).astype("int64")
    d = np.where(in_range, day, 1).astype("int64")
    month_start = (y - 1970) * 12 + (m - 1)
    first = month_start.astype("datetime64[M]").astype("datetime64[D]")
    next_first = (month_start + 1).astype("datetime64[M]").astype("datetime64[D]")
    days_in_month = (next_first - first).astype("int64")
    exists = in_range & (d <= days_in_month)
    return first + (d - 1), exists


def _parse_unique(text: pd.Series, not_after: dt.date | None) -> tuple[np.ndarray, np.ndarray]:
    """Parse distinct folded strings; returns (datetime64[D] with NaT, reason strings)."""
    n = len(text)
    dates = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    reasons = np.full(n, "", dtype=object)
    empty = (text == "").to_numpy()
    handled = empty.copy()

    # ISO dates are by far the most common notation: parsed by pandas' C parser first.
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").to_numpy("datetime64[D]")
    iso_years = iso.astype("datetime64[Y]").astype("int64") + 1970
    iso_hit = ~np.isnat(iso) & (iso_years >= _MIN_YEAR) & (iso_years <= _MAX_YEAR)
    dates[iso_hit] = iso[iso_hit]
    handled |= iso_hit
    text, kanji = _with_arabic_numerals(text, ~handled)

    def rest(pattern: str) -> tuple[np.ndarray, pd.DataFrame]:
        """Positions not handled yet and the pattern's groups for them (regex on few)."""
        positions = np.flatnonzero(~handled)
        return positions, _components(text.iloc[positions], pattern)

    positions, era = rest(_ERA_PATTERN)
    era_hit = era["era"].notna().to_numpy()
    if era_hit.any():
        positions, era, era_hit = positions[era_hit], era[era_hit], np.ones(int(era_hit.sum()), dtype=bool)
        tokens = era["era"]
        first_year = tokens.map({k: v.first_year for k, v in _ERA_BY_TOKEN.items()}).to_numpy("float64")
        era_year = _to_int(era["year"].replace("元", "1"))
        era_year = np.where(era_year >= 1, era_year, np.nan)
        year = first_year + era_year - 1
        days, exists = _assemble(year, _to_int(era["month"]), _to_int(era["day"]))
        starts = tokens.map({k: np.datetime64(v.start, "D") for k, v in _ERA_BY_TOKEN.items()})
        ends = tokens.map(
            {k: np.datetime64(v.end or dt.date(9999, 12, 31), "D") for k, v in _ERA_BY_TOKEN.items()}
        )
        within = (days >= starts.to_numpy("datetime64[D]")) & (days <= ends.to_numpy("datetime64[D]"))
        ok = exists & within
        dates[positions[ok]] = days[ok]
        reasons[positions[~exists]] = REASON_NO_SUCH_DAY
        reasons[positions[exists & ~within]] = REASON_OUT_OF_ERA
        handled[positions] = True

    for pattern in (_WESTERN_PATTERN, _COMPACT_PATTERN):
        positions, parts = rest(pattern)
        hit = parts["year"].notna().to_numpy()
        if not hit.any():
            continue
        positions, parts = positions[hit], parts[hit]
        year = _to_int(parts["year"])
        days, exists = _assemble(year, _to_int(parts["month"]), _to_int(parts["day"]))
        dates[positions[exists]] = days[exists]
        reasons[positions[~exists]] = REASON_NO_SUCH_DAY
        reasons[positions[~exists & ((year < _MIN_YEAR) | (year > _MAX_YEAR))]] = REASON_OUT_OF_RANGE
        handled[positions] = True

    reasons[kanji & ~handled] = REASON_UNREADABLE  # kanji numerals are never an Excel serial
    handled |= kanji
    positions, serial = rest(_SERIAL_PATTERN)
    hit = serial["serial"].notna().to_numpy()
    if hit.any():
        positions = positions[hit]
        number = _to_int(serial["serial"][hit])
        ok = (number >= _FIRST_SERIAL) & (number <= _LAST_SERIAL)
        offsets = np.where(ok, number, 0).astype("int64")
        days = _EXCEL_EPOCH + offsets
        years = days.astype("datetime64[Y]").astype("int64") + 1970
        ok &= (years >= _MIN_YEAR) & (years <= _MAX_YEAR)
        dates[positions[ok]] = days[ok]
        reasons[positions[~ok]] = REASON_OUT_OF_RANGE
        handled[positions] = True

    reasons[~handled] = REASON_UNREADABLE
    if not_after is not None:
        future = ~np.isnat(dates) & (dates > np.datetime64(not_after, "D"))
        reasons[future] = REASON_FUTURE
        dates[future] = np.datetime64("NaT")
    return dates, reasons


def parse_dates(values: pd.Series, *, not_after: dt.date | None = None) -> DateParseResult:
    """Parse a column of dates written in any accepted notation.

    Args:
        values: cells as read (text, numbers, ``datetime`` or empty).
        not_after: latest acceptable day (e.g. the extract date for birth dates);
            later days are rejected as future dates.

    Returns:
        Dates (``datetime64[ns]``, ``NaT`` for empty or rejected cells) and reasons.

    Examples:
        >>> result = parse_dates(pd.Series(["R5.4.1", "令和元年5月1日", "R5.2.30", ""]))
        >>> [str(d.date()) if pd.notna(d) else None for d in result.dates]
        ['2023-04-01', '2019-05-01', None, None]
        >>> list(result.errors)
        ['', '', '存在しない日付です', '']
    """
    index = values.index
    codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        as_text = pd.Series(uniques, dtype="str")  # already text: no per-value conversion
    else:
        as_text = pd.Series([_as_text(value) for value in uniques], dtype="str")  # distinct values only
    unique_dates, unique_reasons = _parse_unique(_fold(as_text), not_after)
    missing = codes < 0
    take = np.where(missing, len(uniques), codes)  # one past the distinct values: empty
    dates = np.append(unique_dates, np.datetime64("NaT"))[take]
    reasons = pd.Series(np.append(unique_reasons, ""), dtype="str").take(take)
    return DateParseResult(
        dates=pd.Series(dates.astype("datetime64[ns]"), index=index, name=values.name),
        errors=pd.Series(reasons.to_numpy(), index=index, name=values.name, dtype="str"),
    )


def parse_date(value: object, *, not_after: dt.date | None = None) -> dt.date | None:
    """Parse one date; ``None`` for an empty value.

    Raises:
        ValueError: with the Japanese reason when the value is not a real date.

    Examples:
        >>> parse_date("H27/10/03")
        datetime.date(2015, 10, 3)
        >>> parse_date("平成三十一年四月三十日")
        datetime.date(2019, 4, 30)
    """
    result = parse_dates(pd.Series([value], dtype="object"), not_after=not_after)
    if result.errors.iloc[0]:
        raise ValueError(f"「{value}」: {result.errors.iloc[0]}")
    parsed = result.dates.iloc[0]
    return None if pd.isna(parsed) else parsed.date()
