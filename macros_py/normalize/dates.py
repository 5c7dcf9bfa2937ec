"""Dates as departments write them: Japanese eras, western notations and Excel serials.

Every function here is strict: a value that names no real day (``R5.2.30``), a day
outside its era (``H31.5.1``, ``R1.4.30``) or, when asked, a day after a limit (a birth
date in the future) is reported as an error with a Japanese reason, never guessed at.

Accepted notations, after NFKC folding (full-width digits and ``㍻``/``㋿`` ligatures):

* eras by name or initial: ``令和5年4月1日``, ``R5.4.1``, ``H27/10/03``, ``S64-1-7``,
  ``平成元年1月8日``, ``r05.04.01``; separators ``年月日``, ``.``, ``/``, ``-``;
* western: ``2023-04-01``, ``2023/4/1``, ``2023.4.1``, ``2023年4月1日``, ``20230401``,
  optionally followed by a time (``2023-04-01 00:00:00`` as Excel exports write it);
* Excel serial day numbers (``45017`` is 2023-04-01), integral or with a time fraction.

Parsing is vectorised over the distinct values of a :class:`pandas.Series`, so a column
of a million birth dates parses only the few tens of thousands of different strings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    return text.str.replace(r"\s+", " ", regex=True)


def _components(text: pd.Series, pattern: str) -> pd.DataFrame:
    return text.str.extract(pattern, expand=True)


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

    era = _components(text, _ERA_PATTERN)
    era_hit = era["era"].notna().to_numpy()
    if era_hit.any():
        tokens = era["era"].where(era_hit, "R")
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
        ok = era_hit & exists & within
        dates[ok] = days[ok]
        reasons[era_hit & ~exists] = REASON_NO_SUCH_DAY
        reasons[era_hit & exists & ~within] = REASON_OUT_OF_ERA
        handled |= era_hit

    for pattern in (_WESTERN_PATTERN, _COMPACT_PATTERN):
        parts = _components(text, pattern)
        hit = parts["year"].notna().to_numpy() & ~handled
        if not hit.any():
            continue
        year = _to_int(parts["year"])
        days, exists = _assemble(year, _to_int(parts["month"]), _to_int(parts["day"]))
        dates[hit & exists] = days[hit & exists]
        out_of_range = hit & ~exists & ((year < _MIN_YEAR) | (year > _MAX_YEAR))
        reasons[hit & ~exists] = REASON_NO_SUCH_DAY
        reasons[out_of_range] = REASON_OUT_OF_RANGE
        handled |= hit

    serial = _components(text, _SERIAL_PATTERN)
    hit = serial["serial"].notna().to_numpy() & ~handled
    if hit.any():
        number = _to_int(serial["serial"])
        ok = hit & (number >= _FIRST_SERIAL) & (number <= _LAST_SERIAL)
        offsets = np.where(ok, number, 0).astype("int64")
        days = _EXCEL_EPOCH + offsets
        years = days.astype("datetime64[Y]").astype("int64") + 1970
        ok &= (years >= _MIN_YEAR) & (years <= _MAX_YEAR)
        dates[ok] = days[ok]
        reasons[hit & ~ok] = REASON_OUT_OF_RANGE
        handled |= hit

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
    as_text = pd.Series([_as_text(value) for value in uniques], dtype="str")  # distinct values only
    unique_dates, unique_reasons = _parse_unique(_fold(as_text), not_after)
    if len(uniques) == 0:
        dates = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[D]")
        reasons = np.full(len(values), "", dtype=object)
    else:
        take = np.where(codes >= 0, codes, 0)
        dates = unique_dates[take]
        reasons = unique_reasons[take]
        dates[codes < 0] = np.datetime64("NaT")
        reasons[codes < 0] = ""
    return DateParseResult(
        dates=pd.Series(dates.astype("datetime64[ns]"), index=index, name=values.name),
        errors=pd.Series(reasons, index=index, name=values.name, dtype="str"),
    )


def parse_date(value: object, *, not_after: dt.date | None = None) -> dt.date | None:
    """Parse one date; ``None`` for an empty value.

    Raises:
        ValueError: with the Japanese reason when the value is not a real date.

    Examples:
        >>> parse_date("H27/10/03")
        datetime.date(2015, 10, 3)
    """
    result = parse_dates(pd.Series([value], dtype="object"), not_after=not_after)
    if result.errors.iloc[0]:
        raise ValueError(f"「{value}」: {result.errors.iloc[0]}")
    parsed = result.dates.iloc[0]
    return None if pd.isna(parsed) else parsed.date()
