"""Municipality profiles: the size and shape of each synthetic place."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["PROFILES", "MunicipalityProfile", "REFERENCE_DATE", "FISCAL_YEAR", "get_profile"]

# Every profile describes the same as-of date so that runs are deterministic.
FISCAL_YEAR = 2025
REFERENCE_DATE = dt.date(2025, 11, 30)


@dataclass(frozen=True)
class MunicipalityProfile:
    """Size and shape of one synthetic municipality.

    Attributes:
        name: Profile key (village, town, city, metro).
        prefecture: Fictional prefecture name written in addresses.
        municipality: Fictional municipality name.
        ward_names: Ward names (政令市 only); empty for other profiles.
        target_residents: Expected number of registered residents.
        target_children: Expected number of registered residents aged 0–19.
        household_count: Households drawn (registered plus moved out during the year).
        family_share: Share of households that are families with children.
        area_count: Number of 町丁 / 大字 areas.
        elementary_schools: Number of municipal elementary schools.
        junior_high_schools: Number of municipal junior high schools.
        foreign_household_share: Share of households of foreign residents.
        apartment_share: Share of households living in a named building.
        private_elementary_share: Share of pupils at private or national elementary schools.
        private_junior_high_share: Share of pupils at private or national junior high schools.
        uses_aza: Whether addresses use 大字 + 番地 instead of 丁目番号.
    """

    name: str
    prefecture: str
    municipality: str
    ward_names: tuple[str, ...]
    target_residents: int
    target_children: int
    household_count: int
    family_share: float
    area_count: int
    elementary_schools: int
    junior_high_schools: int
    foreign_household_share: float
    apartment_share: float
    private_elementary_share: float
    private_junior_high_share: float
    uses_aza: bool


PROFILES: dict[str, MunicipalityProfile] = {
    "village": MunicipalityProfile(
        name="village",
        prefecture="架空県",
        municipality="みどり村",
        ward_names=(),
        target_residents=6_000,
        target_children=1_000,
        household_count=3_380,
        family_share=0.185,
        area_count=14,
        elementary_schools=2,
        junior_high_schools=1,
        foreign_household_share=0.012,
        apartment_share=0.08,
        private_elementary_share=0.005,
        private_junior_high_share=0.02,
        uses_aza=True,
    ),
    "town": MunicipalityProfile(
        name="town",
        prefecture="架空県",
        municipality="さくら町",
        ward_names=(),
        target_residents=18_500,
        target_children=3_500,
        household_count=10_030,
        family_share=0.215,
        area_count=36,
        elementary_schools=4,
        junior_high_schools=2,
        foreign_household_share=0.015,
        apartment_share=0.2,
        private_elementary_share=0.01,
        private_junior_high_share=0.04,
        uses_aza=False,
    ),
    "city": MunicipalityProfile(
        name="city",
        prefecture="架空県",
        municipality="みなと市",
        ward_names=(),
        target_residents=260_000,
        target_children=52_000,
        household_count=137_250,
        family_share=0.24,
        area_count=240,
        elementary_schools=42,
        junior_high_schools=21,
        foreign_household_share=0.025,
        apartment_share=0.45,
        private_elementary_share=0.015,
        private_junior_high_share=0.08,
        uses_aza=False,
    ),
    "metro": MunicipalityProfile(
        name="metro",
        prefecture="架空県",
        municipality="おおぞら市",
        ward_names=("中央区", "北区", "東区", "西区", "南区", "港区", "緑区", "青葉区", "若葉区", "桜区"),
        target_residents=1_600_000,
        target_children=276_000,
        household_count=903_200,
        family_share=0.19,
        area_count=1_400,
        elementary_schools=260,
        junior_high_schools=120,
        foreign_household_share=0.035,
        apartment_share=0.62,
        private_elementary_share=0.02,
        private_junior_high_share=0.12,
        uses_aza=False,
    ),
}


def get_profile(name: str) -> MunicipalityProfile:
    """Return the profile called ``name``.

    Args:
        name: One of ``village``, ``town``, ``city``, ``metro``.

    Raises:
        ValueError: For an unknown profile name.
    """
    try:
        return PROFILES[name]
    except KeyError as error:
        raise ValueError(f"unknown profile {name!r}; choose from {sorted(PROFILES)}") from error
