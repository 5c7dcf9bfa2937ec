"""Linkage accuracy and speed on synthetic municipalities with known truth.

Run: ``.venv/bin/python bench/bench_link.py --profile town --seed 1`` (also ``city``,
``metro``). Generates the municipality (or reuses one: ``--dir /tmp/city``), imports
every export once (the imported store is cached beside the bench work folder, so a
second run links only), runs the ``link`` action on a fresh copy of that store, and
scores each source against ``truth/records.csv``:

* precision of automatic links (auto and roster), recall (share of records of residents
  that end linked to the right resident automatically, by number, by crosswalk or by
  roster), share sent to review;
* blocking recall: share of records with a true resident that reached probabilistic
  matching whose true resident was among the blocked candidate pairs;
* pairs compared per source; link time per stage (all sources are matched in one pass,
  so a stage's time covers every source) and in total; peak memory of the process.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from macros_py.actions import ActionContext, run_action
from macros_py.config.defaults import default_tables
from macros_py.ingest.query import current_records
from macros_py.link.action import current_source_records
from macros_py.link.arrays import isin_codes
from macros_py.link.blocking import block_pairs
from macros_py.link.match import MatchOptions, resident_model_config
from macros_py.link.pipeline import prepare_master, source_cohorts
from macros_py.link.prepare import prepare_people
from macros_py.link.query import current_links

_LINKED = ("auto", "exact", "crosswalk", "roster")
_AUTOMATIC = ("auto", "roster")


def _context(work: Path, exports: Path, reference_date: str) -> ActionContext:
    tables = default_tables()
    settings = tables["settings"]
    settings.loc[settings["項目"] == "基準日", "値"] = reference_date[:10]
    settings.loc[settings["項目"] == "取込フォルダ", "値"] = str(exports)
    return ActionContext(tables=tables, workbook_dir=work, user_name="bench")


def _truth(root: Path) -> pd.DataFrame:
    truth = pd.read_csv(root / "truth" / "records.csv", dtype=str)
    persons = pd.read_csv(root / "truth" / "persons.csv", dtype=str, keep_default_na=False)
    truth = truth.merge(persons[["person_id", "resident_id"]], on="person_id", how="left")
    truth["row"] = truth["row"].astype(int)
    truth["file_base"] = truth["file"].str.split("/").str[-1]
    return truth.rename(columns={"resident_id": "true_resident"})


def _with_truth(frame: pd.DataFrame, records: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    records = records[["record_id", "source_id", "file_name", "row_number"]].copy()
    records["file_base"] = records["file_name"].astype(str).str.replace("\\", "/").str.split("/").str[-1]
    joined = frame.merge(records, on=["record_id", "source_id"], how="left")
    joined = joined.merge(
        truth[["source_id", "file_base", "row", "true_resident"]],
        left_on=["source_id", "file_base", "row_number"],
        right_on=["source_id", "file_base", "row"],
        how="left",
    )
    joined["true_resident"] = joined["true_resident"].fillna("")
    return joined


def _blocking_recall(
    store, joined: pd.DataFrame, resident_source: str, reference_date: pd.Timestamp
) -> dict[str, tuple[int, float]]:
    """Per source: (records matched probabilistically with a true resident, blocking recall)."""
    records = current_source_records(store)
    master_raw = records[records["source_id"] == resident_source].reset_index(drop=True)
    master = prepare_master(master_raw)
    options = MatchOptions(reference_date=reference_date)
    position = pd.Series(np.arange(len(master)), index=master_raw["resident_id"].astype(str))
    position = position[~position.index.duplicated()]
    config = resident_model_config()
    fuzzy = joined[joined["method"] == "確率的照合"]
    out = {}
    for source_id, group in fuzzy.groupby("source_id"):
        group = group[group["true_resident"].isin(position.index)]
        raw = records[records["record_id"].isin(group["record_id"])].reset_index(drop=True)
        if raw.empty:
            continue
        prepared = prepare_people(raw)
        prepared["cohort"] = pd.Series(source_cohorts(prepared, raw, options), dtype=object)
        left, right = block_pairs(
            prepared, master, config.blocking, config.max_block_size, config.max_partners
        )
        true_resident = raw[["record_id"]].merge(group[["record_id", "true_resident"]], on="record_id")
        true_right = true_resident["true_resident"].map(position).to_numpy(np.int64)
        found = isin_codes(np.arange(len(raw)) * len(master) + true_right, left * len(master) + right)
        out[source_id] = (len(raw), float(found.mean()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="town")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, help="an already generated municipality (mimamori synth --out)")
    parser.add_argument("--work", type=Path, help="bench work folder (default /tmp/bench_link_PROFILE_SEED)")
    parser.add_argument("--no-blocking-recall", action="store_true")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = arguments.work or Path(f"/tmp/bench_link_{arguments.profile}_{arguments.seed}")
    root = arguments.dir or work / "municipality"
    if not (root / "truth" / "meta.json").exists():
        from macros_py.synth import generate_municipality

        started = time.perf_counter()
        generate_municipality(arguments.profile, seed=arguments.seed, out_dir=root)
        print(f"synth {arguments.profile} seed {arguments.seed}: {time.perf_counter() - started:.1f} s")
    meta = json.loads((root / "truth" / "meta.json").read_text(encoding="utf-8"))
    reference_date = str(meta.get("reference_date", ""))
    imported = work / "imported"
    if not (imported / "mimamori.db").exists():
        imported.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        result = run_action("import", _context(imported, root / "exports", reference_date))
        print(f"import: {time.perf_counter() - started:.1f} s  ok={result.ok}")
    run_dir = work / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    shutil.copy(imported / "mimamori.db", run_dir / "mimamori.db")
    context = _context(run_dir, root / "exports", reference_date)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_started = time.process_time()
    started = time.perf_counter()
    result = run_action("link", context)
    link_seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_seconds = (children.ru_utime + children.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    sources = result.summary.get("sources", {})
    print(
        f"link ({arguments.profile}, {len(sources)} sources, "
        f"{sum(s['records'] for s in sources.values())} records): {link_seconds:.2f} s  ok={result.ok}"
    )
    print(f"  stages: {json.dumps(result.summary.get('stages', {}), ensure_ascii=False)}")
    # The only process a link run starts is the normalisation worker, a fresh
    # interpreter (python -m macros_py.link.keys_worker): the path Windows takes.
    print(
        f"  cpu: {cpu_seconds:.1f} s in this process, {worker_seconds:.1f} s in the normalisation worker "
        f"(a fresh interpreter, as on Windows; no fork)"
    )
    print(
        f"peak memory: {rss_after / 1024:.0f} MB (before link {rss_before / 1024:.0f} MB); "
        f"worker peak {children.ru_maxrss / 1024:.0f} MB"
    )
    links = current_links(context.store)
    records = current_records(context.store)
    joined = _with_truth(links, records, _truth(root))
    recall_by_source = (
        {}
        if arguments.no_blocking_recall
        else _blocking_recall(context.store, joined, "jumin", context.reference_date())
    )
    header = (
        f"{'source':18} {'records':>7} {'exact':>6} {'xwalk':>5} {'roster':>6} {'auto':>6} {'review':>6} "
        f"{'none':>5} {'confl':>5} {'auto P':>7} {'recall':>7} {'review%':>7} {'block R':>7} "
        f"{'pairs':>8}"
    )
    print(header)
    worst = {"precision": 1.0, "recall": 1.0, "review": 0.0}
    for source_id, group in joined.groupby("source_id"):
        automatic = group[group["outcome"].isin(_AUTOMATIC)]
        precision = (
            (automatic["resident_id"] == automatic["true_resident"]).mean()
            if len(automatic)
            else float("nan")
        )
        residents = group[group["true_resident"] != ""]
        recall = (
            (
                residents["outcome"].isin(_LINKED) & (residents["resident_id"] == residents["true_resident"])
            ).mean()
            if len(residents)
            else float("nan")
        )
        counts = group["outcome"].value_counts()
        review_share = (counts.get("review", 0) + counts.get("conflict", 0)) / len(group)
        stats = sources.get(source_id, {})
        fuzzy, block_recall = recall_by_source.get(source_id, (0, float("nan")))
        print(
            f"{source_id:18} {len(group):7d} {counts.get('exact', 0):6d} {counts.get('crosswalk', 0):5d} "
            f"{counts.get('roster', 0):6d} {counts.get('auto', 0):6d} {counts.get('review', 0):6d} "
            f"{counts.get('none', 0):5d} {counts.get('conflict', 0):5d} {precision:7.4f} {recall:7.4f} "
            f"{review_share:7.2%} {block_recall:7.4f} {stats.get('pairs', 0):8d}"
        )
        if len(automatic):
            worst["precision"] = min(worst["precision"], precision)
        if len(residents):
            worst["recall"] = min(worst["recall"], recall)
        worst["review"] = max(worst["review"], review_share)
    print(
        f"worst source: auto precision {worst['precision']:.4f}, recall {worst['recall']:.4f}, "
        f"review {worst['review']:.2%}; link time {link_seconds:.2f} s"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
