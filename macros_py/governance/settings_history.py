"""Settings changes: each run compares the settings tabs with their last stored copy.

A tab that differs (or is seen for the first time) gets a new copy in
``settings_snapshots`` and an audit entry naming the tab and how many rows were added,
removed or changed, with the keys of those rows (a tab's first column: 項目, ソースID,
コード表ID, 利用者ID ...). Only digests of the rows are kept, never their values (the
設定 tab may hold a database password), except for the 利用者 tab, whose rows are the
rights staff held and are kept in full for the yearly access report.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, func, insert, select

from macros_py.governance.vocabulary import SETTINGS_CHANGE, SETTINGS_RECORDED
from macros_py.sheets import SETTINGS_SHEETS, USERS, SheetSpec
from macros_py.store import Store
from macros_py.store.audit_chain import AuditEntry, append_entries, take_write_lock
from macros_py.store.tables_governance import settings_snapshots

KEYS_LISTED = 30  # keys named per change entry; the counts cover the rest


@dataclass(frozen=True)
class TabCopy:
    """One settings tab reduced to what is stored: its hash and rows (digests or full)."""

    sheet: SheetSpec
    content_hash: str
    rows: dict  # {"keys": {key: [row digests]}} or, for 利用者, {"rows": [[cells]]}

    @property
    def rows_json(self) -> str:
        return json.dumps(self.rows, ensure_ascii=False, sort_keys=True)


def _cells(table: pd.DataFrame, sheet: SheetSpec) -> list[list[str]]:
    """The tab's non-blank rows as stripped texts, in the sheet's column order."""
    frame = table.reindex(columns=sheet.headers).astype(object)
    frame = frame.where(frame.notna(), "").astype(str).apply(lambda column: column.str.strip())
    rows = frame.to_numpy().tolist()
    return [row for row in rows if any(row)]


def _digest(row: list[str]) -> str:
    return hashlib.sha256(json.dumps(row, ensure_ascii=False).encode("utf-8")).hexdigest()[:32]


def tab_copy(sheet: SheetSpec, table: pd.DataFrame) -> TabCopy:
    """What is stored of one settings tab."""
    rows = _cells(table, sheet)
    content_hash = hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode("utf-8")).hexdigest()
    if sheet.key == USERS.key:
        return TabCopy(sheet, content_hash, {"rows": rows})
    keys: dict[str, list[str]] = {}
    for row in rows:
        keys.setdefault(row[0], []).append(_digest(row))
    return TabCopy(sheet, content_hash, {"keys": keys})


def _keyed(rows: dict) -> dict[str, list[str]]:
    if "keys" in rows:
        return rows["keys"]
    keyed: dict[str, list[str]] = {}
    for row in rows.get("rows", []):
        keyed.setdefault(row[0], []).append(_digest(row))
    return keyed


def changed_keys(previous: dict, current: dict) -> dict[str, list[str]]:
    """Keys (first column) added, removed and changed between two stored copies of a tab."""
    before, after = _keyed(previous), _keyed(current)
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": sorted(
            key for key in set(before) & set(after) if sorted(before[key]) != sorted(after[key])
        ),
    }


def _last_copies(connection: Connection) -> dict[str, tuple[str, dict]]:
    """The newest stored copy of each tab: sheet key -> (content hash, rows)."""
    newest = (
        select(func.max(settings_snapshots.c.snapshot_id))
        .group_by(settings_snapshots.c.sheet_key)
        .scalar_subquery()
    )
    rows = connection.execute(
        select(
            settings_snapshots.c.sheet_key, settings_snapshots.c.content_hash, settings_snapshots.c.rows_json
        ).where(settings_snapshots.c.snapshot_id.in_(newest))
    ).all()
    return {row.sheet_key: (row.content_hash, json.loads(row.rows_json)) for row in rows}


def _entry(copy: TabCopy, previous: tuple[str, dict] | None, user_name: str) -> AuditEntry:
    if previous is None:
        return AuditEntry(
            action=SETTINGS_RECORDED,
            user_name=user_name,
            target=copy.sheet.name,
            counts={"rows": sum(len(digests) for digests in _keyed(copy.rows).values())},
        )
    keys = changed_keys(previous[1], copy.rows)
    detail: dict = {kind: names[:KEYS_LISTED] for kind, names in keys.items() if names}
    if copy.sheet.key == USERS.key:  # the rights granted and withdrawn, for the access review
        detail["rows"] = copy.rows["rows"]
    return AuditEntry(
        action=SETTINGS_CHANGE,
        user_name=user_name,
        target=copy.sheet.name,
        counts={kind: len(names) for kind, names in keys.items()},
        detail=detail,
    )


def record_settings(store: Store, tables: Mapping[str, pd.DataFrame], user_name: str) -> list[int]:
    """Store a copy of every settings tab that changed since its last copy and audit the change.

    Tabs the caller did not read are skipped (never taken for emptied). Runs in one
    transaction under the store's write lock: the copy and its audit entry go together.

    Returns:
        The numbers of the audit entries written (none when nothing changed).
    """
    copies = [tab_copy(sheet, tables[sheet.key]) for sheet in SETTINGS_SHEETS if sheet.key in tables]
    with store.engine.connect() as connection:  # most runs change nothing: no write lock for them
        last = _last_copies(connection)
    if all(copy.sheet.key in last and last[copy.sheet.key][0] == copy.content_hash for copy in copies):
        return []
    with store.engine.begin() as connection:
        take_write_lock(connection)
        last = _last_copies(connection)
        changed = [
            copy
            for copy in copies
            if copy.sheet.key not in last or last[copy.sheet.key][0] != copy.content_hash
        ]
        if not changed:
            return []
        now = datetime.now()
        connection.execute(
            insert(settings_snapshots),
            [
                {
                    "taken_at": now,
                    "user_name": user_name,
                    "sheet_key": copy.sheet.key,
                    "content_hash": copy.content_hash,
                    "rows_json": copy.rows_json,
                }
                for copy in changed
            ],
        )
        return append_entries(
            connection, [_entry(copy, last.get(copy.sheet.key), user_name) for copy in changed]
        )


def users_copies(connection: Connection, *, until: datetime) -> list[tuple[datetime, str, list[list[str]]]]:
    """Every stored copy of the 利用者 tab taken before ``until``: (when, by whom, rows), oldest first."""
    rows = connection.execute(
        select(settings_snapshots.c.taken_at, settings_snapshots.c.user_name, settings_snapshots.c.rows_json)
        .where(settings_snapshots.c.sheet_key == USERS.key, settings_snapshots.c.taken_at < until)
        .order_by(settings_snapshots.c.snapshot_id)
    ).all()
    return [(row.taken_at, row.user_name, json.loads(row.rows_json).get("rows", [])) for row in rows]
