"""Every failure speaks Japanese: through file mode and the CLI, with the detail in mimamori.log.

Each case builds a real workbook and a real SQLite store, breaks one thing for real
(a write transaction held by another connection, a read-only folder, damaged bytes),
and checks that staff get a Japanese message without English exception text, that the
workbook is untouched where the run was refused, and that the technical detail reaches
the log file beside the workbook.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import sqlite3
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from macros_py.book.build import build_workbook
from macros_py.book.filemode import BACKUP_FOLDER, run_in_file_mode
from macros_py.book.harvest import harvest_workbook
from macros_py.failures import LOG_FILE_NAME
from macros_py.store import open_store
from macros_py.store.engine import LOCK_TIMEOUT_ENVIRONMENT
from macros_py.store.schema import action_runs, audit_log

REPOSITORY = Path(__file__).resolve().parents[1]
# English that must never reach staff: exception names, SQLite and Python wording.
ENGLISH = re.compile(
    r"Traceback|Error\b|Exception|locked|sqlite|database is|File \"|zlib|BadZip|Permission|errno|SELECT|INSERT",
    re.IGNORECASE,
)


def _cli(
    action: str, workbook: Path, timeout_seconds: float | None = None, **extra
) -> subprocess.CompletedProcess:
    environment = dict(os.environ)
    if timeout_seconds is not None:
        environment[LOCK_TIMEOUT_ENVIRONMENT] = str(timeout_seconds)
    return subprocess.run(
        [sys.executable, "-m", "macros_py.cli", "run", action, "--workbook", str(workbook)],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env=environment,
        timeout=300,
        **extra,
    )


def _assert_japanese_only(*texts: str) -> None:
    for text in texts:
        assert not ENGLISH.search(text), text


def _writable(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.write_bytes(b"")
    except OSError:
        return False
    probe.unlink()
    return True


@contextlib.contextmanager
def read_only_folder(folder: Path):
    """Make ``folder`` really unwritable (mode bits; for root also the immutable flag)."""
    os.chmod(folder, 0o555)
    immutable = False
    if os.geteuid() == 0:
        immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
    try:
        if _writable(folder):
            pytest.skip("this machine cannot make a folder read-only")
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        os.chmod(folder, 0o755)


@pytest.fixture
def workbook(tmp_path) -> Path:
    return build_workbook(tmp_path / "mimamori.xlsm")


def test_locked_database_waits_a_bounded_time_then_says_so_in_japanese(workbook):
    assert run_in_file_mode("check_settings", workbook, user_name="tester").ok
    holder = sqlite3.connect(workbook.parent / "mimamori.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO audit_log (at, user_name, action) VALUES ('2025-01-01', 'other', 'busy')")
    try:
        started = time.monotonic()
        completed = _cli("check_settings", workbook, timeout_seconds=2)
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert completed.returncode == 1
    assert "使用中" in completed.stdout and "2秒待ちました" in completed.stdout, completed.stdout
    _assert_japanese_only(completed.stdout, completed.stderr)
    assert 2 <= waited < 60
    assert "database is locked" in (workbook.parent / LOG_FILE_NAME).read_text(encoding="utf-8")
    status = harvest_workbook(workbook)["status"]
    assert status.iloc[0]["結果"] == "失敗" and "使用中" in status.iloc[0]["警告"]


def test_unexpected_error_is_japanese_guidance_with_detail_in_log_and_run_record(workbook, monkeypatch):
    import macros_py.config.check as check

    def broken(_context):
        raise RuntimeError("boom: an English programming error")

    monkeypatch.setattr(check, "check_settings_action", broken)
    result = run_in_file_mode("check_settings", workbook, user_name="tester")
    assert not result.ok
    log_file = workbook.parent / LOG_FILE_NAME
    assert "予期しないエラーが発生しました" in result.messages[0] and str(log_file) in result.messages[0]
    _assert_japanese_only(json.dumps(result.to_json(), ensure_ascii=False))
    assert "boom: an English programming error" in log_file.read_text(encoding="utf-8")
    store = open_store(workbook.parent / "mimamori.db")
    with store.engine.connect() as connection:
        run = connection.execute(select(action_runs)).one()
    store.dispose()
    assert run.ok == 0 and "boom: an English programming error" in json.loads(run.summary_json)["error"]
    log = harvest_workbook(workbook)["log"]
    assert list(log["区分"]) == ["エラー"] and "予期しないエラー" in log.iloc[0]["内容"]
    _assert_japanese_only(*log["内容"])


def test_read_only_workbook_folder_is_refused_and_nothing_changes(workbook):
    before = workbook.read_bytes()
    with read_only_folder(workbook.parent):
        result = run_in_file_mode("check_settings", workbook, user_name="tester")
        completed = _cli("check_settings", workbook)
    assert not result.ok and result.summary["refused"]
    assert "書き込めない" in result.messages[0] and str(workbook.parent) in result.messages[0]
    assert completed.returncode == 1 and "書き込めない" in completed.stdout
    _assert_japanese_only(completed.stdout, completed.stderr)
    assert workbook.read_bytes() == before
    assert not (workbook.parent / BACKUP_FOLDER).exists() and not (workbook.parent / "mimamori.db").exists()


def test_unwritable_backup_folder_is_refused_and_a_missing_one_is_created(workbook):
    assert run_in_file_mode("check_settings", workbook, user_name="tester").ok
    backups = workbook.parent / BACKUP_FOLDER
    for copy in backups.iterdir():
        copy.unlink()
    backups.rmdir()
    assert run_in_file_mode("check_settings", workbook, user_name="tester").ok
    assert len(list(backups.glob("mimamori_*.xlsm"))) == 1
    before = workbook.read_bytes()
    with read_only_folder(backups):
        result = run_in_file_mode("check_settings", workbook, user_name="tester")
    assert (
        not result.ok
        and "バックアップフォルダ" in result.messages[0]
        and "書き込めない" in result.messages[0]
    )
    assert workbook.read_bytes() == before


def _corrupt_member(content: bytes, member: str) -> bytes:
    """Overwrite the middle of one member's deflate stream (the zip directory stays valid)."""
    info = zipfile.ZipFile(io.BytesIO(content)).getinfo(member)
    name_length, extra_length = struct.unpack(
        "<HH", content[info.header_offset + 26 : info.header_offset + 30]
    )
    start = info.header_offset + 30 + name_length + extra_length
    damaged = bytearray(content)
    rng = random.Random(7)
    for offset in range(start + 2, start + info.compress_size - 2):
        damaged[offset] = rng.randrange(256)
    return bytes(damaged)


@pytest.mark.parametrize(
    "damage",
    ["random bytes", "truncated zip", "corrupt deflate in a sheet", "corrupt deflate in the workbook part"],
)
def test_damaged_workbook_is_refused_in_japanese_naming_the_newest_backup(workbook, damage):
    assert run_in_file_mode("check_settings", workbook, user_name="tester").ok
    good = workbook.read_bytes()
    damaged = {
        "random bytes": lambda: random.Random(1).randbytes(len(good)),
        "truncated zip": lambda: good[: len(good) // 2],
        "corrupt deflate in a sheet": lambda: _corrupt_member(good, "xl/worksheets/sheet3.xml"),
        "corrupt deflate in the workbook part": lambda: _corrupt_member(good, "xl/sharedStrings.xml"),
    }[damage]()
    workbook.write_bytes(damaged)
    result = run_in_file_mode("check_settings", workbook, user_name="tester")
    completed = _cli("check_settings", workbook)
    newest = max((workbook.parent / BACKUP_FOLDER).glob("mimamori_*.xlsm"))
    assert not result.ok and "読めません" in result.messages[0] and str(newest) in result.messages[0]
    assert completed.returncode == 1 and "読めません" in completed.stdout
    _assert_japanese_only(result.messages[0], completed.stdout, completed.stderr)
    assert workbook.read_bytes() == damaged


@pytest.mark.parametrize("content", [b"", b"random"], ids=["0-byte store", "random-bytes store"])
def test_damaged_store_is_never_treated_as_new_and_names_the_newest_backup(workbook, content):
    store_file = workbook.parent / "mimamori.db"
    damaged = random.Random(3).randbytes(8192) if content else b""
    store_file.write_bytes(damaged)
    completed = _cli("check_settings", workbook)
    assert completed.returncode == 1 and "新しいデータベースとしては扱わず" in completed.stdout
    _assert_japanese_only(completed.stdout, completed.stderr)
    assert store_file.read_bytes() == damaged
    # With a copy of the store in the backup folder, the message names it.
    backups = workbook.parent / BACKUP_FOLDER
    backups.mkdir(exist_ok=True)
    fresh = open_store(backups / "mimamori_20250401.db")
    fresh.dispose()
    result = run_in_file_mode("check_settings", workbook, user_name="tester")
    assert not result.ok and str(backups / "mimamori_20250401.db") in result.messages[0]
    assert store_file.read_bytes() == damaged


_OPEN_AT = """
import sys, time
from macros_py.store import open_store
start = float(sys.argv[2])
while time.time() < start:
    pass
store = open_store(sys.argv[1])
store.audit(sys.argv[3], "race")
print("opened")
"""


def test_two_first_runs_at_once_on_a_new_store_both_work(tmp_path):
    for round_number in range(3):
        path = tmp_path / f"race{round_number}.db"
        start = time.time() + 4
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", _OPEN_AT, str(path), str(start), f"p{n}"],
                cwd=REPOSITORY,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(2)
        ]
        outputs = [process.communicate(timeout=120) for process in processes]
        assert [process.returncode for process in processes] == [0, 0], outputs
        store = open_store(path)
        with store.engine.connect() as connection:
            assert sorted(connection.execute(select(audit_log.c.user_name)).scalars()) == ["p0", "p1"]
        store.dispose()
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(f".race{round_number}")) == []


def test_two_first_cli_runs_at_once_against_a_new_store_both_succeed(tmp_path):
    first = build_workbook(tmp_path / "a.xlsm")
    second = build_workbook(tmp_path / "b.xlsm")
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "macros_py.cli", "run", "check_settings", "--workbook", str(path)],
            cwd=REPOSITORY,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in (first, second)
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    for stdout, stderr in outputs:
        _assert_japanese_only(stdout, stderr)
    store = open_store(tmp_path / "mimamori.db")
    with store.engine.connect() as connection:
        assert len(connection.execute(select(action_runs)).all()) == 2
    store.dispose()


def test_log_tab_keeps_the_history_of_recent_runs_across_actions(tmp_path):
    import pandas as pd

    from macros_py.book.carry_over import LOG_ROWS_KEPT
    from macros_py.sheets import LOG

    old = pd.DataFrame(
        [
            [f"2025-01-01 00:{n // 60:02d}:{n % 60:02d}", "u", "取込", "情報", f"古い行 {n}"]
            for n in range(LOG_ROWS_KEPT)
        ],
        columns=LOG.headers,
    )
    path = build_workbook(tmp_path / "mimamori.xlsm", {"log": old})
    assert run_in_file_mode("check_settings", path, user_name="tester").ok
    assert run_in_file_mode("check_settings", path, user_name="tester").ok
    assert not run_in_file_mode("link", path, user_name="tester").ok  # no residents imported yet
    log = harvest_workbook(path)["log"]
    assert len(log) == LOG_ROWS_KEPT
    assert list(log["内容"].head(1)) == ["古い行 3"]  # the three oldest rows made room
    assert list(log["操作"].tail(3)) == ["設定チェック", "設定チェック", "名寄せ"]
    assert log.iloc[-1]["区分"] == "エラー" and "住民記録" in log.iloc[-1]["内容"]
    _assert_japanese_only(*log["内容"].tail(5))


def _vba_text_functions(source: str) -> dict[str, str]:
    """Decode the Buttons module's message functions (ChrW codes and quoted ASCII) back to text."""
    texts: dict[str, str] = {}
    for name, body in re.findall(
        r"Private Function (\w+)\(\) As String\r\n(.*?)End Function", source, flags=re.S
    ):
        tokens = re.findall(r'ChrW\((\d+)\)|"((?:[^"]|"")*)"', body)
        texts[name] = "".join(chr(int(code)) if code else text.replace('""', '"') for code, text in tokens)
    return texts


def test_buttons_module_checks_the_interpreter_and_guides_in_japanese(tmp_path):
    from oletools.olevba import VBA_Parser

    from macros_py.book.vba_sources import BUTTON_MESSAGES, INSTALL_GUIDE

    path = build_workbook(tmp_path / "mimamori.xlsm")
    parser = VBA_Parser(str(path))
    try:
        modules = {name: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()
    source = modules["Buttons.bas"]
    assert source.isascii()
    assert "Private Function RunPython(PythonCommand As String)" in source
    assert 'GetConfig("INTERPRETER_WIN", "")' in source and "If Not FileExists(Interpreter)" in source
    assert "On Error GoTo Failed" in source and "xlwings.RunPython PythonCommand" in source
    assert _vba_text_functions(source) == BUTTON_MESSAGES
    assert all(INSTALL_GUIDE in text for key, text in BUTTON_MESSAGES.items() if key != "MessageTitle")
    guide = (REPOSITORY / INSTALL_GUIDE).read_text(encoding="utf-8")
    assert (
        "## 9. ボタンが動かないとき" in guide and "ボタンが動かないとき" in BUTTON_MESSAGES["MessageFailed"]
    )
    # Every English box xlwings.bas itself shows on Windows is explained in the guide.
    xlwings_source = modules["xlwings.bas"]
    windows_boxes = {"Could not find Interpreter!", "Embedded code requires a valid LICENSE_KEY."}
    assert all(f'MsgBox "{box}"' in xlwings_source and f"`{box}`" in guide for box in windows_boxes)


def _immutable(path: Path) -> bool:
    return (
        os.geteuid() == 0 and subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
    )


def test_read_only_store_file_is_explained_in_japanese(workbook):
    assert run_in_file_mode("check_settings", workbook, user_name="tester").ok
    store_file = workbook.parent / "mimamori.db"
    os.chmod(store_file, 0o444)
    immutable = _immutable(store_file)
    try:
        if os.geteuid() == 0 and not immutable:
            pytest.skip("this machine cannot make a file read-only for root")
        completed = _cli("check_settings", workbook)
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(store_file)], check=True)
        os.chmod(store_file, 0o644)
    assert completed.returncode == 1 and "データベースファイルに書き込めません" in completed.stdout, (
        completed.stdout
    )
    _assert_japanese_only(completed.stdout, completed.stderr)


def test_unreachable_postgresql_is_explained_in_japanese(tmp_path):
    import pandas as pd

    from macros_py.config.defaults import default_tables

    settings = default_tables()["settings"].copy()
    settings.loc[settings["項目"] == "データベース", "値"] = "postgresql+psycopg://u:p@127.0.0.1:1/none"
    path = build_workbook(tmp_path / "mimamori.xlsm", {"settings": pd.DataFrame(settings)})
    result = run_in_file_mode("check_settings", path, user_name="tester")
    assert not result.ok and "サーバーに接続できません" in result.messages[0], result.messages
    _assert_japanese_only(result.messages[0])


def test_run_log_keeps_engine_records_and_python_warnings_off_the_console(tmp_path, capfd):
    import logging
    import warnings

    from macros_py.failures import current_log_file, run_log

    with run_log(tmp_path) as log_file:
        assert current_log_file() == log_file == tmp_path / LOG_FILE_NAME
        logging.getLogger("macros_py.some.module").error("an English engine error")
        warnings.warn("an English library warning", UserWarning, stacklevel=1)
    assert current_log_file() is None
    console = capfd.readouterr()
    assert "English" not in console.out + console.err
    text = log_file.read_text(encoding="utf-8")
    assert "an English engine error" in text and "an English library warning" in text


def test_half_built_store_of_a_killed_first_run_is_removed(tmp_path):
    stale = tmp_path / ".m.db.0123456789abcdef.new"
    stale.write_bytes(b"SQLite format 3\x00 half")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh = tmp_path / ".m.db.fedcba9876543210.new"  # another run building it right now
    fresh.write_bytes(b"")
    open_store(tmp_path / "m.db").dispose()
    assert not stale.exists() and fresh.exists()


@pytest.fixture
def remote_engine(monkeypatch):
    """xlwings' JSON-payload engine (as in test_xl_live.py), licensed for this test only."""
    import xlwings as xw

    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
    added = None
    if "remote" not in [engine.name for engine in xw.engines]:
        from xlwings.pro import _xlremote

        added = xw.main.Engine(impl=_xlremote.engine)
        xw.engines.add(added)
    monkeypatch.setattr(xw, "__pro__", True)
    yield xw
    if added is not None:
        xw.engines.engines.remove(added)
        xw.engines.engines_by_name.pop("remote", None)


def test_live_button_run_turns_an_unexpected_error_into_japanese(workbook, monkeypatch, remote_engine):
    from xl_payload import payload_from_workbook

    import macros_py.config.check as check
    import macros_py.xl

    def broken(_context):
        raise RuntimeError("boom: an English programming error")

    monkeypatch.setattr(check, "check_settings_action", broken)
    monkeypatch.chdir(workbook.parent)
    book = remote_engine.Book(json=payload_from_workbook(workbook))
    book.set_mock_caller()
    try:
        result = macros_py.xl.run("check_settings")
    finally:
        del remote_engine.Book._mock_caller
    assert not result.ok
    alert = next(a for a in book.json()["actions"] if a["func"] == "alert")
    assert "予期しないエラーが発生しました" in alert["args"][0] and alert["args"][3] == "critical"
    _assert_japanese_only(alert["args"][0])
    assert "boom: an English programming error" in (workbook.parent / LOG_FILE_NAME).read_text(
        encoding="utf-8"
    )
