"""The 名寄せ確認 tab: uncertain pairs side by side, and staff decisions harvested back."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from macros_py.sheets import LINK_REVIEW

__all__ = ["harvest_review", "review_rows"]

_DECISIONS = ("同一", "別人")


def _text(frame: pd.DataFrame, column: str, positions: np.ndarray) -> np.ndarray:
    """Text of ``column`` at ``positions`` ("" for position -1 or a missing value)."""
    if column not in frame.columns or len(frame) == 0:
        return np.full(len(positions), "", dtype=object)
    values = frame[column].to_numpy(dtype=object)[np.clip(positions, 0, len(frame) - 1)]
    text = np.array(["" if value is None or value != value else str(value) for value in values], dtype=object)
    return np.where(positions >= 0, text, "")


def review_rows(
    records: pd.DataFrame,
    keys: pd.Series,
    links: pd.DataFrame,
    master: pd.DataFrame,
    start: int = 1,
) -> pd.DataFrame:
    """Rows for the 名寄せ確認 tab: every review and conflict link, all sources at once.

    Args:
        records: raw source records (canonical identifiers and ``source_id``), aligned
            with ``links``.
        keys: record keys aligned with ``records``.
        links: :attr:`~macros_py.link.pipeline.LinkRun.links`.
        master: raw master records (positions as in ``links["master"]``).
        start: first 確認ID number.

    Returns:
        DataFrame with exactly the tab's headers.
    """
    chosen = np.flatnonzero(links["outcome"].isin(["review", "conflict"]).to_numpy())
    master_pos = links["master"].to_numpy(np.int64)[chosen]
    reason = links["reason"].to_numpy(dtype=object)[chosen]
    detail = links["detail"].to_numpy(dtype=object)[chosen]
    # Per-field agreement, read from the detail JSON of the few listed pairs only.
    parts = [" / ".join(f"{k}:{v}" for k, v in json.loads(d).items()) if d else "" for d in detail]
    agreement = [" / ".join(p for p in (r, q) if p) for r, q in zip(reason, parts, strict=True)]

    def birth(frame: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
        return np.array([v[:10] for v in _text(frame, "birth_date", pos)], dtype=object)

    table = pd.DataFrame(
        {
            "確認ID": [f"R{start + i:05d}" for i in range(len(chosen))],
            "ソースID": _text(records, "source_id", chosen),
            "レコードキー": keys.to_numpy(dtype=object)[chosen],
            "宛名番号": _text(master, "resident_id", master_pos),
            "一致スコア": np.round(links["score"].to_numpy(float)[chosen], 4),
            "氏名(元)": _text(records, "name", chosen),
            "氏名(住基)": _text(master, "name", master_pos),
            "カナ(元)": _text(records, "name_kana", chosen),
            "カナ(住基)": _text(master, "name_kana", master_pos),
            "生年月日(元)": birth(records, chosen),
            "生年月日(住基)": birth(master, master_pos),
            "性別(元)": _text(records, "sex", chosen),
            "性別(住基)": _text(master, "sex", master_pos),
            "住所(元)": _text(records, "address", chosen),
            "住所(住基)": _text(master, "address", master_pos),
            "項目別一致": agreement,
            "判定": "",
            "メモ": "",
        }
    )
    return table[LINK_REVIEW.headers]


def harvest_review(table: pd.DataFrame | None) -> pd.DataFrame:
    """Decisions staff entered on the 名寄せ確認 tab (rows with 判定 同一/別人).

    Returns:
        Columns ``source_id, source_key, resident_id, decision, note``.
    """
    columns = ["source_id", "source_key", "resident_id", "decision", "note"]
    if table is None or table.empty or "判定" not in table.columns:
        return pd.DataFrame(columns=columns)
    frame = table.fillna("").astype(str)
    decided = frame[frame["判定"].str.strip().isin(_DECISIONS) & (frame["レコードキー"].str.strip() != "")]
    return pd.DataFrame(
        {
            "source_id": decided["ソースID"].str.strip(),
            "source_key": decided["レコードキー"].str.strip(),
            "resident_id": decided["宛名番号"].str.strip(),
            "decision": decided["判定"].str.strip(),
            "note": decided["メモ"].str.strip() if "メモ" in decided.columns else "",
        },
        columns=columns,
    ).reset_index(drop=True)
