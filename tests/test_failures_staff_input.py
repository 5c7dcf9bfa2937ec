"""File mode never drops what staff typed (issue 10, point 9), through the real entry points.

Memos on undecided 名寄せ確認 rows follow their pair; sheets and cells outside the tables
make the run refuse before writing, naming them; a read-only workbook is not
overwritten; a killed run's temporary file is cleaned up; a failed write (a real size
limit on the process) leaves the original intact.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from macros_py.book.build import build_workbook
from macros_py.book.filemode import BACKUP_FOLDER, STALE_TEMPORARY_SECONDS, run_in_file_mode
from macros_py.book.harvest import harvest_workbook
from macros_py.config.defaults import default_tables
from macros_py.sheets import LINK_REVIEW, LOG, SETTINGS


@pytest.fixture
def workbook(tmp_path) -> Path:
    return build_workbook(tmp_path / "mimamori.xlsm")


def _edit(path: Path, edits) -> None:
    """Type into the workbook as staff would (openpyxl keeps the tables and the marker)."""
    book = openpyxl.load_workbook(path, keep_vba=True)
    edits(book)
    book.save(path)


def test_memos_on_undecided_review_rows_follow_their_pair_across_runs(village_copy):
    path = build_workbook(village_copy / "mimamori.xlsm")
    assert run_in_file_mode("import", path, user_name="tester").ok
    assert run_in_file_mode("link", path, user_name="tester").ok
    review = harvest_workbook(path)[LINK_REVIEW.key]
    assert len(review) >= 3, "the village needs a few review rows for this test"
    pair = tuple(review.iloc[0][["ソースID", "レコードキー", "宛名番号"]])
    decided = tuple(review.iloc[1][["ソースID", "レコードキー", "宛名番号"]])
    memo_column = LINK_REVIEW.headers.index("メモ") + 1
    decision_column = LINK_REVIEW.headers.index("判定") + 1

    def type_memos(book):
        sheet = book[LINK_REVIEW.name]
        sheet.cell(LINK_REVIEW.excel_row(0), memo_column).value = "保護者に確認中"
        sheet.cell(LINK_REVIEW.excel_row(1), memo_column).value = "確認済み"
        sheet.cell(LINK_REVIEW.excel_row(1), decision_column).value = "同一"

    _edit(path, type_memos)
    assert run_in_file_mode("check_settings", path, user_name="tester").ok  # another action keeps the tab
    kept = harvest_workbook(path)[LINK_REVIEW.key]
    assert list(kept["メモ"].head(2)) == ["保護者に確認中", "確認済み"]
    assert run_in_file_mode("link", path, user_name="tester").ok
    after = harvest_workbook(path)[LINK_REVIEW.key]
    keys = after[["ソースID", "レコードキー", "宛名番号"]].apply(tuple, axis=1)
    assert list(after.loc[keys == pair, "メモ"]) == ["保護者に確認中"]
    assert decided not in set(keys)  # the decided pair left the review list
    assert (after.loc[keys != pair, "メモ"] == "").all()


def test_memo_of_a_pair_no_longer_listed_is_reported_in_the_log():
    from macros_py.book.carry_over import carry_review_memos

    headers = LINK_REVIEW.headers
    old = pd.DataFrame([dict.fromkeys(headers, "")] * 2)
    old.loc[0, ["ソースID", "レコードキー", "宛名番号", "メモ"]] = ["a", "1", "X", "見る"]
    old.loc[1, ["ソースID", "レコードキー", "宛名番号", "メモ"]] = ["a", "2", "Y", "消える"]
    new = pd.DataFrame([dict.fromkeys(headers, "")])
    new.loc[0, ["ソースID", "レコードキー", "宛名番号"]] = ["a", "1", "X"]
    carried, lost = carry_review_memos(old, new)
    assert list(carried["メモ"]) == ["見る"] and lost == 1


def test_sheets_and_cells_outside_the_tables_refuse_the_run_naming_them(workbook):
    def add_content(book):
        book.create_sheet("職員メモ")["A1"] = "来週の予定"
        book[LINK_REVIEW.name]["T6"] = "父に電話"
        book[SETTINGS.name]["E2"] = "=1+1"
        book[SETTINGS.name]["B1"] = "メモ"

    _edit(workbook, add_content)
    before = workbook.read_bytes()
    result = run_in_file_mode("check_settings", workbook, user_name="tester")
    assert not result.ok and result.summary["refused"]
    message = result.messages[0]
    for named in ("シート「職員メモ」", "名寄せ確認!T6", "設定!E2", "設定!B1"):
        assert named in message, message
    assert workbook.read_bytes() == before
    assert not (workbook.parent / BACKUP_FOLDER).exists() and not (workbook.parent / "mimamori.db").exists()


def test_cells_beside_and_below_a_long_table_are_found(tmp_path):
    log = pd.DataFrame(
        [["2025-01-01 00:00:00", "u", "取込", "情報", f"行 {n}"] for n in range(800)], columns=LOG.headers
    )
    path = build_workbook(tmp_path / "mimamori.xlsm", {LOG.key: log})
    assert run_in_file_mode("check_settings", path, user_name="tester").ok

    def add_content(book):
        book[LOG.name]["H600"] = "横のメモ"
        book[LOG.name]["A1200"] = "下のメモ"

    _edit(path, add_content)
    result = run_in_file_mode("check_settings", path, user_name="tester")
    assert not result.ok and "ログ!H600" in result.messages[0] and "ログ!A1200" in result.messages[0]


def test_our_own_edits_inside_the_tables_are_not_foreign(workbook):
    def edit_inside(book):
        book[LINK_REVIEW.name]["R5"] = "表の中のメモ"  # メモ column of the (empty) first row

    _edit(workbook, edit_inside)
    assert run_in_file_mode("check_settings", workbook, user_name="tester").ok


def test_read_only_workbook_file_is_not_overwritten(workbook):
    os.chmod(workbook, 0o444)
    before = workbook.read_bytes()
    result = run_in_file_mode("check_settings", workbook, user_name="tester")
    assert not result.ok and "読み取り専用" in result.messages[0]
    assert workbook.read_bytes() == before and workbook.stat().st_mode & 0o777 == 0o444
    assert not (workbook.parent / BACKUP_FOLDER).exists()


def test_leftover_temporary_files_of_a_killed_run_are_cleaned_up(workbook):
    backups = workbook.parent / BACKUP_FOLDER
    backups.mkdir()
    old = time.time() - STALE_TEMPORARY_SECONDS - 60
    stale = [workbook.parent / ".mimamori-killed.tmp", backups / ".mimamori-killed.tmp"]
    for leftover in stale:
        leftover.write_bytes(b"PK half a workbook")
        os.utime(leftover, (old, old))
    live = workbook.parent / ".mimamori-running.tmp"  # another run writing right now
    live.write_bytes(b"PK")
    assert run_in_file_mode("check_settings", workbook, user_name="tester").ok
    assert not any(leftover.exists() for leftover in stale) and live.exists()


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))


@pytest.mark.parametrize("backups", ["10", "0"], ids=["backup copy fails", "workbook write fails"])
def test_failed_write_leaves_the_original_intact(tmp_path, backups):
    tables = default_tables()
    settings = tables["settings"].copy()
    settings.loc[settings["項目"] == "バックアップ保存数", "値"] = backups
    path = build_workbook(tmp_path / "mimamori.xlsm", {"settings": settings})
    assert run_in_file_mode("check_settings", path, user_name="tester").ok  # the store exists
    before = path.read_bytes()
    assert len(before) > 40_000
    completed = subprocess.run(
        [sys.executable, "-m", "macros_py.cli", "run", "check_settings", "--workbook", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the repository: its own mimamori.log may already exceed the limit
        preexec_fn=_limit_file_size,
        timeout=300,
    )
    assert completed.returncode == 1
    assert "書き込めませんでした" in completed.stdout and "実行前のまま" in completed.stdout, completed.stdout
    assert "Traceback" not in completed.stdout + completed.stderr
    assert path.read_bytes() == before
    leftovers = list(tmp_path.glob(".mimamori-*")) + list(tmp_path.glob(f"{BACKUP_FOLDER}/.mimamori-*"))
    assert leftovers == []
    assert "File too large" in (tmp_path / "mimamori.log").read_text(encoding="utf-8")


def test_an_excel_note_on_a_cell_refuses_the_run_naming_the_cell(workbook):
    from openpyxl.comments import Comment

    def add_note(book):
        book[LINK_REVIEW.name]["B5"].comment = Comment("学校に問い合わせ済み", "tester")

    _edit(workbook, add_note)
    before = workbook.read_bytes()
    result = run_in_file_mode("check_settings", workbook, user_name="tester")
    assert not result.ok and "名寄せ確認!B5(メモ/コメント)" in result.messages[0], result.messages
    assert workbook.read_bytes() == before


def test_revocation_reason_typed_without_revoking_follows_its_decision_row():
    from macros_py.book.carry_over import CARRIED_COLUMNS, carry_typed

    typed = next(t for t in CARRIED_COLUMNS if t.sheet_key == "link_decisions")
    old = pd.DataFrame(
        {"判定ID": ["D1", "D2", "D3"], "取消": ["", "取消", ""], "取消理由": ["確認中", "誤り", ""]}
    )
    new = pd.DataFrame({"判定ID": ["D3", "D1"], "取消": ["", ""], "取消理由": ["", ""]})
    carried, lost = carry_typed(typed, old, new)
    assert list(carried["取消理由"]) == ["", "確認中"] and lost == 0
