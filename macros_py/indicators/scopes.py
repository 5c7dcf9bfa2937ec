"""From people to children: the scopes 本人, 世帯, 保護者, きょうだい (SCORING.md §2 step 3).

A scope is a table of child → person pairs (int codes) built once per run from the
household view, with the same roles as :mod:`macros_py.link.households`;
an item's per-person values are mapped onto the pairs and combined per child with max
(有無, 最大, 最新, 期間内になし, 前回差), min (最小) or sum (件数, 合計).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["COMBINE", "MAX_HOUSEHOLDS_PER_ADDRESS", "related_households", "scope_pairs", "scoped_values"]

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


# An address shared by more households than this is an institution or a block written
# without room numbers, not a household split (世帯分離): it links no households.
MAX_HOUSEHOLDS_PER_ADDRESS = 4


def _pairs(child: np.ndarray, person: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"child_id": np.asarray(child, np.int64), "person_id": np.asarray(person, np.int64)})


def related_households(members: pd.DataFrame) -> pd.DataFrame:
    """household → related (int codes), itself included, plus households at the same
    address (世帯分離) when at most :data:`MAX_HOUSEHOLDS_PER_ADDRESS` share it."""
    places = members.loc[members["address"] >= 0, ["household", "address"]].drop_duplicates()
    sharing = places.groupby("address")["household"].transform("size")
    places = places[(sharing > 1) & (sharing <= MAX_HOUSEHOLDS_PER_ADDRESS)]
    pairs = places.merge(places, on="address", suffixes=("", "_related"))
    own = np.unique(members["household"].to_numpy())
    return pd.concat(
        [
            pd.DataFrame({"household": own, "related": own}),
            pd.DataFrame(
                {"household": pairs["household"].to_numpy(), "related": pairs["household_related"].to_numpy()}
            ),
        ],
        ignore_index=True,
    ).drop_duplicates()


def scope_pairs(members: pd.DataFrame, children: np.ndarray) -> dict[str, pd.DataFrame]:
    """Child → person pairs (columns child_id, person_id) for each scope, as int codes.

    Args:
        members: the household view (row i = person code i; columns household,
            address, is_child, role).
        children: person codes of the children; ``child_id`` is the position in it.

    Returns:
        ``self`` (the child), ``household`` (members of the child's household and of the
        households at the same address: 世帯分離), ``guardians`` (adults with the guardian
        role in the child's household), ``siblings`` (the other children of it).
    """
    household = members["household"].to_numpy()
    kids = pd.DataFrame(
        {"child_id": np.arange(len(children)), "household": household[children], "self": children}
    )
    people = pd.DataFrame({"person_id": np.arange(len(members)), "household": household})
    everyone = kids.merge(related_households(members), on="household").drop(columns="household")
    everyone = everyone.merge(people.rename(columns={"household": "related"}), on="related")
    same = kids.merge(people, on="household")
    guardian = same[members["role"].to_numpy()[same["person_id"].to_numpy()] == "guardian"]
    child_rows = members["is_child"].to_numpy(dtype=bool)[same["person_id"].to_numpy()]
    sibling = same[child_rows & (same["person_id"].to_numpy() != same["self"].to_numpy())]
    return {
        "self": _pairs(kids["child_id"].to_numpy(), children),
        "household": _pairs(everyone["child_id"].to_numpy(), everyone["person_id"].to_numpy()),
        "guardians": _pairs(guardian["child_id"].to_numpy(), guardian["person_id"].to_numpy()),
        "siblings": _pairs(sibling["child_id"].to_numpy(), sibling["person_id"].to_numpy()),
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
