"""Synthetic municipalities with known truth (``mimamori synth``).

``generate_municipality(profile, seed=..., out_dir=...)`` draws a fictional village, town,
city or metropolis, writes each department's exports in its own vendor-like layout under
``out_dir/exports/`` and the truth under ``out_dir/truth/``. Same seed → same bytes.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from macros_py.synth.exports import EXPORT_STEPS
from macros_py.synth.exports.writer import ExportWriter
from macros_py.synth.profiles import get_profile
from macros_py.synth.truth import write_truth
from macros_py.synth.world import build_world

__all__ = ["generate_municipality"]

logger = logging.getLogger(__name__)


def generate_municipality(profile: str, seed: int = 1, out_dir: Path | str = Path("synth")) -> dict:
    """Generate a synthetic municipality with its department exports and truth.

    Args:
        profile: ``village``, ``town``, ``city`` or ``metro``.
        seed: Random seed; the same seed gives byte-identical files.
        out_dir: Output folder (``exports/`` and ``truth/`` are created inside).

    Returns:
        A JSON-able summary: profile, seed, reference date, counts, files and timings.
    """
    started = time.perf_counter()
    out_path = Path(out_dir)
    municipality = get_profile(profile)
    world = build_world(municipality, seed)
    timings = {"world": round(time.perf_counter() - started, 2)}
    writer = ExportWriter(out_path)
    for step_name, step in EXPORT_STEPS:
        step_started = time.perf_counter()
        step(world, writer)
        timings[step_name] = round(time.perf_counter() - step_started, 2)
        logger.info("synth %s: %s written in %.1f s", profile, step_name, timings[step_name])
    truth_started = time.perf_counter()
    meta = write_truth(world, writer.truth_records(), out_path, writer.files)
    timings["truth"] = round(time.perf_counter() - truth_started, 2)
    timings["total"] = round(time.perf_counter() - started, 2)
    return {
        "profile": meta["profile"],
        "seed": meta["seed"],
        "reference_date": meta["reference_date"],
        "out_dir": str(out_path),
        "counts": meta["counts"],
        "seconds": timings,
    }
