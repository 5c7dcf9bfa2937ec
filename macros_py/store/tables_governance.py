"""Tables of the governance stage (audit and settings history). Owned by macros_py.governance.

The ``audit_log`` table itself sits in :mod:`macros_py.store.schema` (every stage writes it).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text

from macros_py.store.schema import metadata

# The settings tabs as a run found them, kept only when a tab changed since its last copy:
# the next run compares against it and writes a ``settings_change`` audit entry.
settings_snapshots = Table(
    "settings_snapshots",
    metadata,
    Column("snapshot_id", Integer, primary_key=True, autoincrement=True),
    Column("taken_at", DateTime, nullable=False),
    Column("user_name", String(128), nullable=False),
    Column("sheet_key", String(64), nullable=False),
    Column("content_hash", String(64), nullable=False),
    # {row key: [row hashes]}; the 利用者 tab keeps its rows in full (the rights staff held).
    Column("rows_json", Text, nullable=False),
)
Index("ix_settings_snapshots_sheet", settings_snapshots.c.sheet_key, settings_snapshots.c.snapshot_id)
