"""Benchmark ``mimamori synth``: wall time, peak memory and counts per profile.

Usage: ``.venv/bin/python bench/bench_synth.py --profiles city metro --seed 1``
Each profile runs in a fresh child process so peak RSS is measured per profile.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from macros_py.synth import generate_municipality
started = time.perf_counter()
summary = generate_municipality(sys.argv[1], seed=int(sys.argv[2]), out_dir=Path(sys.argv[3]))
summary["wall_seconds"] = round(time.perf_counter() - started, 1)
summary["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)
print(json.dumps(summary, ensure_ascii=False))
"""


def run_profile(profile: str, seed: int, out_dir: Path) -> dict:
    """Generate one profile in a child process and return its summary with timings."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, profile, str(seed), str(out_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    summary = json.loads(completed.stdout.strip().splitlines()[-1])
    summary["process_seconds"] = round(time.perf_counter() - started, 1)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--profiles", nargs="+", default=["city", "metro"], choices=["village", "town", "city", "metro"]
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out", default="", help="output folder (default: a temporary folder, removed afterwards)"
    )
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        base = Path(arguments.out) if arguments.out else Path(temporary)
        for profile in arguments.profiles:
            summary = run_profile(profile, arguments.seed, base / profile)
            size_mb = sum(path.stat().st_size for path in (base / profile).rglob("*") if path.is_file()) / 1e6
            counts = summary["counts"]
            print(
                f"{profile:8s} wall {summary['wall_seconds']:7.1f} s  peak RSS {summary['peak_rss_mb']:7.0f} MB  "
                f"residents {counts['residents']:>9,}  aged 0-19 {counts['residents_aged_0_19']:>8,}  "
                f"files {counts['export_files']:>4}  rows {counts['export_rows']:>10,}  output {size_mb:8.1f} MB"
            )
            print(f"         steps: {json.dumps(summary['seconds'], ensure_ascii=False)}")


if __name__ == "__main__":
    main()
