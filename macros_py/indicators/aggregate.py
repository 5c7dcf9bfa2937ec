"""Per-person aggregation of the records an item looks at (docs/dev/SCORING.md §2 step 2).

Pure functions over record frames (one row per linked record, ``resident_id`` text):
filter by 記録条件 and period, then one value per person. Everything is a groupby; no
loop over people or records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.indicators.conditions import Condition

__all__ = [
    "aggregate_per_person",
    "change_per_person",
    "kept_records",
    "numeric_values",
]


def numeric_values(values: pd.Series) -> pd.Series:
    """A value column as float: numbers as they are, flags as 1.0/0.0, anything else NaN."""
    if pd.api.types.is_bool_dtype(values.dtype) or str(values.dtype) == "boolean":
        missing = values.isna().to_numpy()
        numbers = values.fillna(False).to_numpy(dtype=bool).astype(float)
        numbers[missing] = np.nan
        return pd.Series(numbers, index=values.index)
    return pd.to_numeric(values, errors="coerce").astype(float)


def kept_records(
    records: pd.DataFrame,
    *,
    condition: Condition,
    date_field: str,
    period_days: int | None,
    reference_date: pd.Timestamp,
) -> pd.DataFrame:
    """Records meeting the 記録条件 and, with a period, dated within it before 基準日.

    A record without a date is outside any period; a date after 基準日 is too.
    """
    keep = condition.evaluate(
        {name: records[name] for name in condition.fields if name in records.columns},
        reference_date=reference_date,
        length=len(records),
    )
    if period_days is not None:
        dates = pd.to_datetime(records[date_field], errors="coerce")
        start = reference_date - pd.Timedelta(days=period_days)
        keep &= ((dates > start) & (dates <= reference_date)).fillna(False).to_numpy(dtype=bool)
    return records[keep]


def _latest(records: pd.DataFrame, value_field: str, date_field: str, key: str) -> pd.Series:
    """Value of each person's record with the latest date (extract date, then record id)."""
    order = [column for column in (date_field, "extract_date", "record_id") if column and column in records]
    ordered = records.sort_values(order, na_position="first", kind="stable")
    last = ordered.drop_duplicates(key, keep="last")
    return pd.Series(numeric_values(last[value_field]).to_numpy(), index=last[key].to_numpy())


def aggregate_per_person(
    records: pd.DataFrame,
    *,
    aggregation: str,
    value_field: str = "",
    date_field: str = "",
    key: str = "resident_id",
) -> pd.Series:
    """One float per person (index resident_id) from the kept records.

    ``any`` → 1.0; ``count`` → the number of records; ``max``/``min``/``sum`` of the
    value field (records without a value ignored); ``latest`` → the value of the latest
    record; ``none_in_period`` → 0.0 for every person with a record (people without one
    are filled with 1.0 by the scope step). ``change`` is :func:`change_per_person`.
    Persons whose value is missing are left out. ``key`` names the person column.
    """
    people = records[key]
    if aggregation == "any":
        return pd.Series(1.0, index=pd.unique(people.to_numpy()))
    if aggregation == "none_in_period":
        return pd.Series(0.0, index=pd.unique(people.to_numpy()))
    if aggregation == "count":
        return people.value_counts().astype(float).rename(None).rename_axis(None)
    if aggregation == "latest":
        return _latest(records, value_field, date_field, key).dropna()
    values = pd.Series(numeric_values(records[value_field]).to_numpy(), index=people.to_numpy())
    grouped = values.dropna().groupby(level=0)
    if aggregation in ("max", "min"):
        return getattr(grouped, aggregation)()
    if aggregation == "sum":
        return grouped.sum()
    raise ValueError(f"unknown aggregation {aggregation!r}")


def change_per_person(
    current: pd.DataFrame, previous: pd.DataFrame, *, value_field: str, key: str = "resident_id"
) -> pd.Series:
    """合計 of the value field now minus 合計 in the previous extract, per person.

    Only people with a value in both extracts get one: someone new to the source (a
    pupil who moved in) has no earlier figure to compare with.
    """
    now = aggregate_per_person(current, aggregation="sum", value_field=value_field, key=key)
    before = aggregate_per_person(previous, aggregation="sum", value_field=value_field, key=key)
    both = now.index.intersection(before.index)
    return (now.loc[both] - before.loc[both]).astype(float)
