"""What a run carries over from the workbook it replaces: staff memos and the log history.

Pure functions over DataFrames; file mode (and the live adapter) apply them to the
tables an action returns before writing them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from macros_py.sheets import LINK_REVIEW, LOG

__all__ = [
    "CARRIED_COLUMNS",
    "LOG_ROWS_KEPT",
    "REVIEW_PAIR",
    "TypedColumn",
    "carry_review_memos",
    "carry_typed",
    "log_rows_for",
    "merged_log",
]

LOG_ROWS_KEPT = 1000  # the ログ tab keeps the most recent rows of all actions
REVIEW_PAIR = ("ソースID", "レコードキー", "宛名番号")  # one 名寄せ確認 pair, stable across runs


def _text(frame: pd.DataFrame | None, headers: list[str]) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame(columns=headers, dtype=str)
    return frame.reindex(columns=headers, fill_value="").fillna("").astype(str)


@dataclass(frozen=True)
class TypedColumn:
    """A column staff type into on a tab an action replaces, carried to the same row."""

    sheet_key: str
    key_columns: tuple[str, ...]  # what identifies the row across runs
    column: str  # what staff typed
    decided_column: str  # rows with a value here are acted upon (and stored) by the action


CARRIED_COLUMNS: tuple[TypedColumn, ...] = (
    TypedColumn(LINK_REVIEW.key, REVIEW_PAIR, "メモ", "判定"),
    TypedColumn("link_decisions", ("判定ID",), "取消理由", "取消"),
)


def carry_typed(
    typed: TypedColumn, old: pd.DataFrame | None, new: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, int]:
    """Give the new rows what staff typed in ``typed.column`` on the old rows not yet acted upon.

    Rows are matched on ``typed.key_columns``. A new row keeps its own value if it has
    one. Rows with a value in ``typed.decided_column`` are not carried: the action
    stores them.

    Returns:
        The new table with the values filled in, and how many typed values found no row.
    """
    if new is None or old is None or old.empty or typed.column not in new.columns:
        return new, 0
    keys = list(typed.key_columns)
    before = (
        old.reindex(columns=[*keys, typed.column, typed.decided_column], fill_value="").fillna("").astype(str)
    )
    value = before[typed.column].str.strip()
    kept = before[(before[typed.decided_column].str.strip() == "") & (value != "")].drop_duplicates(
        keys, keep="last"
    )
    if kept.empty:
        return new, 0
    after = new.reindex(columns=[*keys, typed.column], fill_value="").fillna("").astype(str)
    key = pd.MultiIndex.from_frame(after[keys].apply(lambda column: column.str.strip()))
    values = pd.Series(
        kept[typed.column].to_numpy(),
        index=pd.MultiIndex.from_frame(kept[keys].apply(lambda column: column.str.strip())),
    )
    found = values.reindex(key)
    fill = (after[typed.column].str.strip() == "").to_numpy() & found.notna().to_numpy()
    result = new.copy()
    column = result[typed.column].astype(object).to_numpy(copy=True)
    column[fill] = found.to_numpy(dtype=object)[fill]
    result[typed.column] = column
    return result, int((~values.index.isin(key)).sum())


def carry_review_memos(old: pd.DataFrame | None, new: pd.DataFrame | None) -> tuple[pd.DataFrame | None, int]:
    """Give the new 名寄せ確認 rows the memos staff wrote on old rows without a decision.

    Rows are matched on the pair (ソースID, レコードキー, 宛名番号); see :func:`carry_typed`.
    """
    return carry_typed(CARRIED_COLUMNS[0], old, new)


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
