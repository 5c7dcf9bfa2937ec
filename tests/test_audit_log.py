"""What the audit log holds: settings changes, runs, and the yearly access report.

Driven through file mode on a built workbook and the ``mimamori audit report`` CLI.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
from sqlalchemy import select
from test_audit_chain import audit_cli

from macros_py.book.build import build_workbook
from macros_py.book.filemode import run_in_file_mode
from macros_py.book.harvest import harvest_workbook
from macros_py.sheets import USERS
from macros_py.store import open_store
from macros_py.store.schema import audit_log
from macros_py.store.tables_governance import settings_snapshots

STAFF = pd.DataFrame(
    [["tester", "管理 太郎", "管理者", "", "はい"], ["staff1", "職員 花子", "センター職員", "", "はい"]],
    columns=USERS.headers,
)


def _rows(folder: Path, table=audit_log) -> list:
    store = open_store(folder / "mimamori.db")
    try:
        with store.engine.connect() as connection:
            return connection.execute(select(table).order_by(table.columns[0])).all()
    finally:
        store.dispose()


def _edit(workbook: Path, key: str, edit) -> None:
    tables = harvest_workbook(workbook)
    tables[key] = edit(tables[key].copy())
    build_workbook(workbook, tables)


def _set(item: str, value: str):
    def edit(table: pd.DataFrame) -> pd.DataFrame:
        table.loc[table["項目"] == item, "値"] = value
        return table

    return edit


def test_settings_changes_are_audited_by_tab_and_key_without_values(tmp_path):
    from macros_py.config.defaults import default_tables

    tables = default_tables()
    tables[USERS.key] = STAFF
    workbook = build_workbook(tmp_path / "mimamori.xlsm", tables)
    assert run_in_file_mode("check_settings", workbook, user_name="tester").ok
    first = [row for row in _rows(tmp_path) if row.action == "settings_recorded"]
    assert {row.target for row in first} >= {"設定", "取込設定", "項目マッピング", "コード表", "利用者"}
    assert run_in_file_mode("check_settings", workbook, user_name="tester").ok
    assert not [row for row in _rows(tmp_path) if row.action == "settings_change"]  # nothing changed

    _edit(workbook, "settings", _set("名寄せ自動しきい値", "0.987"))
    _edit(
        workbook,
        USERS.key,
        lambda t: pd.concat(
            [t, pd.DataFrame([["viewer9", "", "閲覧者", "", "はい"]], columns=USERS.headers)]
        ),
    )
    assert run_in_file_mode("check_settings", workbook, user_name="staff1").ok
    changes = {row.target: row for row in _rows(tmp_path) if row.action == "settings_change"}
    assert set(changes) == {"設定", "利用者"}
    setting = changes["設定"]
    assert setting.user_name == "staff1"
    assert json.loads(setting.detail) == {"changed": ["名寄せ自動しきい値"]}
    assert json.loads(setting.counts) == {"added": 0, "removed": 0, "changed": 1}
    users = json.loads(changes["利用者"].detail)
    assert users["added"] == ["viewer9"] and ["viewer9", "", "閲覧者", "", "はい"] in users["rows"]
    # The value itself is kept nowhere (the 設定 tab may hold a database password).
    stored = " ".join(str(value) for row in _rows(tmp_path, settings_snapshots) for value in row)
    stored += " ".join(str(value) for row in _rows(tmp_path) for value in row)
    assert "0.987" not in stored


def test_runs_are_audited_with_user_machine_and_counts(tmp_path):
    from macros_py.config.defaults import default_tables

    tables = default_tables()
    tables[USERS.key] = STAFF
    workbook = build_workbook(tmp_path / "mimamori.xlsm", tables)
    failed = run_in_file_mode("import", workbook, user_name="staff1")  # no import folder: a failed run
    assert not failed.ok
    runs = [row for row in _rows(tmp_path) if row.action == "run"]
    assert len(runs) == 1
    run = runs[0]
    assert (run.user_name, run.target) == ("staff1", "import") and run.machine
    assert json.loads(run.counts)["ok"] is False
    assert json.loads(run.detail)["label"] == "取込"


def test_yearly_access_report_shows_who_did_what_and_the_rights_held(tmp_path):
    from macros_py.config.defaults import default_tables

    tables = default_tables()
    tables[USERS.key] = STAFF
    workbook = build_workbook(tmp_path / "mimamori.xlsm", tables)
    assert run_in_file_mode("check_settings", workbook, user_name="tester").ok
    assert not run_in_file_mode("import", workbook, user_name="outsider").ok
    _edit(workbook, USERS.key, lambda t: t[t["利用者ID"] != "staff1"])
    assert run_in_file_mode("check_settings", workbook, user_name="tester").ok
    year = datetime.now().year
    out = tmp_path / f"アクセス報告_{year}.xlsx"
    completed = audit_cli(
        "report", "--year", str(year), "--workbook", str(workbook), "--out", str(out), folder=tmp_path
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "アクセス報告を作成しました" in completed.stdout
    book = openpyxl.load_workbook(out, read_only=True)
    try:
        assert book.sheetnames == ["概要", "利用者別の操作", "権限", "拒否された操作", "記録一覧"]
        sheets = {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
    finally:
        book.close()
    summary = dict(sheets["概要"][1:])
    assert summary["対象年"] == f"{year}年" and "改ざんされていません" in summary["監査ログの検証"]
    by_user = pd.DataFrame(sheets["利用者別の操作"][1:], columns=sheets["利用者別の操作"][0])
    executed = by_user[(by_user["利用者"] == "tester") & (by_user["操作"] == "操作の実行")]
    assert executed["件数"].tolist() == [2]
    rights = pd.DataFrame(sheets["権限"][1:], columns=sheets["権限"][0])
    staff_rows = rights[rights["利用者ID"] == "staff1"]
    assert staff_rows["役割"].tolist() == ["センター職員"]
    assert staff_rows["適用終了"].iloc[0] != "年末まで"  # removed from the tab during the year
    assert rights.loc[rights["利用者ID"] == "tester", "適用終了"].tolist() == ["年末まで"]
    refused = pd.DataFrame(sheets["拒否された操作"][1:], columns=sheets["拒否された操作"][0])
    assert refused[["利用者", "操作", "理由"]].values.tolist() == [
        ["outsider", "取込", "利用者タブに登録されていない"]
    ]
    entries = pd.DataFrame(sheets["記録一覧"][1:], columns=sheets["記録一覧"][0])
    assert list(entries.columns) == ["番号", "日時", "利用者", "端末", "操作", "対象", "件数", "詳細"]
    assert entries["番号"].is_monotonic_increasing and len(entries) >= 10
    # Producing the report is itself an access and is audited.
    assert any(row.action == "audit_report" and row.target == str(year) for row in _rows(tmp_path))
    # A year without entries gives an empty report, not an error.
    empty = tmp_path / "old.xlsx"
    assert (
        audit_cli(
            "report", "--year", "1999", "--workbook", str(workbook), "--out", str(empty), folder=tmp_path
        ).returncode
        == 0
    )
