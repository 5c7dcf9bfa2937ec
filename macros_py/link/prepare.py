"""Records → comparison columns for resident matching (名寄せ).

Input frames use the canonical identifiers (``resident_id, household_id, name,
name_kana, birth_date, sex, address`` …; any may be missing or empty). The output has one
row per input row, in order, with text columns where "" means unknown:

``surname, given, surname_loose, given_loose`` (variant kanji folded; loose also folds
斉/斎), ``kana_surname, kana_given, kana_full`` (kana keys), ``birth`` (``YYYYMMDD``),
``birth_year``, ``birth_md``, ``sex``, ``town``, ``chome`` (town + 丁目), ``address``
(town + 丁目-番地-号), ``household_id``, ``resident_id``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

import numpy as np
import pandas as pd

from macros_py.normalize.address import split_address
from macros_py.normalize.kana import kana_key, split_kana
from macros_py.normalize.names import split_name

__all__ = ["PREPARED_COLUMNS", "parse_birth_dates", "prepare_people"]

PREPARED_COLUMNS = (
    "surname",
    "given",
    "surname_loose",
    "given_loose",
    "kana_surname",
    "kana_given",
    "kana_full",
    "birth",
    "birth_year",
    "birth_md",
    "sex",
    "town",
    "chome",
    "address",
    "household_id",
    "resident_id",
)

_SEX = {"男": "男", "女": "女", "1": "男", "2": "女", "M": "男", "F": "女", "男性": "男", "女性": "女"}
_ERAS = {
    "M": 1867,
    "明治": 1867,
    "T": 1911,
    "大正": 1911,
    "S": 1925,
    "昭和": 1925,
    "H": 1988,
    "平成": 1988,
    "R": 2018,
    "令和": 2018,
}
_ERA_DATE = re.compile(
    r"^(明治|大正|昭和|平成|令和|[MTSHR])\s*(元|\d{1,2})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?$"
)
_WESTERN = re.compile(r"^(\d{4})\s*[年./-]?\s*(\d{1,2})\s*[月./-]?\s*(\d{1,2})\s*日?$")


def _parse_one(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return "" if pd.isna(value) else f"{value.year:04d}{value.month:02d}{value.day:02d}"
    text = unicodedata.normalize("NFKC", str(value)).strip().upper()
    if not text:
        return ""
    era = _ERA_DATE.match(text)
    if era:
        year = _ERAS[era.group(1)] + (1 if era.group(2) == "元" else int(era.group(2)))
        month, day = int(era.group(3)), int(era.group(4))
    else:
        western = _WESTERN.match(text.split(" ")[0] if " " in text and ":" in text else text)
        if not western:
            return ""
        year, month, day = int(western.group(1)), int(western.group(2)), int(western.group(3))
    if not (1 <= month <= 12 and 1 <= day <= 31 and 1868 <= year <= 2100):
        return ""
    return f"{year:04d}{month:02d}{day:02d}"


def parse_birth_dates(values: pd.Series) -> pd.Series:
    """Dates (date objects, ISO text, 和暦 such as ``H27.10.3`` or ``令和元年5月1日``) as ``YYYYMMDD``.

    Malformed values give "" (unknown), never an error: matching then relies on the
    other fields. Distinct values are parsed once.
    """
    series = pd.Series(values, dtype=object)
    distinct = {value: _parse_one(value) for value in pd.unique(series.astype(str).where(series.notna(), ""))}
    return series.astype(str).where(series.notna(), "").map(distinct).fillna("")


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    return frame[column].astype(object).where(frame[column].notna(), "").astype(str).str.strip()


def _mapped(series: pd.Series, function) -> list:
    distinct = {value: function(value) for value in pd.unique(series)}
    return [distinct[value] for value in series]


def prepare_people(frame: pd.DataFrame) -> pd.DataFrame:
    """Normalise people records into comparison columns (see module docstring).

    Args:
        frame: records with canonical columns; missing columns are treated as empty.

    Returns:
        A new DataFrame with :data:`PREPARED_COLUMNS`, positional index.
    """
    names = _text(frame, "name")
    kana = _text(frame, "name_kana")
    strict = _mapped(names, split_name)
    loose = _mapped(names, lambda v: split_name(v, loose=True))
    readings = _mapped(kana, lambda v: tuple(kana_key(part) for part in split_kana(v)))
    addresses = _mapped(_text(frame, "address"), split_address)
    birth = parse_birth_dates(
        frame["birth_date"] if "birth_date" in frame.columns else pd.Series([""] * len(frame))
    )
    birth = birth.reset_index(drop=True)
    out = pd.DataFrame(
        {
            "surname": [s for s, _ in strict],
            "given": [g for _, g in strict],
            "surname_loose": [s for s, _ in loose],
            "given_loose": [g for _, g in loose],
            "kana_surname": [s for s, _ in readings],
            "kana_given": [g for _, g in readings],
            "kana_full": [s + g for s, g in readings],
            "birth": birth,
            "birth_year": birth.str.slice(0, 4),
            "birth_md": birth.str.slice(4, 8),
            "sex": _text(frame, "sex")
            .map(lambda v: _SEX.get(unicodedata.normalize("NFKC", v).upper(), ""))
            .to_numpy(),
            "town": [a.town for a in addresses],
            "chome": [f"{a.town}{a.numbers.split('-')[0]}" if a.numbers else "" for a in addresses],
            "address": [a.key if a.numbers else "" for a in addresses],
            "household_id": _text(frame, "household_id").to_numpy(),
            "resident_id": _text(frame, "resident_id").to_numpy(),
        }
    )
    return out.astype(object)
