"""``mimamori link MASTER.csv SOURCE.csv --out LINKS.csv``: match any two CSV files.

The master needs 宛名番号 and any of 氏名, 氏名カナ, 生年月日, 性別, 住所; the source
needs any of the same fields (宛名番号 too, which then joins exactly) and may carry a
レコードID (row numbers otherwise). Reading and checking the files is
:mod:`macros_py.link.csv_input`. The thresholds default to the workbook's settings
(``mappings/settings.csv``: 名寄せ自動しきい値, 名寄せ確認しきい値). The output has one
row per source record: レコードID, 宛名番号 (empty when none), 判定 (自動/要確認/不一致),
一致スコア (0–1).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from macros_py.link.csv_input import (
    RECORD_ID,
    LinkInputError,
    default_thresholds,
    read_master_csv,
    read_source_csv,
)
from macros_py.link.match import MatchOptions
from macros_py.link.pipeline import link_source

__all__ = ["JUDGEMENT", "default_thresholds", "link_csv_files"]

logger = logging.getLogger(__name__)

# Outcome → 判定 shown to staff.
JUDGEMENT = {
    "exact": "自動",
    "crosswalk": "自動",
    "auto": "自動",
    "review": "要確認",
    "conflict": "要確認",
    "none": "不一致",
}


def _checked_thresholds(auto_threshold: float | None, review_threshold: float | None) -> MatchOptions:
    default_auto, default_review = default_thresholds()
    auto = default_auto if auto_threshold is None else float(auto_threshold)
    review = default_review if review_threshold is None else float(review_threshold)
    for label, value in (("自動しきい値", auto), ("確認しきい値", review)):
        if not 0 <= value <= 1:
            raise LinkInputError(f"{label}は0から1の間で指定してください(指定: {value:g})。")
    if review > auto:
        raise LinkInputError(f"確認しきい値({review:g})は自動しきい値({auto:g})以下にしてください。")
    return MatchOptions(auto_threshold=auto, review_threshold=review)


def link_csv_files(
    master: Path,
    source: Path,
    out: Path,
    *,
    auto_threshold: float | None = None,
    review_threshold: float | None = None,
) -> dict:
    """Link every source record to the master and write LINKS.csv (UTF-8 with BOM).

    Args:
        master: CSV of residents (宛名番号 required).
        source: CSV of records to match (レコードID optional: row numbers otherwise).
        out: output path (its folder is created).
        auto_threshold: probability from which a link is automatic (default: settings).
        review_threshold: probability from which a pair is listed for review (default: settings).

    Returns:
        Summary: counts per 判定 and per outcome, the thresholds, the output path and
        Japanese ``warnings`` (unreadable birth dates treated as unknown).

    Raises:
        LinkInputError: a file or option that cannot be used (Japanese message naming
            file, row and column).
    """
    options = _checked_thresholds(auto_threshold, review_threshold)
    master_file = read_master_csv(Path(master))
    source_file = read_source_csv(Path(source))
    links, _ = link_source(source_file.frame.drop(columns=[RECORD_ID]), master_file.frame, options)
    judgement = links["outcome"].map(JUDGEMENT)
    unlinked = (judgement == "不一致").to_numpy()
    output = pd.DataFrame(
        {
            RECORD_ID: source_file.frame[RECORD_ID].to_numpy(),
            # Built as a new array: string-dtype views can be read-only without pyarrow.
            "宛名番号": np.where(unlinked, "", links["resident_id"].astype(object).fillna("").to_numpy()),
            "判定": judgement.to_numpy(),
            "一致スコア": links["score"].round(4).to_numpy(),
        }
    )
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    output.to_csv(out, index=False, encoding="utf-8-sig")
    summary = {
        "records": len(output),
        "判定": output["判定"].value_counts().to_dict(),
        "outcomes": links["outcome"].value_counts().to_dict(),
        "thresholds": {"自動": options.auto_threshold, "確認": options.review_threshold},
        "warnings": master_file.warnings + source_file.warnings,
        "out": str(out),
    }
    logger.info("linked %s to %s: %s", source, master, summary)
    return summary
