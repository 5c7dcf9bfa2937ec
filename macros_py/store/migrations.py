"""Forward-only schema migrations.

The store records its schema version in ``schema_info``. Opening an older store runs
every migration above its version in order, each in its own transaction. A store
newer than this code is refused rather than guessed at.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Connection, DateTime, inspect, select, text

from macros_py.store.audit_chain import chain_existing_entries
from macros_py.store.schema import SCHEMA_VERSION, metadata, schema_info

logger = logging.getLogger(__name__)

Migration = Callable[[Connection], None]


def _import_statistics(connection: Connection) -> None:
    """Version 2: quality statistics counted while importing.

    Drops ``ix_records_resident`` (no query uses it; keeping it up to date cost a third
    of the insert time) and adds the per-file duplicate counts to ``imports``. The new
    ``import_field_counts`` table is additive and created by ``create_all``; for imports
    stored before, the quality report computes the figures from the records.
    """
    connection.execute(text("DROP INDEX IF EXISTS ix_records_resident"))
    connection.execute(text("ALTER TABLE imports ADD COLUMN duplicate_records INTEGER"))
    connection.execute(text("ALTER TABLE imports ADD COLUMN duplicate_resident_ids INTEGER"))


def _held_imports(connection: Connection) -> None:
    """Version 3: held extracts, accepted files and the mapping fingerprint of each import.

    Adds ``imports.mapping_fingerprint``, ``missing_columns``, ``accepted_by`` and
    ``accepted_at`` (columns already there are left alone). Imports stored before have no
    fingerprint, so the next import re-reads their files once under the current mapping.
    The ``import_locks`` table is additive (``create_all``).
    """
    present = {column["name"] for column in inspect(connection).get_columns("imports")}
    timestamp = DateTime().compile(dialect=connection.dialect)
    for name, kind in (
        ("mapping_fingerprint", "VARCHAR(64)"),
        ("missing_columns", "TEXT"),
        ("accepted_by", "VARCHAR(128)"),
        ("accepted_at", timestamp),
    ):
        if name not in present:
            connection.execute(text(f"ALTER TABLE imports ADD COLUMN {name} {kind}"))


def _score_tables(connection: Connection) -> None:
    """Version 4: the scoring stage (``score_runs``, ``score_children``, ``score_items``,
    ``score_results``, ``score_type_scores``).

    The tables are new and created by ``create_all`` after the migrations; nothing
    existing changes. The version is raised so that an older mimamori refuses a store
    holding score runs it would not know how to keep.
    """
    del connection


def _audit_chain(connection: Connection) -> None:
    """Version 5: the audit log becomes a hash chain (``macros_py.store.audit_chain``).

    Adds ``audit_log.machine``, ``counts``, ``prev_hash`` and ``entry_hash`` (columns
    already there are left alone) and chains the entries already stored, in their order.
    The ``settings_snapshots`` table is additive (``create_all``). Runs under the write
    lock ``upgrade`` takes, so two staff opening the store at once chain it once.
    """
    present = {column["name"] for column in inspect(connection).get_columns("audit_log")}
    for name, kind in (
        ("machine", "VARCHAR(128)"),
        ("counts", "TEXT"),
        ("prev_hash", "VARCHAR(64)"),
        ("entry_hash", "VARCHAR(64)"),
    ):
        if name not in present:
            connection.execute(text(f"ALTER TABLE audit_log ADD COLUMN {name} {kind}"))
    chained = chain_existing_entries(connection)
    logger.info("chained %s audit entries written before schema version 5", chained)


# version -> function that brings a store from version-1 to version.
# Version 1 is the initial schema created by ``metadata.create_all``.
MIGRATIONS: dict[int, Migration] = {
    2: _import_statistics,
    3: _held_imports,
    4: _score_tables,
    5: _audit_chain,
}


class StoreVersionError(RuntimeError):
    """The store was written by a newer mimamori than this one."""


def read_schema_version(connection: Connection) -> int | None:
    """Return the stored schema version, or None for an empty store."""
    if not connection.dialect.has_table(connection, schema_info.name):
        return None
    value = connection.execute(
        select(schema_info.c.value).where(schema_info.c.key == "schema_version")
    ).scalar_one_or_none()
    return int(value) if value is not None else None


def _write_schema_version(connection: Connection, version: int) -> None:
    connection.execute(schema_info.delete().where(schema_info.c.key == "schema_version"))
    connection.execute(schema_info.insert().values(key="schema_version", value=str(version)))


def _lock_schema_version(connection: Connection) -> None:
    """Take the store's write lock (SQLite) or the version row's lock (PostgreSQL) first."""
    connection.execute(
        schema_info.update().where(schema_info.c.key == "schema_version").values(value=schema_info.c.value)
    )


def upgrade(engine) -> int:
    """Create or migrate the schema to ``SCHEMA_VERSION``; return the version reached."""
    with engine.begin() as connection:
        current = read_schema_version(connection)
        if current is None:
            metadata.create_all(connection)
            _write_schema_version(connection, SCHEMA_VERSION)
            logger.info("created store schema version %s", SCHEMA_VERSION)
            return SCHEMA_VERSION
    if current > SCHEMA_VERSION:
        raise StoreVersionError(
            f"データベースのバージョン({current})がこのプログラム({SCHEMA_VERSION})より新しいため開けません。"
            "mimamori を更新してください。"
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        with engine.begin() as connection:
            # Two staff opening an older store at once: the first takes the write lock,
            # the second waits here and then finds the version already reached.
            _lock_schema_version(connection)
            if (read_schema_version(connection) or 0) >= version:
                continue
            MIGRATIONS[version](connection)
            _write_schema_version(connection, version)
        logger.info("migrated store to schema version %s", version)
    # Tables added without altering existing ones are created here (additive only).
    with engine.begin() as connection:
        _lock_schema_version(connection)  # two first openers must not both create a new table
        metadata.create_all(connection)
    return SCHEMA_VERSION
