"""End to end on the synthetic village: import every export, link, score against the truth."""

from __future__ import annotations

import pandas as pd
import pytest

from macros_py.ingest.query import current_records
from macros_py.link.query import current_links
from macros_py.store import open_store

AUTOMATIC = ("auto", "roster")
LINKED = ("exact", "crosswalk", "roster", "auto")


@pytest.fixture(scope="module")
def village_links(synthetic_village, linked_village_template, tmp_path_factory) -> tuple[pd.DataFrame, dict]:
    """Links and records of the session's village, imported and linked once (conftest's template,
    file mode with 基準日 = the extracts' date), joined to the truth; and the link run's summary."""
    workbook = linked_village_template.copy_to(tmp_path_factory.mktemp("link_e2e") / "village")
    store = open_store(workbook.parent / "mimamori.db")
    try:
        links = current_links(store)
        records = current_records(store)[["record_id", "source_id", "file_name", "row_number"]]
    finally:
        store.dispose()
    truth = pd.read_csv(synthetic_village / "truth" / "records.csv", dtype=str)
    persons = pd.read_csv(synthetic_village / "truth" / "persons.csv", dtype=str, keep_default_na=False)
    truth = truth.merge(persons[["person_id", "resident_id"]], on="person_id", how="left")
    truth = truth.rename(columns={"resident_id": "true_resident", "file": "file_name", "row": "row_number"})
    truth["row_number"] = truth["row_number"].astype(int)
    records["file_name"] = records["file_name"].astype(str).str.replace("\\", "/")
    joined = links.merge(records, on=["record_id", "source_id"]).merge(
        truth[["source_id", "file_name", "row_number", "true_resident"]],
        on=["source_id", "file_name", "row_number"],
        how="left",
    )
    joined["true_resident"] = joined["true_resident"].fillna("")
    joined["resident_id"] = joined["resident_id"].fillna("")
    return joined, linked_village_template.summary


def test_every_record_is_scored_against_the_truth(village_links):
    joined, summary = village_links
    assert len(joined) == sum(s["records"] for s in summary["sources"].values())
    assert joined["row_number"].notna().all()
    # Each record found its truth row (file and row as written), so the scores below mean something.
    assert (joined["true_resident"] != "").mean() > 0.9


def test_automatic_links_are_precise_in_every_source(village_links):
    joined, _ = village_links
    automatic = joined[joined["outcome"].isin(AUTOMATIC)]
    assert len(automatic) > 500
    precision = (
        (automatic["resident_id"] == automatic["true_resident"]).groupby(automatic["source_id"]).mean()
    )
    assert (precision >= 0.999).all(), precision.to_dict()


def test_most_residents_are_linked_and_few_go_to_review(village_links):
    joined, _ = village_links
    residents = joined[joined["true_resident"] != ""]
    recall = (
        residents["outcome"].isin(LINKED) & (residents["resident_id"] == residents["true_resident"])
    ).mean()
    assert recall >= 0.98
    review_share = joined["outcome"].isin(["review", "conflict"]).mean()
    assert review_share <= 0.02


def test_school_lists_without_birth_dates_link_through_the_class_roster(village_links):
    joined, summary = village_links
    assert summary["roster_anchor"] == "attendance"
    mental = joined[joined["source_id"] == "mental_check"]
    assert (mental["outcome"] == "roster").mean() > 0.9
    roster = joined[joined["outcome"] == "roster"]
    assert (roster["resident_id"] == roster["true_resident"]).all()
