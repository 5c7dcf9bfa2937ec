"""The store: creation, versioning, forward migrations, SQLite guard, PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, String, Table, inspect, select, text

from macros_py.store import SCHEMA_VERSION, open_store, resolve_store_url
from macros_py.store import migrations as migrations_module
from macros_py.store.engine import StoreLocationError
from macros_py.store.migrations import StoreVersionError, read_schema_version
from macros_py.store.schema import audit_log, metadata


def test_new_sqlite_store_has_every_table_and_the_current_version(tmp_path):
    store = open_store(tmp_path / "m.db")
    tables = set(inspect(store.engine).get_table_names())
    assert set(metadata.tables) <= tables
    with store.engine.connect() as connection:
        assert read_schema_version(connection) == SCHEMA_VERSION


def test_plain_path_becomes_sqlite_url_and_urls_pass_through(tmp_path):
    assert resolve_store_url(tmp_path / "a.db") == f"sqlite:///{(tmp_path / 'a.db').resolve()}"
    assert resolve_store_url("postgresql+psycopg://u@127.0.0.1/db") == "postgresql+psycopg://u@127.0.0.1/db"


def test_sqlite_on_a_windows_network_share_is_refused():
    with pytest.raises(StoreLocationError, match="ネットワーク共有"):
        resolve_store_url("sqlite:///\\\\server\\share\\mimamori.db")


def test_audit_rows_record_who_and_what(tmp_path):
    store = open_store(tmp_path / "m.db")
    store.audit("tanaka", "import", target="jumin", detail={"stored": 3})
    with store.engine.connect() as connection:
        row = connection.execute(select(audit_log)).one()
    assert (row.user_name, row.action, row.target) == ("tanaka", "import", "jumin")
    assert '"stored": 3' in row.detail


def test_forward_migration_runs_once_and_keeps_data(tmp_path, monkeypatch):
    path = tmp_path / "m.db"
    store = open_store(path)
    store.audit("tanaka", "before-upgrade")
    store.dispose()

    def add_note_column(connection):
        connection.execute(text("ALTER TABLE audit_log ADD COLUMN note VARCHAR(40)"))

    monkeypatch.setattr(migrations_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(migrations_module.MIGRATIONS, SCHEMA_VERSION + 1, add_note_column)
    upgraded = open_store(path)
    with upgraded.engine.connect() as connection:
        assert read_schema_version(connection) == SCHEMA_VERSION + 1
        columns = {column["name"] for column in inspect(connection).get_columns("audit_log")}
        assert "note" in columns
        assert connection.execute(select(audit_log.c.action)).scalar_one() == "before-upgrade"
    upgraded.dispose()
    # Opening again must not re-run the migration (ALTER would fail on a second run).
    open_store(path).dispose()


def test_a_version_1_store_is_migrated_to_import_statistics(tmp_path):
    path = tmp_path / "m.db"
    store = open_store(path)
    store.audit("tanaka", "kept")
    with store.engine.begin() as connection:  # make it look like schema version 1
        connection.execute(text("DROP TABLE import_field_counts"))
        connection.execute(text("ALTER TABLE imports DROP COLUMN duplicate_records"))
        connection.execute(text("ALTER TABLE imports DROP COLUMN duplicate_resident_ids"))
        connection.execute(text("CREATE INDEX ix_records_resident ON records (resident_id)"))
        connection.execute(text("UPDATE schema_info SET value = '1' WHERE key = 'schema_version'"))
    store.dispose()
    upgraded = open_store(path)
    with upgraded.engine.connect() as connection:
        assert read_schema_version(connection) == SCHEMA_VERSION >= 2
        inspector = inspect(connection)
        assert "ix_records_resident" not in {index["name"] for index in inspector.get_indexes("records")}
        columns = {column["name"] for column in inspector.get_columns("imports")}
        assert {"duplicate_records", "duplicate_resident_ids"} <= columns
        assert "import_field_counts" in inspector.get_table_names()
        assert connection.execute(select(audit_log.c.action)).scalar_one() == "kept"
    upgraded.dispose()


def test_store_written_by_newer_version_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "m.db"
    open_store(path).dispose()
    monkeypatch.setattr(migrations_module, "SCHEMA_VERSION", SCHEMA_VERSION - 1)
    with pytest.raises(StoreVersionError, match="新しい"):
        open_store(path)


@pytest.mark.postgres
def test_postgresql_store_round_trip(postgres_url):
    store = open_store(postgres_url)
    probe = Table(
        "zz_probe", metadata.__class__(), Column("id", Integer, primary_key=True), Column("v", String(8))
    )
    try:
        with store.engine.connect() as connection:
            assert read_schema_version(connection) == SCHEMA_VERSION
        store.audit("suzuki", "postgres-check")
        with store.engine.begin() as connection:
            probe.create(connection)
            connection.execute(probe.insert().values(id=1, v="あ"))
            assert connection.execute(select(probe.c.v)).scalar_one() == "あ"
            count = connection.execute(
                select(audit_log.c.audit_id).where(audit_log.c.action == "postgres-check")
            ).all()
            assert count
    finally:
        with store.engine.begin() as connection:
            probe.drop(connection, checkfirst=True)
        store.dispose()


_OPEN_AT = """
import sys, time
from macros_py.store import open_store
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
open_store(sys.argv[1]).dispose()
"""


def _as_schema_version_1(path) -> None:
    from sqlalchemy import text

    store = open_store(path)
    with store.engine.begin() as connection:
        for column in (
            "duplicate_records",
            "duplicate_resident_ids",
            "mapping_fingerprint",
            "missing_columns",
            "accepted_by",
            "accepted_at",
        ):
            connection.execute(text(f"ALTER TABLE imports DROP COLUMN {column}"))
        connection.execute(text("DROP TABLE import_locks"))
        connection.execute(text("UPDATE schema_info SET value = '1' WHERE key = 'schema_version'"))
    store.dispose()


def test_two_staff_opening_an_older_store_at_once_both_get_it_migrated(tmp_path):
    import subprocess
    import sys
    import time

    for round_number in range(3):
        path = tmp_path / f"round{round_number}.db"
        _as_schema_version_1(path)
        start = time.time() + 1.5
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", _OPEN_AT, str(path), str(start)],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        errors = [process.communicate(timeout=120)[1] for process in processes]
        assert [process.returncode for process in processes] == [0, 0], errors
        store = open_store(path)
        columns = {column["name"] for column in inspect(store.engine).get_columns("imports")}
        assert {"duplicate_records", "mapping_fingerprint", "accepted_at"} <= columns
        store.dispose()
