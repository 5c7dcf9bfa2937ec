"""Linkage accuracy and speed on synthetic municipalities with known truth.

Run: ``.venv/bin/python bench/bench_link.py --profile town --seed 1`` (also ``city``,
``metro``). Generates the municipality, imports every export, runs the ``link``
action, and scores each source against ``truth/records.csv``: precision of automatic
links, recall (share of records of residents that end linked to the right resident
automatically or by number), share sent to review, and link time.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import pandas as pd

from macros_py.actions import ActionContext
from macros_py.config.defaults import default_tables
from macros_py.ingest.importer import import_sources
from macros_py.ingest.mapping import parse_mapping_tables
from macros_py.ingest.query import current_records
from macros_py.ingest.readers import BUILTIN_READERS
from macros_py.link.action import link_action
from macros_py.link.query import current_links
from macros_py.synth import generate_municipality


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="town")
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        meta = generate_municipality(arguments.profile, seed=arguments.seed, out_dir=root)
        print(f"synth {arguments.profile} seed {arguments.seed}: {time.perf_counter() - started:.1f} s")
        tables = default_tables()
        settings = tables["settings"]
        settings.loc[settings["項目"] == "基準日", "値"] = str(meta.get("reference_date", ""))[:10]
        settings.loc[settings["項目"] == "取込フォルダ", "値"] = str(root / "exports")
        context = ActionContext(tables=tables, workbook_dir=root, user_name="bench")
        started = time.perf_counter()
        import_sources(
            context.store,
            parse_mapping_tables(tables),
            root / "exports",
            {reader.format: reader for reader in BUILTIN_READERS},
            "bench",
            context.reference_date().date(),
        )
        print(f"import: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        result = link_action(context)
        link_seconds = time.perf_counter() - started
        print(f"link (all sources): {link_seconds:.1f} s  ok={result.ok}")
        links = current_links(context.store)
        records = current_records(context.store)[["record_id", "source_id", "file_name", "row_number"]]
        truth = pd.read_csv(root / "truth" / "records.csv", dtype=str)
        persons = pd.read_csv(root / "truth" / "persons.csv", dtype=str, keep_default_na=False)
        truth = truth.merge(persons[["person_id", "resident_id"]], on="person_id", how="left")
        truth["row"] = truth["row"].astype(int)
        records["file"] = records["file_name"].astype(str).str.replace("\\\\", "/", regex=False)
        joined = links.merge(records, on=["record_id", "source_id"], how="left")
        joined["file_base"] = joined["file"].str.split("/").str[-1]
        truth["file_base"] = truth["file"].str.split("/").str[-1]
        joined = joined.merge(
            truth[["source_id", "file_base", "row", "resident_id"]].rename(
                columns={"resident_id": "true_resident"}
            ),
            left_on=["source_id", "file_base", "row_number"],
            right_on=["source_id", "file_base", "row"],
            how="left",
        )
        joined["true_resident"] = joined["true_resident"].fillna("")
        joined["resident_id"] = joined["resident_id"].fillna("")
        print(
            f"{'source':22} {'records':>7} {'exact':>6} {'xwalk':>5} {'auto':>6} {'review':>6} {'none':>5} {'confl':>5} {'auto P':>7} {'recall':>7} {'review%':>7}"
        )
        for source_id, group in joined.groupby("source_id"):
            automatic = group[group["outcome"].isin(["auto"])]
            linked = group[group["outcome"].isin(["auto", "exact", "crosswalk"])]
            precision = (
                (automatic["resident_id"] == automatic["true_resident"]).mean()
                if len(automatic)
                else float("nan")
            )
            residents = group[group["true_resident"] != ""]
            recall = (
                (
                    residents["outcome"].isin(["auto", "exact", "crosswalk"])
                    & (residents["resident_id"] == residents["true_resident"])
                ).mean()
                if len(residents)
                else float("nan")
            )
            counts = group["outcome"].value_counts()
            review_share = (counts.get("review", 0) + counts.get("conflict", 0)) / len(group)
            print(
                f"{source_id:22} {len(group):7d} {counts.get('exact', 0):6d} {counts.get('crosswalk', 0):5d} {counts.get('auto', 0):6d} "
                f"{counts.get('review', 0):6d} {counts.get('none', 0):5d} {counts.get('conflict', 0):5d} "
                f"{precision:7.4f} {recall:7.4f} {review_share:7.2%}"
            )
            del linked


if __name__ == "__main__":
    main()
