"""FEBRL4 (link) and FEBRL3 (dedupe): our matcher, Splink and recordlinkage side by side.

Run: ``.venv/bin/python bench/bench_febrl.py`` (needs the ``bench`` extra). No labels are
used for training; every tool is scored pairwise against the true links, so pairs lost
at blocking count against recall. Prints one table row per task and tool.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np
import pandas as pd

from macros_py.link.engine import dedupe_frame, link_frames
from macros_py.link.fellegi_sunter import ModelConfig

warnings.filterwarnings("ignore")

FIELDS = [
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
]


def _score(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float, float]:
    true_positive = len(found & truth)
    precision = true_positive / len(found) if found else 0.0
    recall = true_positive / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _truth_pairs(links: pd.MultiIndex, dedupe: bool) -> set[tuple[str, str]]:
    pairs = set()
    for a, b in links:
        pairs.add(tuple(sorted((a, b))) if dedupe else (a, b))
    return pairs


# The model for FEBRL's columns, as data (the same structure the resident matcher uses).
FEBRL_MODEL = {
    "comparisons": [
        {"name": "given_name", "column": "given_name", "thresholds": [0.92, 0.8], "tf_adjust": True},
        {"name": "surname", "column": "surname", "thresholds": [0.92, 0.8], "tf_adjust": True},
        {"name": "date_of_birth", "column": "date_of_birth", "kind": "date"},
        {"name": "soc_sec_id", "column": "soc_sec_id", "thresholds": [0.85, 0.7], "scorer": "damerau"},
        {"name": "street_number", "column": "street_number", "thresholds": [0.6], "scorer": "damerau"},
        {"name": "address_1", "column": "address_1", "thresholds": [0.9, 0.7]},
        {"name": "address_2", "column": "address_2", "thresholds": [0.9, 0.7]},
        {"name": "suburb", "column": "suburb", "thresholds": [0.9, 0.7]},
        {"name": "postcode", "column": "postcode", "thresholds": [0.7], "scorer": "damerau"},
        {"name": "state", "column": "state", "kind": "exact"},
    ],
    "blocking": [["given_name"], ["surname"], ["postcode"], ["date_of_birth"]],
}


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for column in FIELDS:
        out[column] = frame[column].fillna("").astype(str).str.strip()
    return out.reset_index(drop=True)


def run_ours(task: str, frames) -> tuple[set, float]:
    start = time.perf_counter()
    config = ModelConfig.from_dict(FEBRL_MODEL)
    left = _prepare(frames[0])
    ids_left = frames[0].index.to_numpy()
    if task == "FEBRL4":
        pairs, _ = link_frames(config, left, _prepare(frames[1]))
        ids_right = frames[1].index.to_numpy()
        found = set(zip(ids_left[pairs["left"]], ids_right[pairs["right"]], strict=True))
    else:
        pairs, _ = dedupe_frame(config, left)
        found = {
            tuple(sorted(p)) for p in zip(ids_left[pairs["left"]], ids_left[pairs["right"]], strict=True)
        }
    return found, time.perf_counter() - start


def run_recordlinkage(task: str, frames) -> tuple[set, float]:
    import recordlinkage

    start = time.perf_counter()
    indexer = recordlinkage.Index()
    for key in ("given_name", "surname", "postcode", "date_of_birth"):
        indexer.block(key)
    left = frames[0]
    if task == "FEBRL4":
        right = frames[1]
        candidates = indexer.index(left, right)
    else:
        right = left
        candidates = indexer.index(left)
    compare = recordlinkage.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given_name")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    compare.exact("suburb", "suburb", label="suburb")
    compare.exact("state", "state", label="state")
    compare.string("address_1", "address_1", method="levenshtein", threshold=0.85, label="address_1")
    compare.exact("postcode", "postcode", label="postcode")
    compare.exact("soc_sec_id", "soc_sec_id", label="soc_sec_id")
    features = (
        compare.compute(candidates, left, right) if task == "FEBRL4" else compare.compute(candidates, left)
    )
    ecm = recordlinkage.ECMClassifier(binarize=None)
    matches = ecm.fit_predict(features)
    pairs = {tuple(sorted(p)) if task == "FEBRL3" else tuple(p) for p in matches}
    return pairs, time.perf_counter() - start


def run_splink(task: str, frames) -> tuple[set, float]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    start = time.perf_counter()
    tables = []
    for frame in frames:
        table = frame.reset_index().rename(columns={"rec_id": "unique_id"})
        tables.append(table)
    if task == "FEBRL4":
        tables[0]["source_dataset"] = "a"
        tables[1]["source_dataset"] = "b"
    settings = SettingsCreator(
        link_type="link_only" if task == "FEBRL4" else "dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on(c) for c in ("given_name", "surname", "postcode", "date_of_birth")
        ],
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.ExactMatch("suburb"),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("state"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    registered = [db_api.register(table, table_name=f"t{n}") for n, table in enumerate(tables)]
    linker = Linker(registered if task == "FEBRL4" else registered[0], settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.9
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    predictions = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    pairs = set()
    for a, b in zip(predictions["unique_id_l"], predictions["unique_id_r"], strict=True):
        if task == "FEBRL4":
            pairs.add((a, b) if str(a).endswith("-org") or "org" in str(a) else (b, a))
        else:
            pairs.add(tuple(sorted((a, b))))
    return pairs, time.perf_counter() - start


def _load():
    from recordlinkage.datasets import load_febrl3, load_febrl4

    a, b, links4 = load_febrl4(return_links=True)
    c, links3 = load_febrl3(return_links=True)
    return {"FEBRL4": ((a, b), _truth_pairs(links4, False)), "FEBRL3": ((c,), _truth_pairs(links3, True))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tools", default="mimamori,splink,recordlinkage")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    runners = {"mimamori": run_ours, "splink": run_splink, "recordlinkage": run_recordlinkage}
    data = _load()
    print(f"{'task':8} {'tool':14} {'precision':>9} {'recall':>7} {'F1':>7} {'time s':>7} {'pairs':>6}")
    for task, (frames, truth) in data.items():
        for tool in arguments.tools.split(","):
            pairs, seconds = runners[tool](task, frames)
            if task == "FEBRL4" and tool == "splink":
                pairs = {(a, b) if (a, b) in truth or (b, a) not in truth else (b, a) for a, b in pairs}
            precision, recall, f1 = _score(pairs, truth)
            print(
                f"{task:8} {tool:14} {precision:9.4f} {recall:7.4f} {f1:7.4f} {seconds:7.2f} {len(pairs):6d}"
            )


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
