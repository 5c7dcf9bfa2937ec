"""The hash-chained audit log: ``mimamori audit verify`` on untouched and tampered logs.

Entries are written by real runs (file mode on a built workbook) and by the store's own
``audit``; tampering is done with sqlite3 directly, as someone with a database tool would.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text
from support import logged_on_as

from macros_py.actions import ACTION_BY_ID, ActionContext, ActionSpec, run_action
from macros_py.book.build import build_workbook
from macros_py.book.filemode import run_in_file_mode
from macros_py.config.defaults import default_tables
from macros_py.governance.verify import verify_audit_log
from macros_py.store import migrations as migrations_module
from macros_py.store import open_store
from macros_py.store.audit_chain import GENESIS_HASH
from macros_py.store.schema import audit_log

REPOSITORY = Path(__file__).resolve().parents[1]


def audit_cli(*arguments: str, folder: Path, user: str = "tester") -> subprocess.CompletedProcess:
    """``mimamori audit ...`` in a subprocess, logged on as ``user`` (getpass reads LOGNAME first)."""
    return subprocess.run(
        [sys.executable, "-m", "macros_py.cli", "audit", *arguments],
        cwd=folder,
        env=logged_on_as(user),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def verify(workbook: Path) -> tuple[int, dict]:
    completed = audit_cli("verify", "--workbook", str(workbook), "--json", folder=workbook.parent)
    assert completed.stdout, completed.stderr
    return completed.returncode, json.loads(completed.stdout)


@pytest.fixture
def workbook(tmp_path) -> Path:
    """A workbook whose store holds a few real entries (three runs of 設定チェック, edited settings)."""
    book = build_workbook(tmp_path / "mimamori.xlsm")
    for _ in range(2):
        assert run_in_file_mode("check_settings", book, user_name="tester").ok
    tables = default_tables()
    tables["settings"].loc[tables["settings"]["項目"] == "名寄せ自動しきい値", "値"] = "0.95"
    build_workbook(book, tables)
    assert run_in_file_mode("check_settings", book, user_name="tester").ok
    return book


def _ids(workbook: Path) -> list[int]:
    with sqlite3.connect(workbook.parent / "mimamori.db") as connection:
        return [row[0] for row in connection.execute("SELECT audit_id FROM audit_log ORDER BY audit_id")]


def _tamper(workbook: Path, *statements: str) -> None:
    connection = sqlite3.connect(workbook.parent / "mimamori.db")
    try:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


def test_untouched_log_verifies_with_exit_0(workbook):
    code, summary = verify(workbook)
    assert code == 0, summary
    assert summary["ok"] is True and summary["first_bad"] is None
    assert summary["entries"] == len(_ids(workbook)) - 1  # the check itself is then appended
    assert "改ざんされていません" in summary["message"]
    again, second = verify(workbook)  # the entry the first check appended chains on
    assert again == 0 and second["entries"] == summary["entries"] + 1


def test_edited_entry_is_named(workbook):
    ids = _ids(workbook)
    target = ids[3]
    _tamper(workbook, f"UPDATE audit_log SET user_name = 'someone' WHERE audit_id = {target}")
    code, summary = verify(workbook)
    assert code == 1
    assert summary["first_bad"]["audit_id"] == target
    assert "書き換え" in summary["first_bad"]["problem"]
    assert f"番号 {target}" in summary["message"]


def test_edited_counts_of_the_last_entry_are_named(workbook):
    last = _ids(workbook)[-1]
    _tamper(workbook, f"UPDATE audit_log SET counts = '{{\"ok\": false}}' WHERE audit_id = {last}")
    code, summary = verify(workbook)
    assert code == 1 and summary["first_bad"]["audit_id"] == last


def test_deleted_entry_is_found_at_the_entry_after_it(workbook):
    ids = _ids(workbook)
    _tamper(workbook, f"DELETE FROM audit_log WHERE audit_id = {ids[2]}")
    code, summary = verify(workbook)
    assert code == 1
    assert summary["first_bad"]["audit_id"] == ids[3]
    assert "削除" in summary["first_bad"]["problem"]


def test_deleted_last_entries_are_found(workbook):
    ids = _ids(workbook)
    _tamper(workbook, f"DELETE FROM audit_log WHERE audit_id >= {ids[-2]}")
    code, summary = verify(workbook)
    assert code == 1
    assert summary["first_bad"]["audit_id"] == ids[-2]
    assert "削除" in summary["first_bad"]["problem"]


def test_deleting_the_last_entry_is_found_even_after_new_entries(workbook):
    ids = _ids(workbook)
    _tamper(workbook, f"DELETE FROM audit_log WHERE audit_id = {ids[-1]}")
    assert run_in_file_mode("check_settings", workbook, user_name="tester").ok  # appends after the gap
    code, summary = verify(workbook)
    assert code == 1
    assert summary["first_bad"]["audit_id"] >= ids[-1]
    assert "つながっていません" in summary["first_bad"]["problem"]


def test_swapped_entries_are_named(workbook):
    ids = _ids(workbook)
    first, second = ids[4], ids[5]
    columns = "at, user_name, machine, action, target, counts, detail, prev_hash, entry_hash"
    _tamper(
        workbook,
        "CREATE TEMP TABLE swap AS SELECT * FROM audit_log",
        f"UPDATE audit_log SET ({columns}) = (SELECT {columns} FROM swap WHERE audit_id = {second}) "
        f"WHERE audit_id = {first}",
        f"UPDATE audit_log SET ({columns}) = (SELECT {columns} FROM swap WHERE audit_id = {first}) "
        f"WHERE audit_id = {second}",
    )
    code, summary = verify(workbook)
    assert code == 1
    assert summary["first_bad"]["audit_id"] == first
    assert "順序" in summary["first_bad"]["problem"]


def test_renumbered_entries_are_found(workbook):
    ids = _ids(workbook)
    _tamper(workbook, f"UPDATE audit_log SET audit_id = audit_id + 1000 WHERE audit_id = {ids[1]}")
    code, summary = verify(workbook)
    assert code == 1 and summary["first_bad"]["audit_id"] == ids[2]


def test_unreadable_timestamp_is_reported_not_raised(workbook):
    target = _ids(workbook)[1]
    _tamper(workbook, f"UPDATE audit_log SET at = 'yesterday' WHERE audit_id = {target}")
    code, summary = verify(workbook)
    assert code == 1 and summary["first_bad"]["audit_id"] == target


def test_text_output_is_japanese_and_missing_workbook_is_exit_3(workbook):
    completed = audit_cli("verify", "--workbook", str(workbook), folder=workbook.parent)
    assert completed.returncode == 0 and "監査ログは改ざんされていません" in completed.stdout
    missing = audit_cli("verify", "--workbook", str(workbook.parent / "none.xlsm"), folder=workbook.parent)
    assert missing.returncode == 3 and "見つかりません" in missing.stdout
    helped = audit_cli("verify", "--help", folder=workbook.parent)
    assert "終了コード" in helped.stdout and "最初の異常" in helped.stdout


def test_failed_run_is_audited_with_its_error_type(tmp_path, monkeypatch):
    """A run that raises is an entry too: ok false, the error's type, never its message."""
    monkeypatch.setitem(
        ACTION_BY_ID,
        "broken",
        ActionSpec(
            "broken",
            "壊れた操作",
            ("admin",),
            ("settings",),
            ("store",),
            f"{__name__}:broken_action",
            "試験用",
        ),
    )
    context = ActionContext(tables=default_tables(), workbook_dir=tmp_path, user_name="tester")
    result = run_action("broken", context)
    assert not result.ok and "予期しないエラー" in result.messages[0], result.messages
    store = open_store(tmp_path / "mimamori.db")
    try:
        with store.engine.connect() as connection:
            row = connection.execute(
                select(audit_log).where(audit_log.c.action == "run").order_by(audit_log.c.audit_id.desc())
            ).first()
        assert row.target == "broken" and json.loads(row.counts)["ok"] is False
        detail = json.loads(row.detail)
        assert detail["error"] == "ZeroDivisionError"
        assert "secret" not in row.detail  # the exception's message stays out of the audit log
        assert verify_audit_log(store).ok
    finally:
        store.dispose()


def broken_action(context: ActionContext):
    raise ZeroDivisionError("secret detail of 山田太郎")


def test_concurrent_writers_do_not_fork_the_chain(tmp_path):
    """Two processes and two threads append at once; every entry chains to the one before it."""
    path = tmp_path / "m.db"
    open_store(path).dispose()
    script = (
        "import sys\nfrom macros_py.store import open_store\nstore = open_store(sys.argv[1])\n"
        "for n in range(40):\n    store.audit(sys.argv[2], 'race', counts={'n': n})\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(path), f"p{n}"], cwd=REPOSITORY) for n in range(2)
    ]
    store = open_store(path)

    def write(name: str) -> None:
        for n in range(40):
            store.audit(name, "race", counts={"n": n})

    threads = [threading.Thread(target=write, args=(f"t{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [process.wait(timeout=120) for process in processes] == [0, 0]
    try:
        check = verify_audit_log(store)
        assert check.ok, check.message()
        assert check.entries == 160
        with store.engine.connect() as connection:
            hashes = connection.execute(select(audit_log.c.prev_hash)).scalars().all()
        assert len(set(hashes)) == len(hashes)  # no two entries chain to the same predecessor
    finally:
        store.dispose()


def test_entries_written_before_the_chain_are_chained_by_the_migration(tmp_path, monkeypatch):
    """A version 4 store's entries get their place in the chain once, in order."""
    path = tmp_path / "m.db"
    store = open_store(path)
    with store.engine.begin() as connection:
        for name in ("before-1", "before-2"):
            connection.execute(
                text(
                    f"INSERT INTO audit_log (at, user_name, action) VALUES ('2025-04-01 09:00:00.000000', 'tanaka', '{name}')"
                )
            )
        connection.execute(text("DELETE FROM schema_info WHERE key = 'audit_head'"))
        connection.execute(text("UPDATE schema_info SET value = '4' WHERE key = 'schema_version'"))
    store.dispose()
    upgraded = open_store(path)
    try:
        upgraded.audit("tanaka", "after")
        with upgraded.engine.connect() as connection:
            rows = connection.execute(select(audit_log).order_by(audit_log.c.audit_id)).all()
        assert [row.action for row in rows] == ["before-1", "before-2", "after"]
        assert rows[0].prev_hash == GENESIS_HASH and all(row.entry_hash for row in rows)
        assert verify_audit_log(upgraded).ok
        with upgraded.engine.begin() as connection:
            connection.execute(text("UPDATE audit_log SET user_name = 'x' WHERE action = 'before-2'"))
        check = verify_audit_log(upgraded)
        assert not check.ok and check.first_bad.audit_id == rows[1].audit_id
    finally:
        upgraded.dispose()
    assert migrations_module.SCHEMA_VERSION >= 5


@pytest.mark.postgres
def test_postgresql_chain_with_concurrent_writers(postgres_schema_url):
    store = open_store(postgres_schema_url)
    try:

        def write(name: str) -> None:
            for n in range(25):
                store.audit(name, "race", counts={"n": n})

        threads = [threading.Thread(target=write, args=(f"t{n}",)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        check = verify_audit_log(store)
        assert check.ok, check.message()
        assert check.entries == 75
        with store.engine.begin() as connection:
            connection.execute(
                text("DELETE FROM audit_log WHERE audit_id = (SELECT MIN(audit_id) + 5 FROM audit_log)")
            )
        assert not verify_audit_log(store).ok
    finally:
        store.dispose()
