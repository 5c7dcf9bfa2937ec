"""What a run carries over from the workbook it replaces: staff memos and the log history.

Pure functions over DataFrames; file mode (and the live adapter) apply them to the
tables an action returns before writing them.
"""

from __future__ import annotations

import pandas as pd

from macros_py.sheets import LINK_REVIEW, LOG

__all__ = ["LOG_ROWS_KEPT", "REVIEW_PAIR", "carry_review_memos", "log_rows_for", "merged_log"]

LOG_ROWS_KEPT = 1000  # the ログ tab keeps the most recent rows of all actions
REVIEW_PAIR = ("ソースID", "レコードキー", "宛名番号")  # one 名寄せ確認 pair, stable across runs


def _text(frame: pd.DataFrame | None, headers: list[str]) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame(columns=headers, dtype=str)
    return frame.reindex(columns=headers, fill_value="").fillna("").astype(str)


def carry_review_memos(old: pd.DataFrame | None, new: pd.DataFrame | None) -> tuple[pd.DataFrame | None, int]:
    """Give the new 名寄せ確認 rows the memos staff wrote on the old rows without a decision.

    Rows are matched on the pair (ソースID, レコードキー, 宛名番号). A new row keeps
    its own memo if it has one. Rows with a decision are not carried: the decision
    and its memo are stored by the 名寄せ action.

    Args:
        old: The harvested 名寄せ確認 table (what staff typed).
        new: The table the action returned.

    Returns:
        The new table with memos filled in, and how many memos found no row (their
        pair is no longer listed for review).
    """
    if new is None or old is None or old.empty:
        return new, 0
    before = _text(old, LINK_REVIEW.headers)
    memo = before["メモ"].str.strip()
    undecided = before["判定"].str.strip() == ""
    kept = before[undecided & (memo != "")].drop_duplicates(list(REVIEW_PAIR), keep="last")
    if kept.empty:
        return new, 0
    after = _text(new, LINK_REVIEW.headers)
    key = pd.MultiIndex.from_frame(after[list(REVIEW_PAIR)].apply(lambda column: column.str.strip()))
    memos = pd.Series(
        kept["メモ"].to_numpy(),
        index=pd.MultiIndex.from_frame(kept[list(REVIEW_PAIR)].apply(lambda column: column.str.strip())),
    )
    found = memos.reindex(key)
    fill = (after["メモ"].str.strip() == "").to_numpy() & found.notna().to_numpy()
    result = new.copy()
    memo_column = result["メモ"].astype(object).to_numpy(copy=True)
    memo_column[fill] = found.to_numpy(dtype=object)[fill]
    result["メモ"] = memo_column
    lost = int((~memos.index.isin(key)).sum())
    return result, lost


def log_rows_for(*, when: str, user_name: str, label: str, kind: str, messages: list[str]) -> pd.DataFrame:
    """ログ rows for messages of one run (used when an action returned no log of its own)."""
    return pd.DataFrame(
        {"日時": when, "利用者": user_name, "操作": label, "区分": kind, "内容": messages},
        columns=LOG.headers,
    )


def merged_log(old: pd.DataFrame | None, new: pd.DataFrame | None, keep: int = LOG_ROWS_KEPT) -> pd.DataFrame:
    """The ログ tab after a run: the earlier rows, then this run's rows, the most recent ``keep`` only."""
    frames = [frame for frame in (_text(old, LOG.headers), _text(new, LOG.headers)) if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=LOG.headers, dtype=str)
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[(rows != "").any(axis=1)]
    return rows.tail(keep).reset_index(drop=True)
