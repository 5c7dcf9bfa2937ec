"""The yearly access report (``mimamori audit report``): who did what, which rights were held.

DOMAIN.md §5: access and operation logs are reviewed yearly together with access rights.
The report is a workbook for that review, built from the audit log and the stored copies
of the 利用者 tab:

- 概要: the year, the figures, and whether the audit log's chain is intact;
- 利用者別の操作: per user and kind of action, how many and the first and last time;
- 権限: every 利用者 row in force during the year, from when to when, and administrators
  recorded because the tab was empty;
- 拒否された操作: refused attempts, with the reason;
- 記録一覧: every entry of the year.

Sheet names and headers are Japanese; every cell is written as text or number, never as
a formula (an entry's text never becomes code).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import xlsxwriter
from sqlalchemy import select

from macros_py.governance.settings_history import users_copies
from macros_py.governance.verify import ChainCheck
from macros_py.governance.vocabulary import ADMINISTRATOR_RECORDED, REFUSED, audit_action_label
from macros_py.sheets import USERS
from macros_py.store import Store
from macros_py.store.schema import audit_log

SUMMARY_SHEET = "概要"
BY_USER_SHEET = "利用者別の操作"
RIGHTS_SHEET = "権限"
REFUSED_SHEET = "拒否された操作"
ENTRIES_SHEET = "記録一覧"

ENTRY_HEADERS = ["番号", "日時", "利用者", "端末", "操作", "対象", "件数", "詳細"]
BY_USER_HEADERS = ["利用者", "操作", "件数", "最初", "最後"]
RIGHTS_HEADERS = ["利用者ID", "氏名", "役割", "所属学校", "有効", "適用開始", "適用終了", "根拠"]
REFUSED_HEADERS = ["日時", "利用者", "端末", "操作", "理由"]
_REFUSAL_REASONS = {
    "not_listed": "利用者タブに登録されていない",
    "role": "役割に権限がない",
    "not_administrator": "利用者タブが空で、記録された管理者ではない",
}
_TIME = "%Y-%m-%d %H:%M:%S"


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The first instant of ``year`` and of the year after."""
    return datetime(year, 1, 1), datetime(year + 1, 1, 1)


def _entries(store: Store, start: datetime, end: datetime) -> pd.DataFrame:
    columns = [
        audit_log.c[name]
        for name in ("audit_id", "at", "user_name", "machine", "action", "target", "counts", "detail")
    ]
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(*columns)
            .where(audit_log.c.at >= start, audit_log.c.at < end)
            .order_by(audit_log.c.audit_id)
        ).all()
    return pd.DataFrame(rows, columns=[column.name for column in columns])


def _json_object(text: object) -> dict:
    """A stored counts/detail JSON as a mapping ({} when empty or not an object)."""
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"内容": text}
    return value if isinstance(value, dict) else {"内容": value}


def _json_cell(text: object) -> str:
    """A counts/detail JSON as one readable line (``key: value``)."""
    return "、".join(
        f"{key}: {json.dumps(item, ensure_ascii=False) if isinstance(item, dict | list) else item}"
        for key, item in _json_object(text).items()
    )


def entries_table(entries: pd.DataFrame) -> pd.DataFrame:
    """記録一覧: every entry of the period, as staff read it."""
    return pd.DataFrame(
        {
            "番号": entries["audit_id"].astype(int),
            "日時": [f"{at:{_TIME}}" for at in entries["at"]],
            "利用者": entries["user_name"].astype(str),
            "端末": entries["machine"].fillna("").astype(str),
            "操作": [audit_action_label(action) for action in entries["action"]],
            "対象": [
                _json_object(detail).get("label") or ("" if pd.isna(target) else str(target))
                for target, detail in zip(entries["target"], entries["detail"], strict=True)
            ],
            "件数": [_json_cell(text) for text in entries["counts"]],
            "詳細": [_json_cell(text) for text in entries["detail"]],
        },
        columns=ENTRY_HEADERS,
    )


def by_user_table(entries: pd.DataFrame) -> pd.DataFrame:
    """利用者別の操作: per user and kind of action, how many and when first and last."""
    if entries.empty:
        return pd.DataFrame(columns=BY_USER_HEADERS)
    frame = entries.assign(label=[audit_action_label(action) for action in entries["action"]])
    grouped = (
        frame.groupby(["user_name", "label"], sort=True)["at"].agg(["count", "min", "max"]).reset_index()
    )
    return pd.DataFrame(
        {
            "利用者": grouped["user_name"],
            "操作": grouped["label"],
            "件数": grouped["count"].astype(int),
            "最初": [f"{at:{_TIME}}" for at in grouped["min"]],
            "最後": [f"{at:{_TIME}}" for at in grouped["max"]],
        },
        columns=BY_USER_HEADERS,
    )


def refused_table(entries: pd.DataFrame) -> pd.DataFrame:
    """拒否された操作: refused attempts, with the reason in Japanese."""
    refused = entries[entries["action"] == REFUSED]
    details = [_json_object(text) for text in refused["detail"]]
    return pd.DataFrame(
        {
            "日時": [f"{at:{_TIME}}" for at in refused["at"]],
            "利用者": refused["user_name"].astype(str).to_numpy(),
            "端末": refused["machine"].fillna("").astype(str).to_numpy(),
            "操作": [
                detail.get("label", target) for detail, target in zip(details, refused["target"], strict=True)
            ],
            "理由": [
                _REFUSAL_REASONS.get(detail.get("reason", ""), detail.get("reason", "")) for detail in details
            ],
        },
        columns=REFUSED_HEADERS,
    )


def rights_table(store: Store, start: datetime, end: datetime, entries: pd.DataFrame) -> pd.DataFrame:
    """権限: each 利用者 row in force during the period, from when to when.

    A copy of the 利用者 tab is in force from when it was taken until the next copy; the
    copy in force at the start of the year counts from the start. Rows identical in
    consecutive copies are merged into one period.
    """
    with store.engine.connect() as connection:
        copies = users_copies(connection, until=end)
    periods: list[dict] = []
    open_rows: dict[tuple, dict] = {}
    for index, (taken_at, _by, rows) in enumerate(copies):
        until = copies[index + 1][0] if index + 1 < len(copies) else end
        if until <= start:
            continue
        begin = max(taken_at, start)
        current = {tuple((row + [""] * len(USERS.headers))[: len(USERS.headers)]) for row in rows}
        for key in list(open_rows):
            if key not in current:
                periods.append(open_rows.pop(key))
        for key in sorted(current):
            if key in open_rows:
                open_rows[key]["適用終了"] = until
            else:
                open_rows[key] = {
                    **dict(zip(USERS.headers, key, strict=True)),
                    "適用開始": begin,
                    "適用終了": until,
                }
    periods.extend(open_rows.values())
    table = pd.DataFrame(periods, columns=[*USERS.headers, "適用開始", "適用終了"])
    table["根拠"] = "利用者タブ"
    recorded = entries[entries["action"] == ADMINISTRATOR_RECORDED]
    administrators = pd.DataFrame(
        {
            "利用者ID": recorded["target"].astype(str).to_numpy(),
            "氏名": "",
            "役割": "管理者",
            "所属学校": "",
            "有効": "はい",
            "適用開始": recorded["at"].to_numpy(),
            "適用終了": pd.NaT,
            "根拠": "利用者タブが空のため記録(管理者の記録)",
        }
    )
    table = pd.concat([table, administrators], ignore_index=True) if len(administrators) else table
    for column in ("適用開始", "適用終了"):
        table[column] = [
            f"{value:{_TIME}}" if pd.notna(value) and value < end else "年末まで" for value in table[column]
        ]
    return table.reindex(columns=RIGHTS_HEADERS).fillna("")


def summary_table(year: int, entries: pd.DataFrame, check: ChainCheck, made_by: str) -> pd.DataFrame:
    """概要: the year, the figures and the chain check."""
    items = [
        ("対象年", f"{year}年"),
        ("期間", f"{year}-01-01 から {year}-12-31 まで"),
        ("記録の件数", str(len(entries))),
        ("操作した利用者の数", str(entries["user_name"].nunique())),
        ("拒否された操作の件数", str(int((entries["action"] == REFUSED).sum()))),
        ("監査ログの検証", check.message()),
        ("作成日時", f"{datetime.now():{_TIME}}"),
        ("作成者", made_by),
        (
            "読み方",
            "利用者別の操作で職員ごとの操作を、権限でその期間に持っていた役割を確認してください。"
            "監査ログの検証が異常のときは、記録が書き換えられた可能性があります。",
        ),
    ]
    return pd.DataFrame(items, columns=["項目", "内容"])


def access_report(store: Store, *, year: int, check: ChainCheck, made_by: str) -> dict[str, pd.DataFrame]:
    """The report's sheets (Japanese sheet name -> table) for one calendar year."""
    start, end = year_bounds(year)
    entries = _entries(store, start, end)
    return {
        SUMMARY_SHEET: summary_table(year, entries, check, made_by),
        BY_USER_SHEET: by_user_table(entries),
        RIGHTS_SHEET: rights_table(store, start, end, entries),
        REFUSED_SHEET: refused_table(entries),
        ENTRIES_SHEET: entries_table(entries),
    }


def write_report(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    """Write the report workbook atomically (a temporary file beside it, then renamed)."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=".mimamori-", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        workbook = xlsxwriter.Workbook(temporary, {"strings_to_formulas": False, "strings_to_urls": False})
        header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        for name, table in sheets.items():
            sheet = workbook.add_worksheet(name)
            for column, title in enumerate(table.columns):
                sheet.write_string(0, column, str(title), header)
                width = max(
                    [len(str(title)), *(len(str(value)) for value in table[title].head(500))], default=8
                )
                sheet.set_column(column, column, min(max(width * 1.6, 8), 80))
            for row_number, row in enumerate(table.itertuples(index=False), start=1):
                for column, value in enumerate(row):
                    if isinstance(value, (int, float)) and not isinstance(value, bool) and pd.notna(value):
                        sheet.write_number(row_number, column, value)
                    else:
                        sheet.write_string(row_number, column, "" if value is None else str(value))
            sheet.freeze_panes(1, 0)
            if len(table.columns):
                sheet.autofilter(0, 0, max(len(table), 1), len(table.columns) - 1)
        workbook.close()
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
