"""compute_items with the default 判定ルール on a village imported and linked for real.

Every enabled default item is computed (or, for 前回差 on a store with one extract,
listed as unavailable with the reason), and the 19 national basic items all exist.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from macros_py.config.defaults import default_table
from macros_py.indicators.compute import compute_items
from macros_py.indicators.rules import parse_item_rules
from macros_py.ingest.mapping import parse_mapping_tables
from macros_py.store import open_store
from macros_py.store.tables_ingest import records


@pytest.fixture(scope="module")
def linked_village(linked_village_template, tmp_path_factory) -> tuple[Path, pd.Timestamp]:
    """The village imported and linked once per session (a copy of conftest's template, read-only here)."""
    village = tmp_path_factory.mktemp("items") / "village"
    linked_village_template.copy_to(village)
    reference = pd.Timestamp(
        json.loads((village / "truth" / "meta.json").read_text("utf-8"))["reference_date"][:10]
    )
    return village / "mimamori.db", reference


def _default_results(store_path: Path, reference: pd.Timestamp, opt_out_source_id: str = "opt_out"):
    mapping = parse_mapping_tables(
        {key: default_table(key) for key in ("sources", "column_mappings", "code_tables")}
    )
    type_names = list(default_table("hardship_types")["類型"])
    rules = parse_item_rules(default_table("item_rules"), type_names=type_names, mapping=mapping)
    store = open_store(store_path)
    try:
        results = compute_items(
            store,
            rules=rules,
            mapping=mapping,
            reference_date=reference,
            resident_source_id="jumin",
            opt_out_source_id=opt_out_source_id,
        )
    finally:
        store.dispose()
    return rules, results


def test_default_items_on_a_linked_village(linked_village):
    rules, results = _default_results(*linked_village)
    enabled = [rule.item_id for rule in rules if rule.enabled]
    status = results.item_status.set_index("item_id")
    assert list(status.index) == enabled
    unavailable = status[~status["available"]]
    # one extract per source: only the comparison with the previous extract is missing
    assert list(unavailable.index) == [rule.item_id for rule in rules if rule.aggregation == "change"]
    assert unavailable["note"].str.contains("前回").all()
    assert list(results.hits.columns) == [item for item in enabled if item not in unavailable.index]
    assert list(results.values.columns) == list(results.hits.columns)
    assert {rule.basic_item_no for rule in rules if rule.basic_item_no} == set(range(1, 20))
    # the village data reaches the core items (not all zeros)
    for item in ("b12_absence30", "b18_seiho", "b19_jifu", "single_parent", "kaigo_household"):
        assert results.hits[item].any(), item
    children = results.children
    assert children.index.is_monotonic_increasing and children.index.is_unique
    assert children["age"].between(0, 18).all()
    assert (children["school"] != "").any()
    assert results.hits.dtypes.eq(bool).all()
    assert status["extract_date"].notna().all()


def test_opted_out_children_leave_no_trace(linked_village):
    store_path, reference = linked_village
    store = open_store(store_path)
    try:
        with store.engine.connect() as connection:
            named = set(
                connection.execute(
                    select(records.c.resident_id).where(
                        records.c.source_id == "opt_out", records.c.resident_id.isnot(None)
                    )
                ).scalars()
            )
            households = set(
                connection.execute(
                    select(records.c.household_id).where(
                        records.c.source_id == "jumin", records.c.resident_id.in_(named)
                    )
                ).scalars()
            )
    finally:
        store.dispose()
    assert named, "the village has 不同意書 records"
    _, results = _default_results(store_path, reference)
    _, everyone = _default_results(store_path, reference, opt_out_source_id="no_such_source")
    in_opted_households = everyone.children["household_id"].isin(households)
    assert results.opted_out == int(in_opted_households.sum()) > 0
    assert list(results.children.index) == list(everyone.children.index[~in_opted_households])
    assert not set(results.children["household_id"]) & households
    assert not set(results.children.index) & named
