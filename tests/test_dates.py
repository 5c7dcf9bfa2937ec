"""Era, western and Excel-serial dates: every notation parses, impossible days are errors."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from macros_py.normalize.dates import ERAS, parse_date, parse_dates

TODAY = dt.date(2025, 11, 30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("R5.4.1", dt.date(2023, 4, 1)),
        ("r05.04.01", dt.date(2023, 4, 1)),
        ("令和5年4月1日", dt.date(2023, 4, 1)),
        ("令和５年４月１日", dt.date(2023, 4, 1)),
        ("令和 5 年 4 月 1 日", dt.date(2023, 4, 1)),
        ("令和元年5月1日", dt.date(2019, 5, 1)),
        ("R元.5.1", dt.date(2019, 5, 1)),
        ("H27/10/03", dt.date(2015, 10, 3)),
        ("H27-10-3", dt.date(2015, 10, 3)),
        ("平成元年1月8日", dt.date(1989, 1, 8)),
        ("㍻31年4月30日", dt.date(2019, 4, 30)),
        ("S64.1.7", dt.date(1989, 1, 7)),
        ("昭和20年8月15日", dt.date(1945, 8, 15)),
        ("T1.7.30", dt.date(1912, 7, 30)),
        ("大正15年12月24日", dt.date(1926, 12, 24)),
        ("M45.7.29", dt.date(1912, 7, 29)),
        ("明治33年1月1日", dt.date(1900, 1, 1)),
        ("H4.2.29", dt.date(1992, 2, 29)),
        ("2023-04-01", dt.date(2023, 4, 1)),
        ("2023/4/1", dt.date(2023, 4, 1)),
        ("2023.4.1", dt.date(2023, 4, 1)),
        ("2023年4月1日", dt.date(2023, 4, 1)),
        ("２０２３／０４／０１", dt.date(2023, 4, 1)),
        ("20230401", dt.date(2023, 4, 1)),
        ("2023-04-01 00:00:00", dt.date(2023, 4, 1)),
        ("45017", dt.date(2023, 4, 1)),
        (45017, dt.date(2023, 4, 1)),
        (45017.75, dt.date(2023, 4, 1)),
        (dt.datetime(2020, 1, 2, 0, 0), dt.date(2020, 1, 2)),
        (dt.date(2020, 1, 2), dt.date(2020, 1, 2)),
        ("", None),
        ("　", None),
        (None, None),
    ],
)
def test_every_notation_parses_to_the_same_day(text, expected):
    assert parse_date(text, not_after=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("R5.2.30", "存在しない日付"),
        ("令和5年2月29日", "存在しない日付"),
        ("2023-13-01", "存在しない日付"),
        ("R0.1.1", "存在しない日付"),
        ("H31.5.1", "元号の期間外"),
        ("R1.4.30", "元号の期間外"),
        ("S64.1.8", "元号の期間外"),
        ("T15.12.25", "元号の期間外"),
        ("M45.7.30", "元号の期間外"),
        ("H32.1.1", "元号の期間外"),
        ("2030-01-01", "未来の日付"),
        ("R9.1.1", "未来の日付"),
        ("4/1/2023", "読み取れません"),
        ("23/4/1", "読み取れません"),
        ("令和5年4月", "読み取れません"),
        ("不明", "読み取れません"),
        ("1800-01-01", "範囲外"),
        ("12", "範囲外"),
    ],
)
def test_impossible_values_are_errors_not_guesses(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_date(text, not_after=TODAY)


def test_future_dates_are_accepted_without_a_limit():
    assert parse_date("2030-01-01") == dt.date(2030, 1, 1)


def test_vectorised_parse_keeps_index_and_reports_per_value():
    values = pd.Series(["R5.4.1", "R5.2.30", None, "R5.4.1", "x"], index=[10, 11, 12, 13, 14])
    result = parse_dates(values)
    assert list(result.dates.index) == [10, 11, 12, 13, 14]
    assert result.dates[10] == result.dates[13] == pd.Timestamp("2023-04-01")
    assert result.errors.tolist() == ["", "存在しない日付です", "", "", "日付として読み取れません"]
    assert result.invalid.tolist() == [False, True, False, False, True]


def test_empty_series_parses():
    result = parse_dates(pd.Series([], dtype="str"))
    assert len(result.dates) == 0 and len(result.errors) == 0


def _era_of(day: dt.date):
    return next(era for era in reversed(ERAS) if day >= era.start)


@given(
    day=st.dates(min_value=dt.date(1873, 1, 1), max_value=TODAY),
    style=st.sampled_from(["kanji", "initial", "slash", "padded", "fullwidth"]),
)
def test_any_day_written_in_any_era_style_round_trips(day, style):
    era = _era_of(day)
    year = day.year - era.first_year + 1
    if style == "kanji":
        text = f"{era.name}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    elif style == "initial":
        text = f"{era.initial}{year}.{day.month}.{day.day}"
    elif style == "slash":
        text = f"{era.initial.lower()}{year}/{day.month}/{day.day}"
    elif style == "padded":
        text = f"{era.initial}{year:02d}-{day.month:02d}-{day.day:02d}"
    else:
        text = f"{era.name}{year}年{day.month}月{day.day}日".translate(
            str.maketrans("0123456789", "０１２３４５６７８９")
        )
    assert parse_date(text, not_after=TODAY) == day


@given(day=st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2200, 12, 31)))
def test_excel_serials_round_trip(day):
    serial = (day - dt.date(1899, 12, 30)).days
    assert parse_date(serial) == day
