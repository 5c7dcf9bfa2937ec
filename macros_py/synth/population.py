"""Households and people: a vectorised draw of the whole municipality."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from macros_py.synth.addresses import assign_addresses, build_areas, registry_address_lines
from macros_py.synth.names import (
    NATIONALITIES,
    NATIONALITY_WEIGHTS,
    sample_foreign_names,
    sample_given_names,
    sample_surnames,
)
from macros_py.synth.profiles import FISCAL_YEAR, REFERENCE_DATE, MunicipalityProfile

__all__ = ["Population", "generate_population", "to_datetime64", "FISCAL_YEAR_START"]

FISCAL_YEAR_START = dt.date(FISCAL_YEAR, 4, 1)
_DAYS_PER_YEAR = 365.2425

_UNIT_TYPES = (
    "single_young",
    "single_middle",
    "single_old",
    "couple_young",
    "couple_old",
    "family",
    "single_mother",
    "single_father",
    "three_generation",
)
_NON_FAMILY_WEIGHTS = np.array([0.27, 0.18, 0.22, 0.10, 0.23])
_FAMILY_WEIGHTS = np.array([0.74, 0.125, 0.02, 0.115])
_KID_COUNT_WEIGHTS = np.array([0.33, 0.44, 0.18, 0.04, 0.01])


def to_datetime64(value: dt.date) -> np.datetime64:
    """Convert a date to ``numpy.datetime64[D]``."""
    return np.datetime64(value.isoformat(), "D")


class Population:
    """The drawn municipality: areas, households and people (all pandas frames).

    Attributes:
        areas: One row per area (町丁 / 大字) with school districts.
        households: One row per registry household (世帯), including households that
            moved out during the year.
        people: One row per person, including moved-out residents and partners who live
            in a household without being registered in the municipality.
    """

    def __init__(self, areas: pd.DataFrame, households: pd.DataFrame, people: pd.DataFrame) -> None:
        self.areas = areas
        self.households = households
        self.people = people


def _draw_units(profile: MunicipalityProfile, rng: np.random.Generator) -> pd.DataFrame:
    count = profile.household_count
    is_family = rng.random(count) < profile.family_share
    family_weights = _FAMILY_WEIGHTS.copy()
    if profile.uses_aza:
        family_weights[3] *= 2.2
    non_family_type = rng.choice(5, size=count, p=_NON_FAMILY_WEIGHTS / _NON_FAMILY_WEIGHTS.sum())
    family_type = 5 + rng.choice(4, size=count, p=family_weights / family_weights.sum())
    unit_type = np.where(is_family, family_type, non_family_type)
    return pd.DataFrame({"unit_index": np.arange(count), "unit_type": unit_type})


class _MemberBlocks:
    """Collects member arrays role by role and concatenates them once."""

    def __init__(self) -> None:
        self.blocks: list[dict[str, np.ndarray]] = []

    def add(
        self,
        unit_index: np.ndarray,
        role: str,
        sex,
        age,
        surname_source,
        relationship,
        separate=False,
        kid_order=-1,
    ):
        size = len(unit_index)
        if size == 0:
            return

        def _full(value, dtype=None):
            array = np.asarray(value, dtype=dtype)
            return np.broadcast_to(array, (size,)).copy() if array.ndim == 0 else array

        self.blocks.append(
            {
                "unit_index": unit_index,
                "role": _full(role, object),
                "sex": _full(sex).astype(np.int8),
                "age": _full(age).astype(float),
                "surname_source": _full(surname_source, object),
                "relationship": _full(relationship, object),
                "separate_household": _full(separate).astype(bool),
                "kid_order": _full(kid_order).astype(np.int8),
            }
        )

    def frame(self) -> pd.DataFrame:
        columns = self.blocks[0].keys()
        return pd.DataFrame(
            {column: np.concatenate([block[column] for block in self.blocks]) for column in columns}
        )


def _draw_members(
    units: pd.DataFrame, profile: MunicipalityProfile, rng: np.random.Generator
) -> pd.DataFrame:
    count = len(units)
    unit_type = units["unit_type"].to_numpy()
    index = np.arange(count)
    blocks = _MemberBlocks()

    # Non-family households.
    single_young = index[unit_type == 0]
    blocks.add(
        single_young,
        "single",
        rng.random(len(single_young)) < 0.45,
        rng.uniform(19, 40, len(single_young)),
        "married",
        "世帯主",
    )
    single_middle = index[unit_type == 1]
    blocks.add(
        single_middle,
        "single",
        rng.random(len(single_middle)) < 0.45,
        rng.uniform(40, 65, len(single_middle)),
        "married",
        "世帯主",
    )
    single_old = index[unit_type == 2]
    blocks.add(
        single_old,
        "single",
        rng.random(len(single_old)) < 0.68,
        65 + rng.triangular(0, 10, 32, len(single_old)),
        "married",
        "世帯主",
    )
    for type_code, low, high in ((3, 24, 65), (4, 65, 90)):
        couples = index[unit_type == type_code]
        husband_age = rng.uniform(low, high, len(couples))
        blocks.add(couples, "husband", 0, husband_age, "married", "世帯主")
        blocks.add(
            couples, "wife", 1, np.clip(husband_age - rng.normal(2, 3, len(couples)), 19, 99), "married", "妻"
        )

    # Families with children.
    family_like = index[unit_type >= 5]
    eldest_age = rng.uniform(0, 23.5, len(family_like))
    first_birth_age = np.clip(rng.normal(30.5, 4.6, len(family_like)), 17, 44)
    mother_age = eldest_age + first_birth_age
    father_age = np.clip(mother_age + rng.normal(2.0, 3.5, len(family_like)), 19, None)
    intended_kids = 1 + rng.choice(5, size=len(family_like), p=_KID_COUNT_WEIGHTS)
    gaps = 1.0 + rng.gamma(2.0, 1.0, size=(len(family_like), 5))
    gaps[:, 0] = 0.0
    kid_ages = eldest_age[:, None] - np.cumsum(gaps, axis=1)
    kid_valid = (np.arange(5)[None, :] < intended_kids[:, None]) & (kid_ages >= 0)
    kid_valid &= (mother_age[:, None] - kid_ages) <= 45
    kid_valid[:, 0] = True
    family_type = unit_type[family_like]
    has_father = family_type != 6
    has_mother = family_type != 7

    single_mother_with_parents = (family_type == 6) & (rng.random(len(family_like)) < 0.22)
    grandparents_in_house = (family_type == 8) | single_mother_with_parents
    separate_share = 0.12 if profile.uses_aza else 0.07
    grandparents_separate = (
        ((family_type == 5) | (family_type == 6))
        & ~grandparents_in_house
        & (rng.random(len(family_like)) < separate_share)
    )
    has_grandparents = grandparents_in_house | grandparents_separate
    maternal_side = (family_type == 6) | (rng.random(len(family_like)) < 0.3)
    grandparent_count = np.where(rng.random(len(family_like)) < 0.55, 2, 1)
    parent_age = np.where(maternal_side, mother_age, father_age)
    grandparent_age = np.clip(parent_age + rng.normal(29, 3.5, len(family_like)), 52, 99)

    # Surname of the mother (single mothers may have reverted to the maiden name) and of kids.
    reverted = (family_type == 6) & (rng.random(len(family_like)) < 0.72)
    kids_follow_mother = reverted & (rng.random(len(family_like)) < 0.65)
    mother_source = np.where(reverted, "maiden", "married")
    kid_source = np.where(kids_follow_mother, "maiden", "married")

    head_is_grandparent = single_mother_with_parents
    father_units = family_like[has_father]
    blocks.add(father_units, "father", 0, father_age[has_father], "married", "世帯主")
    mother_units = family_like[has_mother]
    mother_relationship = np.where(family_type == 6, np.where(head_is_grandparent, "子", "世帯主"), "妻")
    blocks.add(
        mother_units,
        "mother",
        1,
        mother_age[has_mother],
        mother_source[has_mother],
        mother_relationship[has_mother],
    )
    for order in range(5):
        mask = kid_valid[:, order]
        kid_relationship = np.where(head_is_grandparent[mask], "孫", "子")
        blocks.add(
            family_like[mask],
            "child",
            rng.random(int(mask.sum())) < 0.487,
            kid_ages[mask, order],
            kid_source[mask],
            kid_relationship,
            kid_order=order,
        )
    grandparent_source = np.where(maternal_side, "maiden", "married")
    separate = grandparents_separate
    male_grandparent = has_grandparents & (grandparent_count == 2)
    female_grandparent = has_grandparents
    gp_male_relationship = np.where(
        head_is_grandparent | separate, "世帯主", np.where(maternal_side, "妻の父", "父")
    )
    gp_female_relationship = np.where(
        separate | head_is_grandparent,
        np.where(grandparent_count == 2, "妻", "世帯主"),
        np.where(maternal_side, "妻の母", "母"),
    )
    blocks.add(
        family_like[male_grandparent],
        "grandfather",
        0,
        grandparent_age[male_grandparent] + 2,
        grandparent_source[male_grandparent],
        gp_male_relationship[male_grandparent],
        separate=separate[male_grandparent],
    )
    blocks.add(
        family_like[female_grandparent],
        "grandmother",
        1,
        grandparent_age[female_grandparent],
        grandparent_source[female_grandparent],
        gp_female_relationship[female_grandparent],
        separate=separate[female_grandparent],
    )
    has_partner = (family_type == 6) & ~head_is_grandparent & (rng.random(len(family_like)) < 0.1)
    blocks.add(
        family_like[has_partner],
        "partner",
        0,
        np.clip(mother_age[has_partner] + rng.normal(1, 5, int(has_partner.sum())), 19, None),
        "partner",
        "同居人",
    )
    members = blocks.frame()
    divorced_recently = np.zeros(count, dtype=bool)
    divorced_recently[family_like] = reverted & (rng.random(len(family_like)) < 0.4)
    members["divorced_recently"] = divorced_recently[members["unit_index"].to_numpy()]
    return members


def _assign_names(members: pd.DataFrame, units: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    count = len(units)
    married_standard, married_kana, married_registry = sample_surnames(rng, count)
    maiden_standard, maiden_kana, maiden_registry = sample_surnames(rng, count)
    partner_standard, partner_kana, partner_registry = sample_surnames(rng, count)
    unit_position = members["unit_index"].to_numpy()
    source = members["surname_source"].to_numpy()
    surname = np.select(
        [source == "married", source == "maiden"],
        [married_standard[unit_position], maiden_standard[unit_position]],
        partner_standard[unit_position],
    )
    surname_kana = np.select(
        [source == "married", source == "maiden"],
        [married_kana[unit_position], maiden_kana[unit_position]],
        partner_kana[unit_position],
    )
    surname_registry = np.select(
        [source == "married", source == "maiden"],
        [married_registry[unit_position], maiden_registry[unit_position]],
        partner_registry[unit_position],
    )
    birth_year = members["birth_date"].dt.year.to_numpy()
    given, given_kana, given_registry = sample_given_names(rng, members["sex"].to_numpy(), birth_year)
    members["surname"] = surname
    members["surname_kana"] = surname_kana
    members["surname_registry"] = surname_registry
    members["given_name"] = given
    members["given_name_kana"] = given_kana
    members["given_name_registry"] = given_registry
    # Children whose surname changed with a recent divorce: schools may still use the old one.
    changed = (
        members["divorced_recently"].to_numpy()
        & (source == "maiden")
        & np.isin(members["role"].to_numpy(), ["child", "mother"])
    )
    members["former_surname"] = np.where(changed, married_standard[unit_position], "")
    members["former_surname_kana"] = np.where(changed, married_kana[unit_position], "")

    unit_foreign = units["is_foreign"].to_numpy()
    foreign = unit_foreign[unit_position] & (members["role"].to_numpy() != "partner")
    if foreign.any():
        nationality = units["nationality"].to_numpy()[unit_position][foreign]
        roman_surname, kana_surname, roman_given, kana_given = sample_foreign_names(
            rng, nationality, members["sex"].to_numpy()[foreign], unit_position[foreign]
        )
        for column, values in (
            ("surname", roman_surname),
            ("surname_registry", roman_surname),
            ("surname_kana", kana_surname),
            ("given_name", roman_given),
            ("given_name_registry", roman_given),
            ("given_name_kana", kana_given),
        ):
            members.loc[foreign, column] = values
        members.loc[foreign, ["former_surname", "former_surname_kana"]] = ""
    members["is_foreign"] = foreign
    members["nationality"] = np.where(foreign, units["nationality"].to_numpy()[unit_position], "")
    return members


def _events(members: pd.DataFrame, units: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Births, moves in and out, moves within the town and 世帯分離 during the fiscal year."""
    start = to_datetime64(FISCAL_YEAR_START)
    reference = to_datetime64(REFERENCE_DATE)
    span = int((reference - start) / np.timedelta64(1, "D"))
    unit_position = members["unit_index"].to_numpy()
    unit_event = units["unit_event"].to_numpy()[unit_position]
    unit_event_date = units["unit_event_date"].to_numpy()[unit_position]
    event = unit_event.astype(object).copy()
    event_date = unit_event_date.copy()
    separate = members["separate_household"].to_numpy()
    split_event = separate & (rng.random(len(members)) < 0.25) & (event == "")
    event[split_event] = "世帯分離"
    event_date[split_event] = start + rng.integers(0, span, int(split_event.sum())).astype("timedelta64[D]")
    born_this_year = members["birth_date"].to_numpy() >= start
    event[born_this_year & (event != "転出")] = "出生"
    event_date[born_this_year & (event == "出生")] = members["birth_date"].to_numpy()[
        born_this_year & (event == "出生")
    ]
    moved_in_after_birth = born_this_year & (unit_event == "転入")
    event[moved_in_after_birth] = "転入"
    event_date[moved_in_after_birth] = np.maximum(
        unit_event_date[moved_in_after_birth], members["birth_date"].to_numpy()[moved_in_after_birth]
    )
    members["event"] = event
    members["event_date"] = event_date
    status = np.where(unit_event == "転出", "moved_out", "resident").astype(object)
    status[members["role"].to_numpy() == "partner"] = "unregistered"
    members["status"] = status
    return members


def generate_population(profile: MunicipalityProfile, rng: np.random.Generator) -> Population:
    """Draw the municipality's households and people.

    Args:
        profile: Municipality profile.
        rng: Random generator (consumed in a fixed order: deterministic per seed).

    Returns:
        The population with areas, households and people.
    """
    areas = build_areas(profile, rng)
    units = _draw_units(profile, rng)
    count = len(units)
    addresses = assign_addresses(areas, count, profile.apartment_share, rng)
    units = pd.concat([units, addresses], axis=1)
    units["is_foreign"] = rng.random(count) < profile.foreign_household_share
    units["nationality"] = np.where(
        units["is_foreign"],
        np.asarray(NATIONALITIES, dtype=object)[
            rng.choice(len(NATIONALITIES), size=count, p=NATIONALITY_WEIGHTS)
        ],
        "",
    )
    start = to_datetime64(FISCAL_YEAR_START)
    reference = to_datetime64(REFERENCE_DATE)
    span = int((reference - start) / np.timedelta64(1, "D"))
    draw = rng.random(count)
    units["unit_event"] = np.select([draw < 0.03, draw < 0.07, draw < 0.09], ["転出", "転入", "転居"], "")
    units["unit_event_date"] = np.where(
        units["unit_event"] != "",
        start + rng.integers(0, span, count).astype("timedelta64[D]"),
        np.datetime64("NaT"),
    ).astype("datetime64[D]")
    members = _draw_members(units, profile, rng)
    age_days = np.round(members["age"].to_numpy() * _DAYS_PER_YEAR).astype(int)
    members["birth_date"] = pd.to_datetime(
        (reference - age_days.astype("timedelta64[D]")).astype("datetime64[s]")
    )
    members = _assign_names(members, units, rng)
    members = _events(members, units, rng)
    households, members = _registry_households(members, units, areas, profile, rng)
    return Population(areas=areas, households=households, people=members)


def _registry_households(
    members: pd.DataFrame,
    units: pd.DataFrame,
    areas: pd.DataFrame,
    profile: MunicipalityProfile,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split units into registry households (separated grandparents get their own) and number everything."""
    unit_count = len(units)
    separate_units = np.unique(members.loc[members["separate_household"], "unit_index"].to_numpy())
    split_index = np.full(unit_count, -1)
    split_index[separate_units] = unit_count + np.arange(len(separate_units))
    unit_position = members["unit_index"].to_numpy()
    household_index = np.where(
        members["separate_household"].to_numpy(), split_index[unit_position], unit_position
    )
    members["household_index"] = household_index
    base = units.copy()
    base["household_index"] = base["unit_index"]
    base["household_kind"] = np.asarray(_UNIT_TYPES, dtype=object)[base["unit_type"].to_numpy()]
    split = units.iloc[separate_units].copy()
    split["household_index"] = split_index[separate_units]
    split["household_kind"] = "grandparents_separate"
    households = pd.concat([base, split], ignore_index=True)
    households = households.rename(
        columns={"unit_event": "household_event", "unit_event_date": "household_event_date"}
    )
    households = households.drop(columns=["unit_type"])
    household_total = len(households)
    households["household_id"] = (
        pd.Series(30_000_000 + rng.permutation(household_total) * 3 + rng.integers(0, 3, household_total))
        .astype(str)
        .to_numpy()
    )
    households["address"], households["address_building"] = registry_address_lines(
        households, areas, profile.municipality
    )
    area_index = households["area_index"].to_numpy()
    households["elementary_district"] = areas["elementary_district"].to_numpy()[area_index]
    households["junior_high_district"] = areas["junior_high_district"].to_numpy()[area_index]
    households["postal_code"] = areas["postal_code"].to_numpy()[area_index]
    households["linked_household_index"] = np.where(
        households["household_kind"] == "grandparents_separate", households["unit_index"], -1
    )
    household_status = np.where(households["household_event"] == "転出", "moved_out", "resident")
    households["status"] = household_status

    # Stable person order: by household, then role order within the household.
    role_order = {
        "grandfather": 0,
        "father": 1,
        "husband": 1,
        "single": 1,
        "mother": 2,
        "wife": 2,
        "grandmother": 3,
        "child": 4,
        "partner": 5,
    }
    members["_role_order"] = members["role"].map(role_order).to_numpy() * 10 + members["kid_order"].to_numpy()
    members = members.sort_values(["household_index", "_role_order"], kind="stable").reset_index(drop=True)
    members = members.drop(columns=["_role_order"])
    person_count = len(members)
    members["person_index"] = np.arange(person_count)
    members["person_id"] = "P" + pd.Series(np.arange(1, person_count + 1)).astype(str).str.zfill(7).to_numpy()
    resident_numbers = 1_000_000_000 + rng.permutation(person_count) * 5 + rng.integers(0, 5, person_count)
    registered = members["status"].to_numpy() != "unregistered"
    members["resident_id"] = np.where(registered, pd.Series(resident_numbers).astype(str).to_numpy(), "")
    members["household_id"] = households["household_id"].to_numpy()[members["household_index"].to_numpy()]
    members["is_child"] = members["age"].to_numpy() < 20
    # Parents' person indexes (for children: the mother and father of their unit).
    unit_person = members[["unit_index", "role", "person_index"]]
    mothers = unit_person[unit_person["role"] == "mother"].set_index("unit_index")["person_index"]
    fathers = unit_person[unit_person["role"] == "father"].set_index("unit_index")["person_index"]
    is_child_role = members["role"].to_numpy() == "child"
    members["mother_index"] = np.where(
        is_child_role, members["unit_index"].map(mothers).fillna(-1).astype(int).to_numpy(), -1
    )
    members["father_index"] = np.where(
        is_child_role, members["unit_index"].map(fathers).fillna(-1).astype(int).to_numpy(), -1
    )
    return households, members
