"""Known answers for the per-person aggregation and the scope step, on tiny frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from macros_py.indicators.aggregate import (
    aggregate_per_person,
    change_per_person,
    kept_records,
    numeric_values,
)
from macros_py.indicators.conditions import parse_condition
from macros_py.indicators.scopes import scoped_values

REFERENCE = pd.Timestamp("2025-11-30")

RECORDS = pd.DataFrame(
    {
        "record_id": [1, 2, 3, 4, 5],
        "resident_id": ["a", "a", "a", "b", "c"],
        "extract_date": pd.to_datetime(["2025-11-30"] * 5),
        "日": pd.to_datetime(["2025-01-10", "2025-06-01", "2024-01-01", "2025-11-01", None]),
        "点": [4.0, 9.0, 1.0, np.nan, 7.0],
        "旗": pd.array([True, False, True, None, False], dtype="boolean"),
    }
)


def _aggregate(aggregation, records=RECORDS, **options):
    return aggregate_per_person(records, aggregation=aggregation, **options).sort_index().to_dict()


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [
        ("any", {"a": 1.0, "b": 1.0, "c": 1.0}),
        ("count", {"a": 3.0, "b": 1.0, "c": 1.0}),
        ("max", {"a": 9.0, "c": 7.0}),  # b's only value is missing: no value
        ("min", {"a": 1.0, "c": 7.0}),
        ("sum", {"a": 14.0, "c": 7.0}),
        ("none_in_period", {"a": 0.0, "b": 0.0, "c": 0.0}),
    ],
)
def test_aggregations(aggregation, expected):
    assert _aggregate(aggregation, value_field="点") == expected


def test_latest_takes_the_value_of_the_latest_dated_record():
    assert _aggregate("latest", value_field="点", date_field="日") == {"a": 9.0, "c": 7.0}
    # without a date field: extract date, then record id (the last row of a)
    assert _aggregate("latest", value_field="点") == {"a": 1.0, "c": 7.0}


def test_flags_add_up_as_numbers():
    assert numeric_values(RECORDS["旗"]).tolist()[:3] == [1.0, 0.0, 1.0]
    assert np.isnan(numeric_values(RECORDS["旗"]).iloc[3])
    assert _aggregate("sum", value_field="旗") == {"a": 2.0, "c": 0.0}


def test_period_and_record_condition():
    kept = kept_records(
        RECORDS,
        condition=parse_condition("点 >= 4"),
        date_field="日",
        period_days=365,
        reference_date=REFERENCE,
    )
    # 2024-01-01 is outside the year, c's record has no date, b's 点 is missing
    assert kept["record_id"].tolist() == [1, 2]
    everything = kept_records(
        RECORDS, condition=parse_condition(""), date_field="", period_days=None, reference_date=REFERENCE
    )
    assert len(everything) == 5


def test_a_date_after_the_reference_date_is_outside_the_period():
    future = RECORDS.assign(日=pd.to_datetime(["2026-01-01"] * 5))
    kept = kept_records(
        future, condition=parse_condition(""), date_field="日", period_days=3650, reference_date=REFERENCE
    )
    assert kept.empty


def test_change_needs_both_extracts():
    previous = pd.DataFrame({"resident_id": ["a", "c", "d"], "点": [10.0, 7.0, 3.0]})
    change = change_per_person(RECORDS, previous, value_field="点").sort_index().to_dict()
    assert change == {"a": 4.0, "c": 0.0}  # d left, b has no value now


PAIRS = pd.DataFrame({"child_id": ["x", "x", "y", "y", "z"], "person_id": ["a", "b", "a", "c", "q"]})
CHILDREN = pd.Index(["x", "y", "z", "w"])


@pytest.mark.parametrize(
    ("combine", "missing", "expected"),
    [
        ("max", None, {"x": 5.0, "y": 5.0}),
        ("min", None, {"x": 2.0, "y": 1.0}),
        ("sum", None, {"x": 7.0, "y": 6.0}),
        # 期間内になし: a person of the scope without a record counts as 1
        ("max", 1.0, {"x": 5.0, "y": 5.0, "z": 1.0}),
    ],
)
def test_scope_combinations(combine, missing, expected):
    person_values = pd.Series({"a": 5.0, "b": 2.0, "c": 1.0})
    combined = scoped_values(
        person_values, PAIRS, children=CHILDREN, combine=combine, missing_person_value=missing
    )
    assert list(combined.index) == list(CHILDREN)
    assert combined.dropna().to_dict() == expected  # w has nobody in the scope: no value


def test_none_in_period_over_guardians_hits_when_any_guardian_lacks_a_record():
    person_values = pd.Series({"a": 0.0})  # a has a record, b does not
    combined = scoped_values(
        person_values,
        PAIRS[PAIRS.child_id == "x"],
        children=pd.Index(["x"]),
        combine="max",
        missing_person_value=1.0,
    )
    assert combined.to_dict() == {"x": 1.0}
