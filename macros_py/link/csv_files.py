"""``mimamori link MASTER.csv SOURCE.csv --out LINKS.csv``: match any two CSV files.

The master needs 宛名番号 and any of 氏名, 氏名カナ, 生年月日, 性別, 住所; the source
needs レコードID and any of the same fields (宛名番号 too, which then joins exactly).
Empty or malformed values are allowed. The output has one row per source record:
レコードID, 宛名番号 (empty when none), 判定 (自動/要確認/不一致), 一致スコア (0–1).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from macros_py.link.match import MatchOptions
from macros_py.link.pipeline import link_source
from macros_py.vocabulary import FIELD_BY_LABEL

__all__ = ["JUDGEMENT", "link_csv_files", "read_people_csv"]

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


def read_people_csv(path: Path) -> pd.DataFrame:
    """Read a CSV with Japanese canonical headers (UTF-8 with or without BOM, or cp932).

    Returns:
        All-text frame with canonical identifiers as column names (``レコードID`` kept).
    """
    for encoding in ("utf-8-sig", "cp932"):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValueError(f"{path}: 文字コードを判別できません(UTF-8 または Shift_JIS で保存してください)。")
    frame.columns = [str(c).strip() for c in frame.columns]
    rename = {label: field.identifier for label, field in FIELD_BY_LABEL.items() if label in frame.columns}
    return frame.rename(columns=rename)


def link_csv_files(
    master: Path, source: Path, out: Path, auto_threshold: float = 0.95, review_threshold: float = 0.30
) -> dict:
    """Link every source record to the master and write LINKS.csv (UTF-8 with BOM).

    Args:
        master: CSV of residents (宛名番号 required).
        source: CSV of records to match (レコードID required).
        out: output path.
        auto_threshold: probability from which a link is automatic.
        review_threshold: probability from which a pair is listed for review.

    Returns:
        Summary: counts per 判定 and per outcome, and the output path.
    """
    master_frame = read_people_csv(Path(master))
    source_frame = read_people_csv(Path(source))
    if "resident_id" not in master_frame.columns:
        raise ValueError(f"{master}: 「宛名番号」列がありません。")
    if "レコードID" not in source_frame.columns:
        raise ValueError(f"{source}: 「レコードID」列がありません。")
    options = MatchOptions(auto_threshold=auto_threshold, review_threshold=review_threshold)
    links, _ = link_source(source_frame, master_frame, options)
    judgement = links["outcome"].map(JUDGEMENT)
    unlinked = (judgement == "不一致").to_numpy()
    output = pd.DataFrame(
        {
            "レコードID": source_frame["レコードID"].to_numpy(),
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
        "out": str(out),
    }
    logger.info("linked %s to %s: %s", source, master, summary)
    return summary
