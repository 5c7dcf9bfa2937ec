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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("平成二年01月03日", dt.date(1990, 1, 3)),
        ("平成三十一年四月三十日", dt.date(2019, 4, 30)),
        ("令和五年四月一日", dt.date(2023, 4, 1)),
        ("令和元年五月一日", dt.date(2019, 5, 1)),
        ("令和一年五月一日", dt.date(2019, 5, 1)),
        ("平成十年十月十日", dt.date(1998, 10, 10)),
        ("平成二十年十二月二十九日", dt.date(2008, 12, 29)),
        ("昭和六十四年一月七日", dt.date(1989, 1, 7)),
        ("昭和二十年八月十五日", dt.date(1945, 8, 15)),
        ("平成三一年四月三〇日", dt.date(2019, 4, 30)),
        ("令和〇五年〇四月〇一日", dt.date(2023, 4, 1)),
        ("令和５年四月１日", dt.date(2023, 4, 1)),
        ("Ｈ三十一．四．三十", dt.date(2019, 4, 30)),
        ("二〇二三年四月一日", dt.date(2023, 4, 1)),
        ("二○二三年十一月三十日", dt.date(2023, 11, 30)),
        ("二千二十三年十二月三十一日", dt.date(2023, 12, 31)),
        ("一九八九年一月八日", dt.date(1989, 1, 8)),
        ("令和 五 年 四 月 一 日", dt.date(2023, 4, 1)),
    ],
)
def test_kanji_numerals_are_read(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("令和五年二月三十日", "存在しない日付"),
        ("平成三十二年一月一日", "元号の期間外"),
        ("令和元年四月三十日", "元号の期間外"),
        ("令和五年十三月一日", "存在しない日付"),
        ("令和五年十十月一日", "読み取れません"),
        ("令和二三十年一月一日", "読み取れません"),
        ("令和〇十年一月一日", "読み取れません"),
        ("令和五年四月", "読み取れません"),
        ("一二三", "読み取れません"),
        ("令和九年一月一日", "未来の日付"),
    ],
)
def test_impossible_kanji_dates_are_errors(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_date(text, not_after=TODAY)


# An independent era converter for the check below: era start days only, and numbers
# spelt out by table lookup (not the product's parser run backwards).
_ERA_STARTS = ((dt.date(2019, 5, 1), "令和"), (dt.date(1989, 1, 8), "平成"))
_ONES = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"]
_DIGIT_KANJI = "〇一二三四五六七八九"


def _spoken(number: int) -> str:
    tens, ones = divmod(number, 10)
    return ("" if tens == 0 else ("十" if tens == 1 else _ONES[tens] + "十")) + _ONES[ones]


def _digit_by_digit(number: int, width: int = 1) -> str:
    return "".join(_DIGIT_KANJI[int(digit)] for digit in str(number).zfill(width))


def _kanji_renderings(day: dt.date) -> list[str]:
    start, name = next((start, name) for start, name in _ERA_STARTS if day >= start)
    year = day.year - start.year + 1
    era_year = "元" if year == 1 else _spoken(year)
    return [
        f"{name}{era_year}年{_spoken(day.month)}月{_spoken(day.day)}日",
        f"{name}{_spoken(year)}年{day.month:02d}月{day.day:02d}日",
        f"{name}{_digit_by_digit(year, 2)}年{_digit_by_digit(day.month, 2)}月{_digit_by_digit(day.day, 2)}日",
        f"{_digit_by_digit(day.year)}年{_spoken(day.month)}月{_spoken(day.day)}日",
        f"{name}{_spoken(year)}年{day.month}月{day.day}日".translate(
            str.maketrans("0123456789", "０１２３４５６７８９")
        ),
    ]


def test_every_third_day_since_heisei_in_kanji_numerals_parses_to_the_independent_answer():
    days = [dt.date(1989, 1, 8) + dt.timedelta(days=step) for step in range(0, 16_000, 3)]
    days = [day for day in days if day <= dt.date(2030, 12, 31)]
    texts, expected = [], []
    for day in days:
        for text in _kanji_renderings(day):
            texts.append(text)
            expected.append(pd.Timestamp(day))
    result = parse_dates(pd.Series(texts, dtype="str"))
    wrong = [
        (text, want) for text, got, want in zip(texts, result.dates, expected, strict=True) if got != want
    ]
    assert len(texts) > 20_000 and wrong == []
    assert (result.errors == "").all()


def test_arabic_and_western_values_are_not_rewritten_as_kanji():
    values = pd.Series(["2023/4/1", "R5.4.1", "令和5年4月1日", "一般"], dtype="str")
    result = parse_dates(values)
    assert result.dates.iloc[:3].tolist() == [pd.Timestamp("2023-04-01")] * 3
    assert result.errors.tolist() == ["", "", "", "日付として読み取れません"]
