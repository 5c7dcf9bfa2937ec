"""The 名寄せ判定 tab: every staff decision of the crosswalk, and revocations harvested back.

Decisions are never deleted: revoking one appends a 取消 row for the same (source,
record key, resident), which ends the earlier decision (the latest row of a pair
wins, see :mod:`macros_py.link.crosswalk`). The tab lists the staff rows newest first
with their state, so that who decided what, when, and what was revoked stays visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import select

from macros_py.link.crosswalk import AUTO_CONFIRMED_BY, DIFFERENT, REVOKED, SAME
from macros_py.sheets import LINK_DECISIONS
from macros_py.store import Store
from macros_py.store.tables_link import crosswalk

__all__ = ["DECISION_ROWS_SHOWN", "Revocations", "decision_id", "decisions_table", "harvest_revocations"]

# Newest staff rows shown on the tab (a municipality records a few hundred a year).
DECISION_ROWS_SHOWN = 10_000

ACTIVE, REVOKED_STATE, REPLACED, REVOCATION = "有効", "取消済み", "変更済み", "取消の記録"


def decision_id(crosswalk_id: int) -> str:
    """判定ID of a crosswalk row (its row number in the store, which never changes).

    Examples:
        >>> decision_id(42)
        'D000042'
    """
    return f"D{int(crosswalk_id):06d}"


_KEYS_PER_QUERY = 5_000


def _staff_keys(store: Store) -> list[str]:
    """Record keys that have a staff row (the automatic confirmations are most rows)."""
    with store.engine.connect() as connection:
        return list(
            connection.execute(
                select(crosswalk.c.source_key).where(crosswalk.c.decided_by != AUTO_CONFIRMED_BY).distinct()
            ).scalars()
        )


def _crosswalk_rows(store: Store, keys: list[str]) -> pd.DataFrame:
    """Every crosswalk row of the given record keys, oldest first."""
    columns = [
        "crosswalk_id",
        "source_id",
        "source_key",
        "resident_id",
        "decision",
        "decided_by",
        "decided_at",
        "note",
    ]
    rows: list = []
    with store.engine.connect() as connection:
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            part = keys[start : start + _KEYS_PER_QUERY]
            statement = select(*[crosswalk.c[c] for c in columns]).where(crosswalk.c.source_key.in_(part))
            rows.extend(tuple(row) for row in connection.execute(statement))
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    frame = frame.sort_values(["decided_at", "crosswalk_id"], kind="stable").reset_index(drop=True)
    for column in ("source_id", "source_key", "resident_id", "decision", "decided_by", "note"):
        frame[column] = frame[column].fillna("").astype(str).astype(object)
    return frame


def _states(rows: pd.DataFrame) -> np.ndarray:
    """State of each crosswalk row (oldest first): 有効 / 取消済み / 変更済み / 取消の記録."""
    pair = ["source_id", "source_key", "resident_id"]
    latest = ~rows.duplicated(pair, keep="last").to_numpy()
    decision = rows["decision"].to_numpy(dtype=object)
    # The decision that followed each row on the same pair.
    following = rows.groupby(pair, sort=False)["decision"].shift(-1).fillna("").to_numpy(dtype=object)
    state = np.where(following == REVOKED, REVOKED_STATE, REPLACED).astype(object)
    state[latest] = ACTIVE
    # A 同一 gives way to a later 同一 of the same record key (to another resident).
    same = (decision == SAME) & latest
    key_latest_same = ~rows[same].duplicated(["source_id", "source_key"], keep="last").to_numpy()
    state[np.flatnonzero(same)[~key_latest_same]] = REPLACED
    state[decision == REVOKED] = REVOCATION
    return state


def decisions_table(store: Store, source_names: dict[str, str]) -> pd.DataFrame:
    """Rows of the 名寄せ判定 tab: staff decisions and revocations, newest first (capped)."""
    rows = _crosswalk_rows(store, _staff_keys(store))
    rows["state"] = _states(rows) if len(rows) else pd.Series(dtype=object)
    staff = rows[rows["decided_by"] != AUTO_CONFIRMED_BY].iloc[::-1].head(DECISION_ROWS_SHOWN)
    when = pd.to_datetime(staff["decided_at"], errors="coerce")
    table = pd.DataFrame(
        {
            "判定ID": [decision_id(i) for i in staff["crosswalk_id"]],
            "ソース名": [source_names.get(s, s) for s in staff["source_id"]],
            "ソースID": staff["source_id"].to_numpy(dtype=object),
            "レコードキー": staff["source_key"].to_numpy(dtype=object),
            "宛名番号": staff["resident_id"].to_numpy(dtype=object),
            "判定": staff["decision"].to_numpy(dtype=object),
            "メモ": staff["note"].to_numpy(dtype=object),
            "判定者": staff["decided_by"].to_numpy(dtype=object),
            "判定日時": when.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("").to_numpy(dtype=object),
            "状態": staff["state"].to_numpy(dtype=object),
            "取消": "",
            "取消理由": "",
        },
        columns=LINK_DECISIONS.headers,
    )
    return table.reset_index(drop=True)


@dataclass
class Revocations:
    """Revocations marked on the 名寄せ判定 tab.

    Attributes:
        decisions: 取消 rows to append (``source_id, source_key, resident_id, decision, note``).
        problems: Japanese messages naming rows that cannot be revoked as marked; when
            there are any, the run must stop before storing anything.
    """

    decisions: pd.DataFrame
    problems: list[str] = field(default_factory=list)


_COLUMNS = ["source_id", "source_key", "resident_id", "decision", "note"]


def harvest_revocations(table: pd.DataFrame | None, store: Store) -> Revocations:
    """The rows marked 取消, checked against the stored decision their 判定ID names.

    A row whose 判定ID, source, record key, resident number or decision differ from the
    stored decision (an older copy of the tab, rows moved) is refused, naming the Excel
    row. Decisions already revoked or replaced are left as they are.
    """
    if table is None or table.empty or "取消" not in table.columns:
        return Revocations(pd.DataFrame(columns=_COLUMNS))
    frame = table.fillna("").astype(str).apply(lambda column: column.str.strip()).reset_index(drop=True)
    marked = np.flatnonzero((frame["取消"] != "").to_numpy())
    if len(marked) == 0:
        return Revocations(pd.DataFrame(columns=_COLUMNS))
    # Every row of the record keys named on the marked rows: their states need them all.
    stored = _crosswalk_rows(
        store, sorted(set(frame.loc[marked, "レコードキー"]) if "レコードキー" in frame else set())
    )
    stored["state"] = _states(stored) if len(stored) else pd.Series(dtype=object)
    by_id = {decision_id(i): row for i, row in zip(stored["crosswalk_id"], stored.itertuples(), strict=True)}
    out, problems = [], []
    for position in marked:
        row = frame.iloc[position]
        where = f"名寄せ判定タブの{LINK_DECISIONS.excel_row(position)}行目(判定ID「{row.get('判定ID', '')}」)"
        found = by_id.get(row.get("判定ID", ""))
        if row["取消"] != REVOKED:
            problems.append(f"{where}: 取消列には「取消」を選んでください(「{row['取消']}」は使えません)。")
        elif found is None or (found.source_id, found.source_key, found.resident_id, found.decision) != (
            row.get("ソースID", ""),
            row.get("レコードキー", ""),
            row.get("宛名番号", ""),
            row.get("判定", ""),
        ):
            problems.append(
                f"{where}: 判定IDがこの行のソース・レコードキー・宛名番号・判定と合いません"
                "(古い名寄せ判定からの貼り付けや行の並べ替えの可能性があります)。"
                "この行の取消を消して、もう一度名寄せを実行してください。"
            )
        elif found.decision not in (SAME, DIFFERENT):
            problems.append(
                f"{where}: 取消の記録は取り消せません。必要なら名寄せ確認で改めて判定してください。"
            )
        elif found.state == ACTIVE:
            out.append(
                {
                    "source_id": found.source_id,
                    "source_key": found.source_key,
                    "resident_id": found.resident_id,
                    "decision": REVOKED,
                    "note": row.get("取消理由", ""),
                }
            )
    return Revocations(pd.DataFrame(out, columns=_COLUMNS), problems)
