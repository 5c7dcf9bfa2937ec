"""Table definitions shared by every stage.

Each stage keeps its tables in its own ``tables_<stage>.py`` module so that the
schema stays readable; all of them register on the one ``metadata`` below and are
imported at the bottom of this module.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text

# Bump when a migration is added to macros_py.store.migrations.MIGRATIONS.
SCHEMA_VERSION = 5

metadata = MetaData()

schema_info = Table(
    "schema_info",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("user_name", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(255), nullable=True),
    Column("detail", Text, nullable=True),
    # Since schema version 5: where, how many, and the hash chain (macros_py.store.audit_chain).
    Column("machine", String(128), nullable=True),
    Column("counts", Text, nullable=True),
    Column("prev_hash", String(64), nullable=True),
    Column("entry_hash", String(64), nullable=True),
)

action_runs = Table(
    "action_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("action", String(64), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
    Column("user_name", String(128), nullable=False),
    Column("ok", Integer, nullable=True),
    Column("summary_json", Text, nullable=True),
)

# Stage tables register themselves on ``metadata`` when imported.
from macros_py.store import tables_governance, tables_ingest, tables_link, tables_score  # noqa: E402,F401
