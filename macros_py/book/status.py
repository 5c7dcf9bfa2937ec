"""The status area of the 操作 tab: one row per action with its last run."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from macros_py.actions import ACTIONS, ActionResult, ActionSpec
from macros_py.sheets import LOG, STATUS

__all__ = ["status_table", "update_status", "warnings_of"]

_MAX_WARNING_CHARS = 500
_WARNING_KINDS = ("警告", "エラー")


def status_table(status: pd.DataFrame | None, actions: tuple[ActionSpec, ...] = ACTIONS) -> pd.DataFrame:
    """The status table with exactly one row per registered action, in registry order.

    Rows of ``status`` are matched on the 操作 column (the action's label); actions
    without a row get an empty one, rows of actions no longer registered are dropped.
    """
    known: dict[str, dict[str, str]] = {}
    if status is not None and not status.empty:
        for record in status.fillna("").astype(str).to_dict("records"):
            known[record.get("操作", "")] = record
    rows = []
    for action in actions:
        record = known.get(action.label, {})
        rows.append({header: record.get(header, "") for header in STATUS.headers} | {"操作": action.label})
    return pd.DataFrame(rows, columns=STATUS.headers)


def _logged_as_warning(result: ActionResult) -> set[str]:
    """Texts the action's own ログ rows mark 警告 or エラー."""
    log = result.tables.get(LOG.key)
    if log is None or log.empty or not {"区分", "内容"} <= set(log.columns):
        return set()
    marked = log[log["区分"].astype(str).isin(_WARNING_KINDS)]
    return {str(text) for text in marked["内容"]}


def warnings_of(result: ActionResult) -> list[str]:
    """The messages of ``result`` that belong in the 警告 column (never the plain count line).

    An action that classifies its messages says so in ``result.warnings``. Otherwise a
    failed run shows every message (they say why it failed) and a successful run shows
    the messages its own ログ rows mark 警告 or エラー; completion and count lines are
    informational and stay out.
    """
    if result.warnings is not None:
        return list(result.warnings)
    if not result.ok:
        return list(result.messages)
    logged = _logged_as_warning(result)
    return [message for message in result.messages if message in logged]


def update_status(
    status: pd.DataFrame | None, result: ActionResult, when: datetime, user_name: str
) -> pd.DataFrame:
    """The status table after ``result``: the action's row shows time, outcome, counts, warnings.

    Args:
        status: The current status table (harvested), or ``None``.
        result: What the action did.
        when: When it finished.
        user_name: Who ran it, shown with the time.

    Returns:
        A new table; ``status`` is not modified.
    """
    table = status_table(status)
    labels = {action.id: action.label for action in ACTIONS}
    label = labels.get(result.action)
    if label is None:
        return table
    warnings = " / ".join(warnings_of(result))
    if len(warnings) > _MAX_WARNING_CHARS:
        warnings = warnings[: _MAX_WARNING_CHARS - 1] + "…"
    mask = table["操作"] == label
    table.loc[mask, "最終実行"] = f"{when:%Y-%m-%d %H:%M} {user_name}"
    table.loc[mask, "結果"] = "成功" if result.ok else "失敗"
    table.loc[mask, "件数"] = result.counts
    table.loc[mask, "警告"] = warnings
    return table
