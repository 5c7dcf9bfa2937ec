"""``mimamori demo``: a synthetic town through the whole pipeline, ending with a candidate list."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pandas as pd

from macros_py.actions import ACTION_BY_ID
from macros_py.config.defaults import default_tables

logger = logging.getLogger(__name__)

# Pipeline order; actions not yet in the registry are skipped.
DEMO_PIPELINE: tuple[str, ...] = ("check_settings", "import", "link", "score")


def demo_settings_tables(reference_date: str) -> dict[str, pd.DataFrame]:
    """Default settings tables with the 基準日 set to the synthetic extracts' as-of date."""
    tables = default_tables()
    settings = tables["settings"].copy()
    settings.loc[settings["項目"] == "基準日", "値"] = reference_date
    tables["settings"] = settings
    return tables


def run_demo(profile: str = "town", seed: int = 1, out_dir: Path = Path("demo")) -> int:
    """Generate a municipality, build the workbook and run each pipeline action in file mode.

    Returns:
        Process exit code: 0 when every step succeeded.
    """
    from macros_py.book.build import build_workbook
    from macros_py.book.filemode import run_in_file_mode
    from macros_py.synth import generate_municipality

    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(f"[1] 架空の自治体データを作成しています(profile={profile}, seed={seed}) ...", flush=True)
    generate_municipality(profile, seed=seed, out_dir=out_dir)
    meta = json.loads((out_dir / "truth" / "meta.json").read_text(encoding="utf-8"))
    counts = meta.get("counts", {})
    print(
        f"    住民 {counts.get('residents', '?')} 人(0〜19歳 {counts.get('residents_aged_0_19', '?')} 人)/ "
        f"出力ファイル {counts.get('export_files', '?')} 件 {counts.get('export_rows', '?')} 行 "
        f"({time.perf_counter() - started:.1f} 秒)"
    )

    workbook_path = out_dir / "mimamori.xlsm"
    for stale in (workbook_path, out_dir / "mimamori.db"):
        stale.unlink(missing_ok=True)
    build_workbook(workbook_path, tables=demo_settings_tables(str(meta["reference_date"])))
    print(f"[2] 台帳を作成しました: {workbook_path}")

    exit_code = 0
    for step, action_id in enumerate((a for a in DEMO_PIPELINE if a in ACTION_BY_ID), start=3):
        spec = ACTION_BY_ID[action_id]
        step_started = time.perf_counter()
        result = run_in_file_mode(action_id, workbook_path)
        status = "成功" if result.ok else "失敗"
        print(
            f"[{step}] {spec.label}: {status} {result.counts} ({time.perf_counter() - step_started:.1f} 秒)"
        )
        for message in result.messages[:10]:
            print(f"    {message}")
        if not result.ok:
            exit_code = 1
    print()
    print("できたもの:")
    print(f"  台帳:           {workbook_path}(候補リスト・モデル評価・係数・履歴の各タブ)")
    print(f"  データベース:   {out_dir / 'mimamori.db'}")
    print(f"  出力ファイル:   {out_dir / 'exports'}")
    print(f"  正解データ:     {out_dir / 'truth'}")
    print(f"合計 {time.perf_counter() - started:.1f} 秒")
    return exit_code
