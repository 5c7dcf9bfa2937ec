"""The children items are computed for, and the household view around them.

Children are residents of the resident source (住民状態 住民 or blank) aged 0–18 at the
reference date. The household view follows :mod:`macros_py.link.households` (roles
from 続柄: child, guardian, grandparent, other), computed column-wise here because a
city has 260,000 residents: addresses are normalised once per distinct text, and two
households are "at the same address" (世帯分離) only when building and room agree too
(an estate's flats share a block number but not a household).

**Opt-out**: every member of a household in which any child has a 不同意書 record is
removed before anything else, so no record of that family reaches an item, a sibling's
or a neighbour's item, or any output. Only the count of removed children is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select

from macros_py.indicators.records import fetch_rows, id_values, linked_source_records, typed_values
from macros_py.ingest.mapping import MappingConfig
from macros_py.ingest.query import current_records_query
from macros_py.normalize.address import split_address
from macros_py.store import Store

__all__ = [
    "CHILD_MAX_AGE",
    "Population",
    "age_in_months",
    "age_in_years",
    "build_population",
    "household_view",
    "resident_master",
]

CHILD_MAX_AGE = 18
RESIDENT_STATUS_FIELD = "住民状態"
NATIONALITY_FIELD = "国籍"
_LIVING = ("住民", "")
_DOMESTIC = ("日本", "日本国", "")
_PARENT_WORDS = ("世帯主", "妻", "夫", "父", "母", "未届")
_GRANDPARENT_WORDS = ("祖父", "祖母", "父の", "母の")
_MASTER_COLUMNS = (
    "resident_id",
    "household_id",
    "name",
    "name_kana",
    "birth_date",
    "sex",
    "address",
    "relationship",
)
DISABILITY_SOURCES = ("disability", "disability_child")
SCHOOL_COLUMNS = ("school", "grade", "class_name")


@dataclass(frozen=True)
class Population:
    """Children and the people around them, after the opt-out rule.

    Attributes:
        children: index resident_id (sorted); the ``ItemResults.children`` columns.
        members: every remaining resident: resident_id, household_id, age, is_child,
            role, address_key.
        opted_out: children removed because their family opted out.
    """

    children: pd.DataFrame
    members: pd.DataFrame
    opted_out: int


def age_in_years(birth: pd.Series, reference_date: pd.Timestamp) -> pd.Series:
    """Completed years at ``reference_date`` (float, NaN when the birth date is missing)."""
    born = pd.to_datetime(birth, errors="coerce")
    years = reference_date.year - born.dt.year
    before = (born.dt.month > reference_date.month) | (
        (born.dt.month == reference_date.month) & (born.dt.day > reference_date.day)
    )
    return (years - before.astype(int)).astype(float)


def age_in_months(birth: pd.Series, reference_date: pd.Timestamp) -> pd.Series:
    """Completed months at ``reference_date`` (float, NaN when the birth date is missing)."""
    born = pd.to_datetime(birth, errors="coerce")
    months = (reference_date.year - born.dt.year) * 12 + (reference_date.month - born.dt.month)
    return (months - (born.dt.day > reference_date.day).astype(int)).astype(float)


def _fetch_master(store: Store, source_id: str) -> pd.DataFrame:
    current = current_records_query(source_id).subquery()
    names = [*_MASTER_COLUMNS, "values_json"]
    rows = fetch_rows(store, select(*[current.c[c] for c in names]))
    return pd.DataFrame(rows, columns=names, dtype=object)


def resident_master(store: Store, *, source_id: str, mapping: MappingConfig) -> pd.DataFrame:
    """Current residents of the resident source (住民状態 住民 or blank), one row each.

    Columns: the canonical master columns (text; ``birth_date`` datetime64), plus
    ``status`` and ``nationality`` from the value fields when the source maps them.
    """
    frame = _fetch_master(store, source_id)
    mapped = {c.target: c.value_type for c in mapping.columns_of(source_id) if c.canonical is None}
    wanted = {name: mapped[name] for name in (RESIDENT_STATUS_FIELD, NATIONALITY_FIELD) if name in mapped}
    values = typed_values(frame.pop("values_json"), wanted)
    frame["status"] = _text(values.get(RESIDENT_STATUS_FIELD, pd.Series("", index=frame.index)))
    frame["nationality"] = _text(values.get(NATIONALITY_FIELD, pd.Series("", index=frame.index)))
    for column in _MASTER_COLUMNS:
        if column != "birth_date":
            frame[column] = _text(frame[column])
    frame["birth_date"] = pd.to_datetime(frame["birth_date"], errors="coerce")
    living = frame["status"].isin(_LIVING) & (frame["resident_id"] != "")
    return frame[living].drop_duplicates("resident_id").reset_index(drop=True)


def _text(values: pd.Series) -> pd.Series:
    texts = id_values(values)
    return pd.Series([text.strip() if text else "" for text in texts], index=values.index, dtype=object)


def _address_keys(addresses: pd.Series) -> np.ndarray:
    """town|numbers|building per address, normalised once per distinct text."""
    codes, uniques = pd.factorize(addresses.to_numpy(dtype=object))
    keys = []
    for text in uniques:
        parts = split_address(text)
        keys.append(f"{parts.town}|{parts.numbers}|{parts.building}" if parts.town or parts.numbers else "")
    table = np.array(keys + [""], dtype=object)
    return table[codes]  # code -1 (missing) takes the last entry, ""


def household_view(master: pd.DataFrame, reference_date: pd.Timestamp) -> pd.DataFrame:
    """One row per resident: resident_id, household_id, age, is_child, role, address_key.

    Same roles as :func:`macros_py.link.households.household_members`.
    """
    relationship = master["relationship"]
    age = age_in_years(master["birth_date"], reference_date)
    is_child = ((age <= CHILD_MAX_AGE) & (age >= 0)).to_numpy()
    has_children = pd.Series(is_child).groupby(master["household_id"].to_numpy()).transform("any").to_numpy()
    grand = relationship.str.contains("|".join(_GRANDPARENT_WORDS)).to_numpy()
    parentish = relationship.str.contains("|".join(_PARENT_WORDS)).to_numpy() & ~grand
    role = np.select(
        [is_child, ~is_child & grand, ~is_child & parentish & has_children],
        ["child", "grandparent", "guardian"],
        default="other",
    )
    return pd.DataFrame(
        {
            "resident_id": master["resident_id"].to_numpy(dtype=object),
            "household_id": master["household_id"].to_numpy(dtype=object),
            "age": age.to_numpy(),
            "is_child": is_child,
            "role": role,
            "address_key": _address_keys(master["address"]),
        }
    )


def _opted_out_households(
    store: Store, members: pd.DataFrame, *, source_id: str, mapping: MappingConfig
) -> np.ndarray:
    if source_id not in {source.source_id for source in mapping.sources}:
        return np.array([], dtype=object)
    named = linked_source_records(store, source_id, mapping=mapping, fields=())["resident_id"]
    return members.loc[members["resident_id"].isin(named.unique()), "household_id"].unique()


def _household_groups(members: pd.DataFrame, master: pd.DataFrame, flagged: Iterable[str]) -> pd.DataFrame:
    """Per household: single_parent, large_family, foreign, disability_household."""
    frame = members.assign(
        guardian=members["role"] == "guardian",
        foreign=~master["nationality"].isin(_DOMESTIC).to_numpy(),
        disabled=members["resident_id"].isin(list(flagged)),
    )
    grouped = frame.groupby("household_id")
    summary = pd.DataFrame(
        {
            "children": grouped["is_child"].sum(),
            "guardians": grouped["guardian"].sum(),
            "household_foreign": grouped["foreign"].any(),
            "disability_household": grouped["disabled"].any(),
        }
    )
    summary["single_parent"] = (summary["children"] > 0) & (summary["guardians"] == 1)
    summary["large_family"] = summary["children"] >= 3
    return summary


def _disabled_residents(store: Store, mapping: MappingConfig) -> set[str]:
    known = {source.source_id for source in mapping.sources}
    found: set[str] = set()
    for source_id in DISABILITY_SOURCES:
        if source_id in known:
            found |= set(linked_source_records(store, source_id, mapping=mapping, fields=())["resident_id"])
    return found


def school_of_children(store: Store, mapping: MappingConfig, children: pd.Index) -> pd.DataFrame:
    """学校, 学年, 組 per child from the linked records of sources that map them.

    Sources are read in 取込設定 order; the first non-blank value per child wins (the
    学齢簿 comes before the school systems in the defaults), each column separately.
    """
    result = pd.DataFrame({c: pd.Series(None, index=children, dtype=object) for c in SCHOOL_COLUMNS})
    for source in mapping.sources:
        labels = {c.target for c in mapping.columns_of(source.source_id)}
        if not ({"学校", "学年", "組"} & labels) or not source.enabled:
            continue
        records = linked_source_records(store, source.source_id, mapping=mapping, fields=())
        records = records[records["resident_id"].isin(children)].sort_values("extract_date")
        latest = records.drop_duplicates("resident_id", keep="last").set_index("resident_id")
        for column in SCHOOL_COLUMNS:
            values = latest[column]
            values = values[values.notna() & (values.astype(str) != "")]
            result[column] = result[column].fillna(values.reindex(result.index))
    result["school"] = _text(result["school"])
    result["class_name"] = _text(result["class_name"])
    result["grade"] = pd.to_numeric(result["grade"], errors="coerce").astype(float)
    return result


def build_population(
    store: Store,
    *,
    mapping: MappingConfig,
    reference_date: pd.Timestamp,
    resident_source_id: str,
    opt_out_source_id: str = "opt_out",
) -> Population:
    """Children aged 0–18 and the household view, with opted-out families removed first.

    Args:
        store: the store.
        mapping: the parsed mapping tabs.
        reference_date: 基準日.
        resident_source_id: the resident source (住民記録).
        opt_out_source_id: the 不同意書 source; absent from the mapping → nobody opted out.
    """
    master = resident_master(store, source_id=resident_source_id, mapping=mapping)
    members = household_view(master, reference_date)
    out = _opted_out_households(store, members, source_id=opt_out_source_id, mapping=mapping)
    removed = members["household_id"].isin(out).to_numpy()
    opted_out = int((removed & members["is_child"].to_numpy()).sum())
    master, members = master[~removed].reset_index(drop=True), members[~removed].reset_index(drop=True)
    groups = _household_groups(members, master, _disabled_residents(store, mapping))
    children = _children_frame(master, members, groups, reference_date)
    school = school_of_children(store, mapping, children.index)
    children[list(SCHOOL_COLUMNS)] = school[list(SCHOOL_COLUMNS)]
    return Population(children=children[_CHILD_COLUMNS], members=members, opted_out=opted_out)


_CHILD_COLUMNS = [
    "household_id",
    "name",
    "name_kana",
    "birth_date",
    "age",
    "age_months",
    "sex",
    "school",
    "grade",
    "class_name",
    "address",
    "foreign",
    "single_parent",
    "disability_household",
    "large_family",
]


def _children_frame(
    master: pd.DataFrame, members: pd.DataFrame, groups: pd.DataFrame, reference_date: pd.Timestamp
) -> pd.DataFrame:
    child = members["is_child"].to_numpy()
    frame = master[child].copy()
    frame["age"] = age_in_years(frame["birth_date"], reference_date)
    frame["age_months"] = age_in_months(frame["birth_date"], reference_date)
    household = groups.reindex(frame["household_id"].to_numpy())
    own_foreign = ~frame["nationality"].isin(_DOMESTIC).to_numpy()
    frame["foreign"] = own_foreign | household["household_foreign"].fillna(False).to_numpy(dtype=bool)
    for column in ("single_parent", "disability_household", "large_family"):
        frame[column] = household[column].fillna(False).to_numpy(dtype=bool)
    return frame.set_index(
        pd.Index(frame["resident_id"].to_numpy(dtype=object), name="resident_id")
    ).sort_index()
