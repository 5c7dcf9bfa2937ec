"""Households from the resident master: members, siblings, guardians, related households.

Every function takes the master records (canonical identifiers: ``resident_id,
household_id, name, birth_date, sex, address, relationship``) and returns a DataFrame, so
indicator code can join on ``resident_id``. Ages are taken at ``reference_date``.
Children are residents aged 18 or under.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.normalize.address import address_key

__all__ = [
    "guardians",
    "household_members",
    "household_summary",
    "partners_elsewhere",
    "same_address_households",
    "siblings",
]

CHILD_MAX_AGE = 18
# 続柄 words of a guardian and of a grandparent (shared with the items stage's household view).
PARENT_WORDS = ("世帯主", "妻", "夫", "父", "母", "未届")
GRANDPARENT_WORDS = ("祖父", "祖母", "父の", "母の")


def _age(birth: pd.Series, reference_date: pd.Timestamp) -> pd.Series:
    born = pd.to_datetime(birth, errors="coerce")
    years = reference_date.year - born.dt.year
    before_birthday = (born.dt.month > reference_date.month) | (
        (born.dt.month == reference_date.month) & (born.dt.day > reference_date.day)
    )
    return (years - before_birthday.astype(int)).astype("Int64")


def household_members(master: pd.DataFrame, reference_date: pd.Timestamp) -> pd.DataFrame:
    """One row per resident: resident_id, household_id, age, is_child, role, address_key.

    ``role`` is ``child`` (18 or under), ``guardian`` (adult head, spouse or parent of a
    child in the household), ``grandparent`` or ``other``.
    """
    frame = master.copy()
    relationship = (
        frame.get("relationship", pd.Series([""] * len(frame), index=frame.index)).fillna("").astype(str)
    )
    age = _age(frame["birth_date"], reference_date)
    is_child = (age <= CHILD_MAX_AGE).fillna(False).astype(bool)
    has_children = is_child.groupby(frame["household_id"]).transform("any")
    parentish = relationship.str.contains("|".join(PARENT_WORDS)) & ~relationship.str.contains(
        "|".join(GRANDPARENT_WORDS)
    )
    grand = relationship.str.contains("|".join(GRANDPARENT_WORDS))
    role = np.select(
        [is_child, ~is_child & grand, ~is_child & parentish & has_children],
        ["child", "grandparent", "guardian"],
        default="other",
    )
    return pd.DataFrame(
        {
            "resident_id": frame["resident_id"].astype(str).to_numpy(),
            "household_id": frame["household_id"].astype(str).to_numpy(),
            "age": age.to_numpy(),
            "is_child": is_child.to_numpy(),
            "role": role,
            "sex": frame.get("sex", pd.Series([""] * len(frame))).to_numpy(),
            "address_key": frame["address"].map(address_key).to_numpy(),
        }
    )


def siblings(members: pd.DataFrame) -> pd.DataFrame:
    """Pairs of children in one household (both directions): resident_id, sibling_id."""
    children = members.loc[members["is_child"], ["resident_id", "household_id"]]
    pairs = children.merge(children, on="household_id", suffixes=("", "_other"))
    pairs = pairs[pairs["resident_id"] != pairs["resident_id_other"]]
    return pairs.rename(columns={"resident_id_other": "sibling_id"})[
        ["resident_id", "sibling_id", "household_id"]
    ].reset_index(drop=True)


def guardians(members: pd.DataFrame) -> pd.DataFrame:
    """Child → guardian pairs within the household: resident_id, guardian_id."""
    children = members.loc[members["is_child"], ["resident_id", "household_id"]]
    adults = members.loc[members["role"] == "guardian", ["resident_id", "household_id"]]
    pairs = children.merge(adults, on="household_id", suffixes=("", "_guardian"))
    return pairs.rename(columns={"resident_id_guardian": "guardian_id"})[
        ["resident_id", "guardian_id", "household_id"]
    ].reset_index(drop=True)


def same_address_households(members: pd.DataFrame) -> pd.DataFrame:
    """Households sharing an address with another household (世帯分離): household_id, related_household_id."""
    places = members.loc[members["address_key"] != "", ["household_id", "address_key"]].drop_duplicates()
    pairs = places.merge(places, on="address_key", suffixes=("", "_related"))
    pairs = pairs[pairs["household_id"] != pairs["household_id_related"]]
    return pairs.rename(columns={"household_id_related": "related_household_id"}).reset_index(drop=True)


def partners_elsewhere(members: pd.DataFrame) -> pd.DataFrame:
    """Adults at the same address in another household, where the child's household has one guardian.

    These are candidates for a partner registered elsewhere (the data shows a shared
    address, not a relationship): household_id, partner_id.
    """
    summary = household_summary(members)
    single = summary.loc[(summary["children"] > 0) & (summary["guardians"] == 1), "household_id"]
    related = same_address_households(members)
    related = related[related["household_id"].isin(single)]
    adults = members.loc[
        ~members["is_child"] & (members["age"].fillna(0) < 65), ["resident_id", "household_id"]
    ]
    pairs = related.merge(
        adults, left_on="related_household_id", right_on="household_id", suffixes=("", "_adult")
    )
    return pairs.rename(columns={"resident_id": "partner_id"})[
        ["household_id", "partner_id", "related_household_id"]
    ].reset_index(drop=True)


def household_summary(members: pd.DataFrame) -> pd.DataFrame:
    """Per household: members, children, guardians, large_family (3+ children), single_parent."""
    grouped = members.groupby("household_id")
    summary = pd.DataFrame(
        {
            "members": grouped.size(),
            "children": grouped["is_child"].sum(),
            "guardians": grouped["role"].apply(lambda roles: int((roles == "guardian").sum())),
        }
    ).reset_index()
    summary["large_family"] = summary["children"] >= 3
    summary["single_parent"] = (summary["children"] > 0) & (summary["guardians"] == 1)
    return summary
