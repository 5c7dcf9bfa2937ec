"""Benchmark: import a synthetic municipality's exports through the 取込 action.

Prints wall time, rows per second and peak memory for a first import and for an
unchanged re-import. Targets (issue 4): city under 20 s; metro under 2.5 min and
6 GB peak memory.

Usage::

    .venv/bin/python bench/bench_ingest.py --profile city --seed 1 --out /tmp/city
    .venv/bin/python bench/bench_ingest.py --profile metro --seed 1 --out /tmp/metro

The municipality is generated into ``--out`` unless ``--out/exports`` already exists.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from macros_py.actions import ActionContext, run_action  # noqa: E402
from macros_py.config.defaults import default_tables  # noqa: E402


def _context(out: Path, database: str) -> ActionContext:
    tables = default_tables()
    settings = tables["settings"].copy()
    reference = json.loads((out / "truth" / "meta.json").read_text(encoding="utf-8"))["reference_date"]
    for item, value in {"取込フォルダ": "exports", "データベース": database, "基準日": reference}.items():
        settings.loc[settings["項目"] == item, "値"] = value
    tables["settings"] = settings
    return ActionContext(tables=tables, workbook_dir=out, user_name="bench")


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(out: Path, database: str, label: str) -> dict:
    started = time.perf_counter()
    result = run_action("import", _context(out, database))
    seconds = time.perf_counter() - started
    sources = result.to_json()["sources"]
    totals = {
        key: sum(entry[key] for entry in sources) for key in ("read", "stored", "quarantined", "unchanged")
    }
    refused = sum(entry["refused"] for entry in sources)
    print(
        f"{label}: {seconds:.1f} s, files {len(sources)} (refused {refused}), rows read {totals['read']:,} "
        f"({totals['read'] / seconds:,.0f} rows/s), stored {totals['stored']:,}, "
        f"quarantined {totals['quarantined']:,}, unchanged {totals['unchanged']:,}, "
        f"peak memory so far {_peak_mib():,.0f} MiB"
    )
    if not result.ok:
        for message in result.messages[:10]:
            print(f"  {message}")
    return {"seconds": seconds, **totals, "refused": refused}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="city", choices=("village", "town", "city", "metro"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--database", default="bench_ingest.db", help="file beside --out, or an SQLAlchemy URL"
    )
    parser.add_argument("--no-reimport", action="store_true")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    out = Path(arguments.out)
    if not (out / "exports").is_dir():
        from macros_py.synth import generate_municipality

        started = time.perf_counter()
        generate_municipality(arguments.profile, seed=arguments.seed, out_dir=out)
        print(
            f"generated {arguments.profile} (seed {arguments.seed}) in {time.perf_counter() - started:.1f} s"
        )
    if "://" not in arguments.database:
        for path in out.glob(arguments.database + "*"):
            path.unlink()
    size = sum(path.stat().st_size for path in (out / "exports").rglob("*") if path.is_file())
    print(f"profile {arguments.profile}: exports {size / 2**20:,.0f} MiB")
    first = _run(out, arguments.database, "first import")
    if not arguments.no_reimport:
        _run(out, arguments.database, "re-import (unchanged)")
    print(f"peak memory {_peak_mib():,.0f} MiB")
    return 0 if first["refused"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
