"""File mode: harvest, run, render afresh, replace atomically, keep backups; refuse safely."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter

from macros_py.actions import ACTIONS
from macros_py.book.build import build_workbook
from macros_py.book.filemode import BACKUP_FOLDER, lock_file, run_in_file_mode
from macros_py.book.harvest import harvest_workbook
from macros_py.config.defaults import default_tables
from macros_py.sheets import SETTINGS_SHEETS, USERS


def _edited_tables(backups: str = "10") -> dict[str, pd.DataFrame]:
    tables = default_tables()
    settings = tables["settings"].copy()
    settings.loc[settings["項目"] == "名寄せ自動しきい値", "値"] = "0.9"
    settings.loc[settings["項目"] == "バックアップ保存数", "値"] = backups
    tables["settings"] = settings
    tables["users"] = pd.DataFrame(
        [
            ["tester", '=HYPERLINK("x")', "管理者", "", "はい"],
            ["ssw1", "佐藤 花子", "SSW", "第一中学校", "はい"],
        ],
        columns=USERS.headers,
    )
    return tables


@pytest.fixture
def workbook(tmp_path) -> Path:
    return build_workbook(tmp_path / "mimamori.xlsm", _edited_tables())


@pytest.mark.parametrize("action", [a.id for a in ACTIONS])
def test_every_action_runs_in_file_mode_and_updates_the_status(workbook, action):
    result = run_in_file_mode(action, workbook, user_name="tester")
    assert result.to_json()["action"] == action
    status = harvest_workbook(workbook)["status"]
    spec = next(a for a in ACTIONS if a.id == action)
    row = status[status["操作"] == spec.label].iloc[0]
    assert row["結果"] == ("成功" if result.ok else "失敗") and "tester" in row["最終実行"]
    assert row["件数"] == result.counts


def test_check_settings_writes_its_log_and_keeps_a_backup(workbook):
    before = workbook.read_bytes()
    result = run_in_file_mode("check_settings", workbook, user_name="tester")
    assert result.ok, result.messages
    log = harvest_workbook(workbook)["log"]
    assert list(log["内容"]) == ["設定に問題はありません。"]
    backups = list((workbook.parent / BACKUP_FOLDER).glob("mimamori_*.xlsm"))
    assert len(backups) == 1 and backups[0].read_bytes() == before
    assert result.to_json()["file_mode"]["backup"] == str(backups[0])


def test_admin_edits_survive_repeated_runs(workbook):
    expected = {sheet.key: harvest_workbook(workbook)[sheet.key] for sheet in SETTINGS_SHEETS}
    for _ in range(3):
        assert run_in_file_mode("check_settings", workbook, user_name="tester").ok
    after = harvest_workbook(workbook)
    for key, table in expected.items():
        pd.testing.assert_frame_equal(after[key], table)
    assert after["users"].iloc[0]["氏名"] == '=HYPERLINK("x")'
    assert after["xlwings_conf"].iloc[0]["キー"] == "INTERPRETER_WIN"


def test_backups_are_pruned_to_the_configured_number(tmp_path):
    path = build_workbook(tmp_path / "m.xlsm", _edited_tables(backups="2"))
    for _ in range(4):
        run_in_file_mode("check_settings", path, user_name="tester")
    assert len(list((tmp_path / BACKUP_FOLDER).glob("m_*.xlsm"))) == 2


def test_invalid_edit_is_refused_naming_sheet_row_column_and_file_is_untouched(tmp_path):
    tables = _edited_tables()
    tables["users"].loc[1, "役割"] = "校長"
    path = build_workbook(tmp_path / "m.xlsm", tables)
    before = path.read_bytes()
    result = run_in_file_mode("check_settings", path, user_name="tester")
    assert not result.ok and result.summary["refused"]
    assert any("シート「利用者」 6行目 「役割」列" in message for message in result.messages), result.messages
    assert path.read_bytes() == before
    assert not (tmp_path / BACKUP_FOLDER).exists()


def test_open_workbook_is_refused(workbook):
    before = workbook.read_bytes()
    lock_file(workbook).write_bytes(b"owner")
    result = run_in_file_mode("check_settings", workbook, user_name="tester")
    assert not result.ok and "Excelで開かれています" in result.messages[0]
    assert workbook.read_bytes() == before


def test_foreign_workbooks_are_refused(tmp_path):
    foreign = tmp_path / "other.xlsm"
    book = xlsxwriter.Workbook(str(foreign))
    book.add_worksheet("設定").write_string(0, 0, "項目")
    book.close()
    before = foreign.read_bytes()
    result = run_in_file_mode("check_settings", foreign, user_name="tester")
    assert not result.ok and "みまもり台帳ではありません" in result.messages[0]
    assert foreign.read_bytes() == before
    garbage = tmp_path / "garbage.xlsm"
    garbage.write_bytes(b"not a zip")
    assert "読めません" in run_in_file_mode("check_settings", garbage).messages[0]


def test_unknown_action_and_missing_file_are_refused(tmp_path, workbook):
    assert not run_in_file_mode("no_such_action", workbook).ok
    assert "見つかりません" in run_in_file_mode("check_settings", tmp_path / "missing.xlsm").messages[0]


def test_user_without_role_is_refused_and_status_says_so(workbook):
    result = run_in_file_mode("check_settings", workbook, user_name="stranger")
    assert not result.ok and "権限がありません" in result.messages[0]
    status = harvest_workbook(workbook)["status"]
    assert status.iloc[0]["結果"] == "失敗"


def test_cli_json_prints_the_summary(workbook):
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "macros_py.cli",
            "run",
            "check_settings",
            "--workbook",
            str(workbook),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=workbook.parent,
    )
    summary = json.loads(completed.stdout)
    assert summary["action"] == "check_settings" and "messages" in summary and "ok" in summary


def test_renamed_header_is_refused_and_missing_new_columns_are_filled(tmp_path, workbook):
    import openpyxl

    tampered = tmp_path / "tampered.xlsm"
    book = openpyxl.load_workbook(workbook, keep_vba=True)
    sheet = book[USERS.name]
    sheet.cell(USERS.header_row, 2).value = "なまえ"
    sheet.tables[USERS.table_name].tableColumns[1].name = "なまえ"
    book.save(tampered)
    before = tampered.read_bytes()
    result = run_in_file_mode("check_settings", tampered, user_name="tester")
    assert (
        not result.ok and "見出しが変更されています" in result.messages[0] and "なまえ" in result.messages[0]
    )
    assert tampered.read_bytes() == before

    from macros_py.book.harvest import TableLocation, _frame

    rows = [("利用者ID", "氏名", "役割", "有効"), ("u1", "山田", "管理者", "はい")]
    frame = _frame(rows, USERS, TableLocation(USERS.name, USERS.header_row, 1, 5, 4))
    assert list(frame.columns) == USERS.headers and frame.iloc[0]["所属学校"] == ""
