"""Household views: siblings, guardians, 世帯分離, partners elsewhere, large families."""

import pandas as pd

from macros_py.link.households import (
    guardians,
    household_members,
    household_summary,
    partners_elsewhere,
    same_address_households,
    siblings,
)

REFERENCE = pd.Timestamp("2025-05-01")
MASTER = pd.DataFrame(
    [
        ("1", "H1", "1985-01-01", "女", "本町1-2-3", "世帯主"),
        ("2", "H1", "2012-04-02", "男", "本町1-2-3", "子"),
        ("3", "H1", "2014-06-01", "女", "本町1-2-3", "子"),
        ("4", "H1", "2016-06-01", "女", "本町1-2-3", "子"),
        ("5", "H2", "1983-03-03", "男", "本町一丁目2番3号", "世帯主"),
        ("6", "H3", "1950-01-01", "女", "栄町5-5", "世帯主"),
        ("7", "H4", "1990-01-01", "女", "緑町1-1", "世帯主"),
        ("8", "H4", "1988-01-01", "男", "緑町1-1", "夫"),
        ("9", "H4", "2020-01-01", "男", "緑町1-1", "子"),
    ],
    columns=["resident_id", "household_id", "birth_date", "sex", "address", "relationship"],
)


def test_members_siblings_and_guardians():
    members = household_members(MASTER, REFERENCE)
    assert members.set_index("resident_id").loc["2", "role"] == "child"
    assert members.set_index("resident_id").loc["1", "role"] == "guardian"
    assert members.set_index("resident_id").loc["6", "role"] == "other"
    pairs = siblings(members)
    assert set(pairs.loc[pairs["resident_id"] == "2", "sibling_id"]) == {"3", "4"}
    assert set(guardians(members).loc[lambda f: f["resident_id"] == "9", "guardian_id"]) == {"7", "8"}


def test_large_family_single_parent_and_separate_household():
    members = household_members(MASTER, REFERENCE)
    summary = household_summary(members).set_index("household_id")
    assert summary.loc["H1", "large_family"] and summary.loc["H1", "single_parent"]
    assert not summary.loc["H4", "single_parent"]
    related = same_address_households(members)
    assert ("H1", "H2") in set(zip(related["household_id"], related["related_household_id"], strict=True))
    partners = partners_elsewhere(members)
    assert partners.loc[partners["household_id"] == "H1", "partner_id"].tolist() == ["5"]
