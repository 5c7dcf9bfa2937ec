"""The children items are computed for, and the household view around them.

Children are residents of the resident source (住民状態 住民 or blank) aged 0–18 at the
reference date. The household view follows :mod:`macros_py.link.households` (roles
from 続柄: child, guardian, grandparent, other), computed column-wise here because a
city has 260,000 residents. Two households are "at the same address" (世帯分離) when
the register writes the same address, building and room included (NFKC, spaces
ignored): an estate's flats share a block number but not a household, and one register
writes one address one way.

**Opt-out**: every member of a household in which any child has a 不同意書 record is
removed before anything else, so no record of that family reaches an item, a sibling's
or a neighbour's item, or any output. Only the count of removed children is kept.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select

from macros_py.indicators.records import RECORD_COLUMNS, SourceCache, fetch_rows, rows_frame, typed_values
from macros_py.ingest.mapping import MappingConfig
from macros_py.ingest.query import current_records_query
from macros_py.link.households import CHILD_MAX_AGE, GRANDPARENT_WORDS, PARENT_WORDS
from macros_py.store import Store

__all__ = [
    "CHILD_MAX_AGE",
    "Population",
    "age_in_months",
    "age_in_years",
    "build_population",
    "household_view",
    "population_sources",
    "resident_master",
]

RESIDENT_STATUS_FIELD = "住民状態"
NATIONALITY_FIELD = "国籍"
_LIVING = ("住民", "")
_DOMESTIC = ("日本", "日本国", "")
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
        members: every remaining resident, row i = person code i: resident_id,
            household_id, age, is_child, role, address_key, household (int code),
            address (int code, -1 when blank).
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


def _fetch_master(store: Store, source_id: str, records: pd.DataFrame | None) -> pd.DataFrame:
    names = [*_MASTER_COLUMNS, "values_json"]
    if records is not None:
        return records[names].copy()
    current = current_records_query(source_id).subquery()
    return rows_frame(fetch_rows(store, select(*[current.c[c] for c in names])), names)


def _text(values: pd.Series) -> pd.Series:
    """Text as an object column with "" for missing (ids are already text from the store)."""
    values = values.astype(object)
    return values.where(values.notna(), "")


def resident_master(
    store: Store, *, source_id: str, mapping: MappingConfig, records: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Current residents of the resident source (住民状態 住民 or blank), one row each.

    Columns: the canonical master columns (text; ``birth_date`` datetime64), plus
    ``status`` and ``nationality`` from the value fields when the source maps them.
    ``records``: the source's current records already read with these columns and
    ``values_json`` (:meth:`SourceCache.resident_rows`), else they are read here.
    """
    frame = _fetch_master(store, source_id, records)
    mapped = {c.target: c.value_type for c in mapping.columns_of(source_id) if c.canonical is None}
    wanted = {name: mapped[name] for name in (RESIDENT_STATUS_FIELD, NATIONALITY_FIELD) if name in mapped}
    values = typed_values(frame.pop("values_json"), wanted)
    blank = pd.Series("", index=frame.index, dtype=object)
    frame["status"] = _text(values.get(RESIDENT_STATUS_FIELD, blank))
    frame["nationality"] = _text(values.get(NATIONALITY_FIELD, blank))
    for column in _MASTER_COLUMNS:
        if column != "birth_date":
            frame[column] = _text(frame[column])
    frame["birth_date"] = pd.to_datetime(frame["birth_date"], errors="coerce")
    living = frame["status"].isin(_LIVING).to_numpy() & (frame["resident_id"] != "").to_numpy()
    return frame[living].drop_duplicates("resident_id").reset_index(drop=True)


def _address_codes(addresses: pd.Series) -> np.ndarray:
    """An int per distinct address (NFKC, spaces removed); -1 for a blank address."""
    raw_codes, uniques = pd.factorize(addresses.to_numpy(dtype=object))
    folded = ["".join(unicodedata.normalize("NFKC", str(text)).split()) for text in uniques]
    codes, _ = pd.factorize(np.array([text or None for text in folded] + [None], dtype=object))
    return codes[raw_codes].astype(np.int64)  # raw code -1 (missing) takes the last entry, -1


def household_view(master: pd.DataFrame, reference_date: pd.Timestamp) -> pd.DataFrame:
    """One row per resident (row i = person code i): resident_id, household_id, age,
    is_child, role, household and address (int codes; address -1 when blank).

    Same roles as :func:`macros_py.link.households.household_members`.
    """
    relationship = master["relationship"]
    age = age_in_years(master["birth_date"], reference_date)
    is_child = ((age <= CHILD_MAX_AGE) & (age >= 0)).to_numpy()
    household = pd.factorize(master["household_id"].to_numpy(dtype=object))[0].astype(np.int64)
    has_children = np.bincount(household[is_child], minlength=household.max() + 1 if len(household) else 0)
    codes, kinds = pd.factorize(relationship.to_numpy(dtype=object))  # a handful of 続柄 texts
    kinds = pd.Series(list(kinds) + [""], dtype=object)
    grand = kinds.str.contains("|".join(GRANDPARENT_WORDS)).to_numpy(dtype=bool)[codes]
    parentish = kinds.str.contains("|".join(PARENT_WORDS)).to_numpy(dtype=bool)[codes] & ~grand
    role = np.select(
        [is_child, ~is_child & grand, ~is_child & parentish & (has_children[household] > 0)],
        ["child", "grandparent", "guardian"],
        default="other",
    )
    return pd.DataFrame(
        {
            "resident_id": pd.Series(master["resident_id"].to_numpy(dtype=object), dtype=object),
            "household_id": pd.Series(master["household_id"].to_numpy(dtype=object), dtype=object),
            "age": age.to_numpy(),
            "is_child": is_child,
            "role": pd.Series(role, dtype=object),
            "household": household,
            "address": _address_codes(master["address"]),
        }
    )


def _named_households(members: pd.DataFrame, records: pd.DataFrame) -> np.ndarray:
    """Households (int codes) with a member named in the records."""
    return np.unique(members.loc[members["resident_id"].isin(records["resident_id"]), "household"].to_numpy())


def _household_groups(members: pd.DataFrame, master: pd.DataFrame, disabled: pd.DataFrame) -> pd.DataFrame:
    """Per household code: single_parent, large_family, foreign, disability_household."""
    count = int(members["household"].max()) + 1 if len(members) else 0
    household = members["household"].to_numpy()

    def per_household(flags: np.ndarray) -> np.ndarray:
        return np.bincount(household, weights=flags.astype(float), minlength=count)

    children = per_household(members["is_child"].to_numpy())
    guardians = per_household((members["role"] == "guardian").to_numpy())
    foreign = per_household(~master["nationality"].isin(_DOMESTIC).to_numpy())
    disability = np.zeros(count, dtype=bool)
    disability[_named_households(members, disabled)] = True
    return pd.DataFrame(
        {
            "household_foreign": foreign > 0,
            "disability_household": disability,
            "single_parent": (children > 0) & (guardians == 1),
            "large_family": children >= 3,
        }
    )


def population_sources(mapping: MappingConfig, *, opt_out_source_id: str) -> list[str]:
    """Sources the population reads besides the resident source (opt-out, disability, school)."""
    school = [
        source.source_id
        for source in mapping.sources
        if source.enabled
        and {c.target for c in mapping.columns_of(source.source_id)} & {"学校", "学年", "組"}
    ]
    return [opt_out_source_id, *DISABILITY_SOURCES, *school]


def school_of_children(cache: SourceCache, children: pd.Index) -> pd.DataFrame:
    """学校, 学年, 組 per child from the linked records of sources that map them.

    Sources are read in 取込設定 order; the first non-blank value per child wins (the
    学齢簿 comes before the school systems in the defaults), each column separately.
    """
    # plain arrays filled by position (children's positions looked up once per source)
    found = {c: np.full(len(children), None, dtype=object) for c in SCHOOL_COLUMNS}
    for source in cache.mapping.sources:
        labels = {c.target for c in cache.mapping.columns_of(source.source_id)}
        if not ({"学校", "学年", "組"} & labels) or not source.enabled:
            continue
        records = cache.current(source.source_id)
        # children's hash table is built once for all sources (an isin per source re-built it)
        of_child = children.get_indexer(records["resident_id"].to_numpy(dtype=object)) >= 0
        records = records[of_child].sort_values("extract_date", kind="stable")
        latest = records.drop_duplicates("resident_id", keep="last")
        position = children.get_indexer(latest["resident_id"].to_numpy(dtype=object))
        for column in SCHOOL_COLUMNS:
            values = latest[column].to_numpy(dtype=object)
            given = ~pd.isna(values) & (values != "")
            target, values = position[given], values[given]
            still_open = pd.isna(found[column][target])
            found[column][target[still_open]] = values[still_open]
    result = pd.DataFrame({c: pd.Series(found[c], index=children, dtype=object) for c in SCHOOL_COLUMNS})
    result["school"] = _text(result["school"])
    result["class_name"] = _text(result["class_name"])
    result["grade"] = pd.to_numeric(result["grade"], errors="coerce").astype(float)
    return result


def build_population(
    cache: SourceCache,
    *,
    reference_date: pd.Timestamp,
    resident_source_id: str,
    opt_out_source_id: str = "opt_out",
) -> Population:
    """Children aged 0–18 and the household view, with opted-out families removed first.

    Args:
        cache: the run's source cache (store and mapping).
        reference_date: 基準日.
        resident_source_id: the resident source (住民記録).
        opt_out_source_id: the 不同意書 source; absent from the mapping → nobody opted out.
    """
    extra = [c for c in _MASTER_COLUMNS if c not in RECORD_COLUMNS]
    master = resident_master(
        cache.store,
        source_id=resident_source_id,
        mapping=cache.mapping,
        records=cache.resident_rows(extra) if cache.resident_source_id == resident_source_id else None,
    )
    members = household_view(master, reference_date)
    out = _named_households(members, cache.current(opt_out_source_id))
    removed = np.isin(members["household"].to_numpy(), out)
    opted_out = int((removed & members["is_child"].to_numpy()).sum())
    master, members = master[~removed].reset_index(drop=True), members[~removed].reset_index(drop=True)
    disabled = pd.concat([cache.current(source)[["resident_id"]] for source in DISABILITY_SOURCES])
    groups = _household_groups(members, master, disabled)
    children = _children_frame(master, members, groups, reference_date)
    school = school_of_children(cache, children.index)
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
    household = groups.iloc[members.loc[child, "household"].to_numpy()].reset_index(drop=True)
    own_foreign = ~frame["nationality"].isin(_DOMESTIC).to_numpy()
    frame["foreign"] = own_foreign | household["household_foreign"].to_numpy(dtype=bool)
    for column in ("single_parent", "disability_household", "large_family"):
        frame[column] = household[column].to_numpy(dtype=bool)
    # object, not pandas' Arrow text: every isin/get_indexer on it would loop in Python
    index = pd.Index(frame["resident_id"].to_numpy(dtype=object), dtype=object, name="resident_id")
    return frame.set_index(index).sort_index()
