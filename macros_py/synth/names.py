"""Frequency-weighted Japanese and foreign names with readings and variant kanji."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

__all__ = [
    "NameTables",
    "load_name_tables",
    "sample_surnames",
    "sample_given_names",
    "sample_foreign_names",
    "VARIANT_TO_STANDARD",
]

# Variant (異体字) → the form most departments type.
VARIANT_TO_STANDARD: dict[str, str] = {
    "髙": "高",
    "﨑": "崎",
    "邊": "辺",
    "邉": "辺",
    "齋": "斎",
    "齊": "斎",
    "濱": "浜",
    "澤": "沢",
    "廣": "広",
    "櫻": "桜",
    "𠮷": "吉",
    "嶋": "島",
}

# Share of bearers of a surname with a variant whose registry entry uses the variant.
VARIANT_REGISTRY_SHARE = 0.12


@dataclass(frozen=True)
class NameTables:
    """Name lists loaded from ``macros_py/synth/data``."""

    surnames: pd.DataFrame
    given_names: pd.DataFrame
    foreign_names: pd.DataFrame


def _read_data_csv(file_name: str) -> pd.DataFrame:
    text = resources.files("macros_py.synth").joinpath("data").joinpath(file_name).read_text(encoding="utf-8")
    from io import StringIO

    return pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def load_name_tables() -> NameTables:
    """Load the surname, given-name and foreign-name tables (cached)."""
    surnames = _read_data_csv("surnames.csv")
    surnames["重み"] = surnames["重み"].astype(float)
    given_names = _read_data_csv("given_names.csv")
    for column in ("重み_1975年以前", "重み_1975_2004年", "重み_2005年以降"):
        given_names[column] = given_names[column].astype(float)
    foreign_names = _read_data_csv("foreign_names.csv")
    foreign_names["重み"] = foreign_names["重み"].astype(float)
    return NameTables(surnames=surnames, given_names=given_names, foreign_names=foreign_names)


def sample_surnames(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw surnames by national frequency.

    Args:
        rng: Random generator.
        count: Number of surnames to draw.

    Returns:
        Tuple of (standard kanji, katakana reading, registry kanji). The registry form is
        a variant (髙橋, 渡邊, 𠮷田 ...) for a share of bearers of variant-prone names.
    """
    tables = load_name_tables()
    weights = tables.surnames["重み"].to_numpy()
    index = rng.choice(len(weights), size=count, p=weights / weights.sum())
    standard = tables.surnames["姓"].to_numpy()[index]
    kana = tables.surnames["カナ"].to_numpy()[index]
    registry = standard.copy()
    variants = tables.surnames["異体字"].to_numpy()[index]
    has_variant = (variants != "") & (rng.random(count) < VARIANT_REGISTRY_SHARE)
    for position in np.flatnonzero(has_variant):
        options = variants[position].split("|")
        registry[position] = options[int(rng.integers(len(options)))]
    return standard.astype(object), kana.astype(object), registry.astype(object)


def _cohort_column(birth_years: np.ndarray) -> np.ndarray:
    return np.where(birth_years < 1975, 0, np.where(birth_years < 2005, 1, 2))


def sample_given_names(
    rng: np.random.Generator, sexes: np.ndarray, birth_years: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw given names by sex and birth cohort (昭和 / 平成 / 令和 fashions).

    Args:
        rng: Random generator.
        sexes: 0 = male, 1 = female, one per person.
        birth_years: Birth year per person.

    Returns:
        Tuple of (standard kanji, katakana reading, registry kanji).
    """
    tables = load_name_tables()
    given = tables.given_names
    count = len(sexes)
    standard = np.empty(count, dtype=object)
    kana = np.empty(count, dtype=object)
    registry = np.empty(count, dtype=object)
    cohorts = _cohort_column(birth_years)
    weight_columns = ("重み_1975年以前", "重み_1975_2004年", "重み_2005年以降")
    for sex_code, sex_label in ((0, "男"), (1, "女")):
        table = given[given["性別"] == sex_label].reset_index(drop=True)
        for cohort in (0, 1, 2):
            mask = (sexes == sex_code) & (cohorts == cohort)
            size = int(mask.sum())
            if size == 0:
                continue
            weights = table[weight_columns[cohort]].to_numpy()
            index = rng.choice(len(table), size=size, p=weights / weights.sum())
            standard[mask] = table["名"].to_numpy()[index]
            kana[mask] = table["カナ"].to_numpy()[index]
            variant = table["異体字"].to_numpy()[index]
            use_variant = (variant != "") & (rng.random(size) < 0.3)
            registry[mask] = np.where(use_variant, variant, table["名"].to_numpy()[index])
    return standard, kana, registry


def sample_foreign_names(
    rng: np.random.Generator, nationalities: np.ndarray, sexes: np.ndarray, family_index: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw foreign names (romaji and katakana) sharing one surname per family.

    Args:
        rng: Random generator.
        nationalities: Nationality label per person (e.g. ベトナム).
        sexes: 0 = male, 1 = female.
        family_index: Persons with the same value share a surname.

    Returns:
        Tuple of (surname romaji, surname katakana, given romaji, given katakana).
    """
    foreign = load_name_tables().foreign_names
    count = len(sexes)
    surname_roman = np.empty(count, dtype=object)
    surname_kana = np.empty(count, dtype=object)
    given_roman = np.empty(count, dtype=object)
    given_kana = np.empty(count, dtype=object)
    unique_families, first_position = np.unique(family_index, return_index=True)
    family_nationality = nationalities[first_position]
    family_surname_roman = np.empty(len(unique_families), dtype=object)
    family_surname_kana = np.empty(len(unique_families), dtype=object)
    for nationality in sorted(set(nationalities.tolist())):
        table = foreign[(foreign["国籍"] == nationality) & (foreign["区分"] == "姓")]
        family_mask = family_nationality == nationality
        weights = table["重み"].to_numpy()
        index = rng.choice(len(table), size=int(family_mask.sum()), p=weights / weights.sum())
        family_surname_roman[family_mask] = table["ローマ字"].to_numpy()[index]
        family_surname_kana[family_mask] = table["カナ"].to_numpy()[index]
        for sex_code, sex_label in ((0, "男"), (1, "女")):
            given_table = foreign[(foreign["国籍"] == nationality) & (foreign["区分"] == sex_label)]
            mask = (nationalities == nationality) & (sexes == sex_code)
            index = rng.integers(0, len(given_table), size=int(mask.sum()))
            given_roman[mask] = given_table["ローマ字"].to_numpy()[index]
            given_kana[mask] = given_table["カナ"].to_numpy()[index]
    family_position = np.searchsorted(unique_families, family_index)
    surname_roman[:] = family_surname_roman[family_position]
    surname_kana[:] = family_surname_kana[family_position]
    return surname_roman, surname_kana, given_roman, given_kana


NATIONALITIES: tuple[str, ...] = ("中国", "ベトナム", "フィリピン", "ブラジル", "韓国", "ネパール")
NATIONALITY_WEIGHTS: tuple[float, ...] = (0.28, 0.25, 0.14, 0.11, 0.14, 0.08)
