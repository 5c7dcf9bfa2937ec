"""Vectorised rendering of dates, kana and names in the styles departments use."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

__all__ = [
    "DATE_STYLES",
    "format_dates",
    "to_fullwidth_digits",
    "katakana_to_hiragana",
    "katakana_to_halfwidth",
    "excel_serial",
]

DATE_STYLES: tuple[str, ...] = (
    "iso",  # 2015-10-03
    "slash",  # 2015/10/03
    "compact",  # 20151003
    "era_dot",  # H27.10.3
    "era_slash",  # H27/10/03
    "era_kanji",  # 平成27年10月3日 (元年 for year 1)
)

# (first day as yyyymmdd, letter, kanji name, year offset)
_ERAS = (
    (19890108, "H", "平成", 1988),
    (20190501, "R", "令和", 2018),
)
_SHOWA = (19261225, "S", "昭和", 1925)
_TAISHO = (19120730, "T", "大正", 1911)

_FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def _date_parts(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    dates = pd.to_datetime(values)
    missing = dates.isna().to_numpy()
    year = dates.dt.year.fillna(2000).astype(int).to_numpy()
    month = dates.dt.month.fillna(1).astype(int).to_numpy()
    day = dates.dt.day.fillna(1).astype(int).to_numpy()
    return year, month, day, missing


def _era(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    stamp = year * 10000 + month * 100 + day
    letters = np.full(len(year), "M", dtype=object)
    names = np.full(len(year), "明治", dtype=object)
    offsets = np.full(len(year), 1867)
    for first, letter, name, offset in (_TAISHO, _SHOWA, *_ERAS):
        mask = stamp >= first
        letters[mask] = letter
        names[mask] = name
        offsets[mask] = offset
    return letters, names, year - offsets


def _text(values: np.ndarray, width: int = 0) -> pd.Series:
    series = pd.Series(values).astype(str)
    return series.str.zfill(width) if width else series


def format_dates(values: pd.Series, style: str) -> pd.Series:
    """Render dates in one department style; missing dates become empty strings.

    Args:
        values: Dates (anything ``pandas.to_datetime`` accepts; NaT allowed).
        style: One of :data:`DATE_STYLES`.

    Returns:
        Strings aligned with ``values`` (a fresh RangeIndex).

    >>> import pandas as pd
    >>> format_dates(pd.Series(pd.to_datetime(["2019-05-01", "2015-10-03"])), "era_kanji").tolist()
    ['令和元年5月1日', '平成27年10月3日']
    >>> format_dates(pd.Series(pd.to_datetime(["2023-04-01"])), "era_dot").tolist()
    ['R5.4.1']
    """
    year, month, day, missing = _date_parts(values)
    if style == "iso":
        text = _text(year) + "-" + _text(month, 2) + "-" + _text(day, 2)
    elif style == "slash":
        text = _text(year) + "/" + _text(month, 2) + "/" + _text(day, 2)
    elif style == "compact":
        text = _text(year) + _text(month, 2) + _text(day, 2)
    else:
        letters, names, era_year = _era(year, month, day)
        if style == "era_dot":
            text = pd.Series(letters) + _text(era_year) + "." + _text(month) + "." + _text(day)
        elif style == "era_slash":
            text = pd.Series(letters) + _text(era_year, 2) + "/" + _text(month, 2) + "/" + _text(day, 2)
        elif style == "era_kanji":
            era_year_text = pd.Series(np.where(era_year == 1, "元", era_year.astype(str)))
            text = pd.Series(names) + era_year_text + "年" + _text(month) + "月" + _text(day) + "日"
        else:
            raise ValueError(f"unknown date style {style!r}")
    return text.where(~missing, "")


def excel_serial(values: pd.Series) -> np.ndarray:
    """Excel serial day numbers (1900 system) as floats; NaN where the date is missing."""
    dates = pd.to_datetime(values)
    serial = (dates - pd.Timestamp("1899-12-30")).dt.days
    return serial.to_numpy(dtype=float, na_value=np.nan)


def to_fullwidth_digits(values: pd.Series) -> pd.Series:
    """Replace ASCII digits with full-width digits (１２３)."""
    return values.str.translate(_FULLWIDTH_DIGITS)


def _build_halfwidth_map() -> dict[int, str]:
    # Full-width katakana → half-width (ﾀﾞ for ダ); NFKC of half-width gives the inverse.
    inverse: dict[str, str] = {}
    for code in range(0xFF66, 0xFF9E):
        half = chr(code)
        full = unicodedata.normalize("NFKC", half)
        inverse[full] = half
    mapping: dict[int, str] = {}
    for full, half in inverse.items():
        mapping[ord(full)] = half
        for mark, half_mark in (("\u3099", "\uff9e"), ("\u309a", "\uff9f")):
            combined = unicodedata.normalize("NFC", full + mark)
            if len(combined) == 1 and combined != full:
                mapping[ord(combined)] = half + half_mark
    mapping[ord("ヴ")] = "ｳﾞ"
    mapping[ord("ー")] = "ｰ"
    mapping[ord("　")] = " "
    return mapping


_HALFWIDTH_MAP = _build_halfwidth_map()
_HIRAGANA_MAP = {code: chr(code - 0x60) for code in range(0x30A1, 0x30F7)}


def katakana_to_halfwidth(values: pd.Series) -> pd.Series:
    """Full-width katakana → half-width (サトウ　タロウ → ｻﾄｳ ﾀﾛｳ)."""
    return values.str.translate(_HALFWIDTH_MAP)


def katakana_to_hiragana(values: pd.Series) -> pd.Series:
    """Katakana → hiragana (サトウ → さとう); ー and other marks stay."""
    return values.str.translate(_HIRAGANA_MAP)
