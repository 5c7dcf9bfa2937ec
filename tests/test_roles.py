"""Roles from the 利用者 tab, through file mode and the audit CLI.

Every action checks the role before it runs; a refusal is explained in Japanese and
written to the audit log. An empty 利用者 tab lets setup work (設定チェック with no data)
but records the first user of an action touching personal data as 管理者, and refuses
everyone else until the administrator registers them.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from test_audit_chain import audit_cli

from macros_py.actions import ActionContext, run_action
from macros_py.book.build import build_workbook
from macros_py.book.filemode import run_in_file_mode
from macros_py.book.harvest import harvest_workbook
from macros_py.config.check import validate_all_settings
from macros_py.config.defaults import default_tables
from macros_py.governance.verify import verify_audit_log
from macros_py.sheets import USERS
from macros_py.store import open_store
from macros_py.store.schema import audit_log


def _users(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [[user, name, role, school, "はい"] for user, name, role, school in rows], columns=USERS.headers
    )


def _book(folder: Path, users: pd.DataFrame | None = None) -> Path:
    tables = default_tables()
    if users is not None:
        tables[USERS.key] = users
    return build_workbook(folder / "mimamori.xlsm", tables)


def _entries(folder: Path, action: str) -> list:
    store = open_store(folder / "mimamori.db")
    try:
        with store.engine.connect() as connection:
            return connection.execute(
                select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.audit_id)
            ).all()
    finally:
        store.dispose()


STAFF = _users(
    ("tester", "管理者 太郎", "管理者", ""),
    ("viewer1", "閲覧 花子", "閲覧者", ""),
    ("school1", "学校 次郎", "学校", "第一小学校"),
)


def test_viewer_is_refused_an_import_in_japanese_and_the_refusal_is_audited(tmp_path):
    workbook = _book(tmp_path, STAFF)
    result = run_in_file_mode("import", workbook, user_name="viewer1")
    assert not result.ok and result.summary["refused"] is True
    message = result.messages[0]
    assert "viewer1" in message and "閲覧者" in message and "権限がありません" in message
    assert "管理者・センター職員" in message  # who may run it
    refused = _entries(tmp_path, "refused")
    assert [(row.user_name, row.target) for row in refused] == [("viewer1", "import")]
    assert json.loads(refused[0].detail)["reason"] == "role"
    assert not _entries(tmp_path, "run")  # the action never started
    status = harvest_workbook(workbook)["status"]
    assert (status["結果"] == "失敗").any()


def test_unlisted_user_is_refused_and_school_staff_cannot_link(tmp_path):
    workbook = _book(tmp_path, STAFF)
    stranger = run_in_file_mode("check_settings", workbook, user_name="stranger")
    assert not stranger.ok and "登録されていない" in stranger.messages[0]
    school = run_in_file_mode("link", workbook, user_name="SCHOOL1")  # IDs compare case-insensitively
    assert not school.ok and "学校" in school.messages[0]
    reasons = [json.loads(row.detail)["reason"] for row in _entries(tmp_path, "refused")]
    assert reasons == ["not_listed", "role"]
    assert run_in_file_mode("check_settings", workbook, user_name="TESTER").ok


def test_inactive_row_grants_nothing(tmp_path):
    users = STAFF.copy()
    users.loc[users["利用者ID"] == "tester", "有効"] = "いいえ"
    users.loc[len(users)] = ["boss", "", "管理者", "", "はい"]
    workbook = _book(tmp_path, users)
    result = run_in_file_mode("check_settings", workbook, user_name="tester")
    assert not result.ok and "有効が「いいえ」" in result.messages[0]


def test_school_role_needs_its_school():
    tables = default_tables()
    tables[USERS.key] = _users(
        ("s1", "", "学校", ""), ("s2", "", "学校:第二中学校", ""), ("s3", "", "校長", "")
    )
    messages = [error.as_japanese() for error in validate_all_settings(tables)]
    assert any("5行目" in m and "所属学校" in m for m in messages), messages
    assert not any("6行目" in m for m in messages), messages  # 学校:<school> names it in the role
    assert any("7行目" in m and "「校長」は役割ではありません" in m and "閲覧者" in m for m in messages)


def test_empty_tab_allows_setup_without_recording_anyone(tmp_path):
    workbook = _book(tmp_path)
    assert run_in_file_mode("check_settings", workbook, user_name="tester").ok
    assert run_in_file_mode("check_settings", workbook, user_name="other").ok
    assert not _entries(tmp_path, "administrator_recorded")
    assert harvest_workbook(workbook)[USERS.key].empty


def test_empty_tab_records_the_first_user_of_personal_data_as_administrator(tmp_path):
    workbook = _book(tmp_path)
    first = run_in_file_mode("import", workbook, user_name="tester")
    # The import itself fails here (no import folder); the administrator is recorded all the same.
    assert any("管理者として記録" in message for message in first.messages), first.messages
    recorded = _entries(tmp_path, "administrator_recorded")
    assert [(row.user_name, row.target) for row in recorded] == [("tester", "tester")]
    users = harvest_workbook(workbook)[USERS.key]
    assert users[["利用者ID", "役割", "有効"]].values.tolist() == [["tester", "管理者", "はい"]]
    # Now the tab lists the administrator: anybody else must be registered first.
    other = run_in_file_mode("import", workbook, user_name="other")
    assert not other.ok and "登録されていない" in other.messages[0]
    # Somebody empties the tab again: still nobody but the recorded administrator.
    _book(tmp_path)
    emptied = run_in_file_mode("check_settings", workbook, user_name="other")
    assert not emptied.ok
    assert "管理者は「tester」として記録されています" in emptied.messages[0], emptied.messages
    assert run_in_file_mode("check_settings", workbook, user_name="tester").ok
    assert len(_entries(tmp_path, "administrator_recorded")) == 1
    reasons = [json.loads(row.detail)["reason"] for row in _entries(tmp_path, "refused")]
    assert reasons == ["not_listed", "not_administrator"]


def test_two_first_runs_at_once_record_one_administrator(tmp_path):
    tables = default_tables()
    results: dict[str, object] = {}

    def run(user: str) -> None:
        context = ActionContext(tables=tables, workbook_dir=tmp_path, user_name=user)
        results[user] = run_action("accept_held", context)

    threads = [threading.Thread(target=run, args=(user,)) for user in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorded = _entries(tmp_path, "administrator_recorded")
    assert len(recorded) == 1
    winner = recorded[0].target
    loser = "bob" if winner == "alice" else "alice"
    assert not results[loser].ok and f"「{winner}」として記録" in results[loser].messages[0]
    store = open_store(tmp_path / "mimamori.db")
    try:
        assert verify_audit_log(store).ok
    finally:
        store.dispose()


@pytest.mark.parametrize(
    ("user", "verify_code", "report_code"), [("tester", 0, 0), ("viewer1", 0, 3), ("nobody", 3, 3)]
)
def test_audit_commands_check_the_role(tmp_path, user, verify_code, report_code):
    workbook = _book(tmp_path, STAFF)
    assert run_in_file_mode("check_settings", workbook, user_name="tester").ok
    verified = audit_cli("verify", "--workbook", str(workbook), folder=tmp_path, user=user)
    assert verified.returncode == verify_code, verified.stdout + verified.stderr
    out = tmp_path / "報告.xlsx"
    reported = audit_cli(
        "report",
        "--year",
        str(datetime.now().year),
        "--workbook",
        str(workbook),
        "--out",
        str(out),
        folder=tmp_path,
        user=user,
    )
    assert reported.returncode == report_code, reported.stdout + reported.stderr
    assert out.exists() == (report_code == 0)
    if report_code:
        assert "権限がありません" in reported.stdout
