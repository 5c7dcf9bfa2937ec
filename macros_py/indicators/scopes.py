"""From people to children: the scopes 本人, 世帯, 保護者, きょうだい (SCORING.md §2 step 3).

A scope is a table of child → person pairs built once per run from the household view;
an item's per-person values are mapped onto the pairs and combined per child with max
(有無, 最大, 最新, 期間内になし, 前回差), min (最小) or sum (件数, 合計).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.link.households import guardians, same_address_households, siblings

__all__ = ["COMBINE", "scope_pairs", "scoped_values"]

COMBINE: dict[str, str] = {
    "any": "max",
    "count": "sum",
    "max": "max",
    "min": "min",
    "sum": "sum",
    "latest": "max",
    "none_in_period": "max",
    "change": "max",
}


def _pairs(child_ids: np.ndarray, person_ids: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"child_id": child_ids.astype(object), "person_id": person_ids.astype(object)})


def _household_pairs(members: pd.DataFrame, kids: pd.DataFrame) -> pd.DataFrame:
    """Every member of the child's household and of households at the same address."""
    households = kids["household_id"].unique()
    own = pd.DataFrame({"household_id": households, "related_household_id": households})
    related = same_address_households(members)[["household_id", "related_household_id"]]
    reach = pd.concat([own, related[related["household_id"].isin(households)]], ignore_index=True)
    people = members[["resident_id", "household_id"]].rename(
        columns={"resident_id": "person_id", "household_id": "related_household_id"}
    )
    pairs = kids.merge(reach, on="household_id").merge(people, on="related_household_id")
    pairs = pairs.drop_duplicates(["resident_id", "person_id"])
    return _pairs(pairs["resident_id"].to_numpy(), pairs["person_id"].to_numpy())


def scope_pairs(members: pd.DataFrame, children: pd.Index) -> dict[str, pd.DataFrame]:
    """Child → person pairs (columns child_id, person_id) for each scope.

    Args:
        members: the household view (resident_id, household_id, is_child, role, address_key).
        children: the children's resident ids.

    Returns:
        ``self`` (the child), ``household`` (members of the child's household and of the
        households at the same address: 世帯分離), ``guardians``, ``siblings``.
    """
    kids = members.loc[members["resident_id"].isin(children), ["resident_id", "household_id"]]
    guardian = guardians(members)
    sibling = siblings(members)
    guardian = guardian[guardian["resident_id"].isin(children)]
    sibling = sibling[sibling["resident_id"].isin(children)]
    return {
        "self": _pairs(kids["resident_id"].to_numpy(), kids["resident_id"].to_numpy()),
        "household": _household_pairs(members, kids),
        "guardians": _pairs(guardian["resident_id"].to_numpy(), guardian["guardian_id"].to_numpy()),
        "siblings": _pairs(sibling["resident_id"].to_numpy(), sibling["sibling_id"].to_numpy()),
    }


def scoped_values(
    person_values: pd.Series,
    pairs: pd.DataFrame,
    *,
    children: pd.Index,
    combine: str,
    missing_person_value: float | None = None,
) -> pd.Series:
    """Per-child value: the values of the child's people in the scope, combined.

    Args:
        person_values: float per person (index resident_id).
        pairs: child_id, person_id pairs of the scope.
        children: the index of the result.
        combine: ``max``, ``min`` or ``sum``.
        missing_person_value: value of a person in the scope without one (1.0 for
            期間内になし: that person has no such record); ``None`` leaves them out.

    Returns:
        float per child; NaN where no person of the scope has a value.
    """
    values = person_values.reindex(pairs["person_id"].to_numpy()).to_numpy(dtype=float)
    if missing_person_value is not None:
        values = np.where(np.isnan(values), missing_person_value, values)
    frame = pd.DataFrame({"child_id": pairs["child_id"].to_numpy(), "value": values}).dropna()
    grouped = frame.groupby("child_id", sort=False)["value"]
    combined = grouped.sum() if combine == "sum" else getattr(grouped, combine)()
    return combined.reindex(children).astype(float)
