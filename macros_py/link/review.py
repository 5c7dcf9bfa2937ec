"""The 名寄せ確認 tab: uncertain pairs side by side, and staff decisions harvested back.

Each row's 確認ID is derived from its pair (source, record key, resident number), so
the same pair keeps its ID from run to run, and a decision whose ID does not fit the
pair on its row (a 判定 pasted from an older copy of the tab, rows shifted) is refused
instead of being applied to the wrong pair.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from macros_py.sheets import LINK_REVIEW

__all__ = ["ReviewHarvest", "harvest_review", "review_id", "review_rows", "source_names"]

_DECISIONS = ("同一", "別人")
# 確認IDs written before they were derived from the pair: R00001, R00002 ...
_LEGACY_ID = re.compile(r"R\d{5}")


def review_id(source_id: str, source_key: str, resident_id: str) -> str:
    """Stable 確認ID of a pair: ``R`` and ten hex digits of a hash of the pair.

    Examples:
        >>> review_id("attendance", "みどり小|00012", "1000000001")
        'R4FE3300744'
    """
    text = f"{source_id}\x1f{source_key}\x1f{resident_id}".encode()
    return "R" + hashlib.sha256(text).hexdigest()[:10].upper()


def source_names(sources: pd.DataFrame | None) -> dict[str, str]:
    """ソースID → 名称 from the 取込設定 tab (ids without a name map to themselves)."""
    if sources is None or sources.empty or "ソースID" not in sources.columns:
        return {}
    frame = sources.fillna("").astype(str)
    names = frame["名称"].str.strip() if "名称" in frame.columns else frame["ソースID"]
    return {
        source.strip(): (name or source.strip())
        for source, name in zip(frame["ソースID"], names, strict=True)
        if source.strip()
    }


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
    *,
    source_names: dict[str, str] | None = None,
    memos: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Rows for the 名寄せ確認 tab: every review and conflict link, all sources at once.

    Args:
        records: raw source records (canonical identifiers and ``source_id``), aligned
            with ``links``.
        keys: record keys aligned with ``records``.
        links: :attr:`~macros_py.link.pipeline.LinkRun.links`.
        master: raw master records (positions as in ``links["master"]``).
        source_names: ソースID → 名称, shown beside the id.
        memos: メモ typed on the previous tab without a decision, by 確認ID (kept).

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

    source = _text(records, "source_id", chosen)
    key = keys.to_numpy(dtype=object)[chosen]
    resident = _text(master, "resident_id", master_pos)
    ids = [review_id(s, k, r) for s, k, r in zip(source, key, resident, strict=True)]
    names = source_names or {}
    table = pd.DataFrame(
        {
            "確認ID": ids,
            "ソース名": [names.get(s, s) for s in source],
            "ソースID": source,
            "レコードキー": key,
            "宛名番号": resident,
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
            "メモ": [(memos or {}).get(i, "") for i in ids],
        }
    )
    return table[LINK_REVIEW.headers]


@dataclass
class ReviewHarvest:
    """What staff typed on the 名寄せ確認 tab.

    Attributes:
        decisions: ``source_id, source_key, resident_id, decision, note`` of the rows
            with 判定 同一/別人.
        memos: メモ of rows without a decision, by 確認ID (carried to the next tab).
        problems: Japanese messages naming the rows whose 判定 cannot be used; when
            there are any, the run must stop before storing anything.
        warnings: Japanese notes that do not stop the run.
    """

    decisions: pd.DataFrame
    memos: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


_COLUMNS = ["source_id", "source_key", "resident_id", "decision", "note"]


def harvest_review(table: pd.DataFrame | None) -> ReviewHarvest:
    """Decisions and memos staff entered on the 名寄せ確認 tab, checked against each row's 確認ID.

    A 判定 other than 同一/別人, or on a row whose 確認ID is not the ID of the pair shown
    on that row, is a problem naming the Excel row. Tabs written before 確認IDs were
    derived from the pair (every ID of the form ``R00001``) are accepted as they are,
    with a warning, so that an upgrade does not lose typed decisions.
    """
    if table is None or table.empty or "判定" not in table.columns:
        return ReviewHarvest(pd.DataFrame(columns=_COLUMNS))
    frame = table.fillna("").astype(str).apply(lambda column: column.str.strip()).reset_index(drop=True)
    for column in ("確認ID", "ソースID", "レコードキー", "宛名番号", "メモ"):
        if column not in frame.columns:
            frame[column] = ""
    ids = frame["確認ID"]
    legacy = bool(len(ids)) and bool(ids.str.fullmatch(_LEGACY_ID.pattern).all())
    expected = [
        review_id(s, k, r)
        for s, k, r in zip(frame["ソースID"], frame["レコードキー"], frame["宛名番号"], strict=True)
    ]
    decided = frame["判定"] != ""
    problems: list[str] = []
    for position in np.flatnonzero(decided.to_numpy()):
        row = frame.iloc[position]
        where = f"名寄せ確認タブの{LINK_REVIEW.excel_row(position)}行目(確認ID「{row['確認ID']}」)"
        if row["判定"] not in _DECISIONS:
            problems.append(
                f"{where}: 判定「{row['判定']}」は使えません。「同一」か「別人」を選んでください。"
            )
        elif row["レコードキー"] == "" or row["ソースID"] == "":
            problems.append(f"{where}: ソースIDかレコードキーが空のため、判定を記録できません。")
        elif not legacy and row["確認ID"] != expected[position]:
            problems.append(
                f"{where}: 確認IDがこの行のソース・レコードキー・宛名番号と合いません"
                "(古い名寄せ確認からの貼り付けや行の並べ替えの可能性があります)。"
                "この行の判定を消すか、正しい行に入力し直してから、もう一度名寄せを実行してください。"
            )
    warnings = []
    if legacy and decided.any():
        warnings.append(
            "名寄せ確認タブが以前の形式(確認IDが連番)のため、各行の組み合わせどおりに判定を記録しました。"
        )
    chosen = frame[decided]
    decisions = pd.DataFrame(
        {
            "source_id": chosen["ソースID"],
            "source_key": chosen["レコードキー"],
            "resident_id": chosen["宛名番号"],
            "decision": chosen["判定"],
            "note": chosen["メモ"],
        },
        columns=_COLUMNS,
    ).reset_index(drop=True)
    memo_rows = frame[~decided & (frame["メモ"] != "") & (ids != "")]
    memos = dict(zip(memo_rows["確認ID"], memo_rows["メモ"], strict=True))
    return ReviewHarvest(decisions, memos, problems, warnings)
