"""Scoring speed, memory and accuracy on a synthetic municipality with known truth.

Run: ``.venv/bin/python bench/bench_score.py --profile town`` (also ``city``, ``metro``).
Generates the municipality into ``--dir`` (default ``/tmp/bench_score_PROFILE_SEED``) unless
``--dir/exports`` exists, imports and links it unless ``--dir/mimamori.db`` exists (a
``mimamori demo --out DIR`` folder is reused as is), then runs the ``score`` action
(the same code path as the button and ``mimamori run score``: one process, no fork) in a
child process and prints:

* the time of each stage of the action — items (``compute_items``), support status
  (labels), model fit, listing (type scores, selection, probabilities, ranking, 候補リスト
  rows), model evaluation (cross-validation), store write and history — and in total;
* the peak resident memory of that child process (``ru_maxrss``; it includes Python,
  pandas and scikit-learn themselves, about 250 MiB);
* the truth evaluation of the run (``mimamori evaluate``'s table: rules, model and the
  plain count of basic items; see :mod:`macros_py.score.truth_evaluation`).

Targets (issue 11): items and scoring of a city under 15 s; a metro under 90 s with peak
memory under 6 GB.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from macros_py.actions import ActionContext, run_action  # noqa: E402
from macros_py.config.defaults import default_tables  # noqa: E402

# (module attribute of macros_py.score.action, stage label); each is wrapped with a timer.
_STAGES: tuple[tuple[str, str], ...] = (
    ("parse_score_config", "config"),
    ("load_plugins", "config"),
    ("_items_step", "items"),
    ("_support_step", "support"),
    ("fit_step", "model fit"),
    ("stored_run", "listing"),
    ("list_run", "listing"),
    ("_earlier_step", "evaluation"),
    ("_evaluation_step", "evaluation"),
    ("summary_of", "evaluation"),
    ("inputs_fingerprint", "store write"),
    ("write_run", "store write"),
    ("history_rows", "history"),
)

_SCORING_STAGES = ("items", "support", "model fit", "listing", "evaluation")


def _reference_date(root: Path) -> str:
    return str(json.loads((root / "truth" / "meta.json").read_text(encoding="utf-8"))["reference_date"])[:10]


def _context(root: Path) -> ActionContext:
    tables = default_tables()
    settings = tables["settings"].copy()
    values = {"取込フォルダ": "exports", "データベース": "mimamori.db", "基準日": _reference_date(root)}
    for item, value in values.items():
        settings.loc[settings["項目"] == item, "値"] = value
    tables["settings"] = settings
    return ActionContext(tables=tables, workbook_dir=root.resolve(), user_name="bench")


def _prepare(root: Path, profile: str, seed: int) -> None:
    """Generate, import and link unless already done."""
    if not (root / "exports").is_dir():
        from macros_py.synth import generate_municipality

        started = time.perf_counter()
        generate_municipality(profile, seed=seed, out_dir=root)
        print(f"generate {profile} seed {seed}: {time.perf_counter() - started:.1f} s")
    if (root / "mimamori.db").is_file():
        print(f"reusing the imported and linked store {root / 'mimamori.db'}")
        return
    for action_id in ("import", "link"):
        started = time.perf_counter()
        result = run_action(action_id, _context(root))
        print(f"{action_id}: {time.perf_counter() - started:.1f} s ok={result.ok} {result.counts}")
        if not result.ok:
            raise SystemExit(f"{action_id} failed: {result.messages}")


def _timed(function, label: str, timings: dict[str, list[float]]):
    """Wrap a stage: wall seconds and CPU seconds of this process (CPU is what a busy machine can't inflate)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent = timings.setdefault(label, [0.0, 0.0])
            spent[0] += time.perf_counter() - wall
            spent[1] += time.process_time() - cpu

    return wrapper


def child_main(root: Path) -> None:
    """In the child process: run the score action with every stage timed; print JSON."""
    from macros_py.score import action

    timings: dict[str, list[float]] = {}
    missing = []
    for name, label in _STAGES:
        if hasattr(action, name):
            setattr(action, name, _timed(getattr(action, name), label, timings))
        else:
            missing.append(name)
    started, cpu = time.perf_counter(), time.process_time()
    result = run_action("score", _context(root))
    total, total_cpu = time.perf_counter() - started, time.process_time() - cpu
    summary = result.to_json()
    print(
        json.dumps(
            {
                "ok": result.ok,
                "messages": result.messages,
                "total_seconds": total,
                "total_cpu_seconds": total_cpu,
                "stages": timings,
                "unwrapped": missing,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "summary": {key: summary.get(key) for key in ("children", "listed", "per_type", "run_id")},
            },
            ensure_ascii=False,
            default=str,
        )
    )


def _score_in_child(root: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(root)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"score child failed:\n{done.stderr[-4000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["children_maxrss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return report


def _print_report(profile: str, report: dict) -> None:
    print(
        f"\nscore action on {profile}: ok={report['ok']} total {report['total_seconds']:.1f} s wall, "
        f"{report['total_cpu_seconds']:.1f} s CPU"
    )
    print(f"  {'stage':<12} {'wall':>7}   {'CPU':>7}")
    for label, (wall, cpu) in report["stages"].items():
        print(f"  {label:<12} {wall:7.1f} s {cpu:7.1f} s")
    scoring = [spent for label, spent in report["stages"].items() if label in _SCORING_STAGES]
    print(
        f"  items+scoring ({', '.join(_SCORING_STAGES)}): {sum(s[0] for s in scoring):.1f} s wall, "
        f"{sum(s[1] for s in scoring):.1f} s CPU"
    )
    print(f"  peak memory (child ru_maxrss): {report['peak_rss_mib']:,.0f} MiB")
    if report["unwrapped"]:
        print(f"  (not timed separately, renamed in score.action: {', '.join(report['unwrapped'])})")
    print(f"  summary: {json.dumps(report['summary'], ensure_ascii=False)}")
    for message in report["messages"]:
        print(f"  {message}")


def _truth_evaluation(root: Path) -> dict:
    from macros_py.score.truth_evaluation import compare_methods, format_table, read_latest_run, read_truth
    from macros_py.store import open_store

    store = open_store(root / "mimamori.db")
    try:
        scores, reference_date, run_id = read_latest_run(store)
    finally:
        store.dispose()
    result = compare_methods(scores, read_truth(root), reference_date=reference_date)
    print(f"\ntruth evaluation of run {run_id}:")
    print(format_table(result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="town", choices=("village", "town", "city", "metro"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--dir", type=Path, help="municipality folder (generated, imported and linked if needed)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if arguments.child is not None:
        child_main(arguments.child)
        return
    root = arguments.dir or Path(f"/tmp/bench_score_{arguments.profile}_{arguments.seed}")
    _prepare(root, arguments.profile, arguments.seed)
    report = _score_in_child(root)
    _print_report(arguments.profile, report)
    evaluation = _truth_evaluation(root)
    if arguments.json:
        arguments.json.write_text(
            json.dumps({"score": report, "truth": evaluation}, ensure_ascii=False, indent=2, default=str),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
