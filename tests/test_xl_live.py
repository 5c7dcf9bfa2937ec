"""Live mode against xlwings' own JSON-payload engine: whole-table writes, status, message box."""

from __future__ import annotations

import pandas as pd
import pytest
import xlwings as xw
from xl_payload import payload_from_workbook

import macros_py.xl
from macros_py.actions import ACTIONS, ActionContext, run_action
from macros_py.book.build import build_workbook, sheet_order
from macros_py.book.cells import table_records
from macros_py.book.harvest import harvest_workbook
from macros_py.book.live import read_table, run_in_book, write_table
from macros_py.config.defaults import default_tables
from macros_py.sheets import LOG, SHEET_BY_KEY, STATUS, USERS

TIME_COLUMNS = {"日時", "最終実行"}


@pytest.fixture(autouse=True)
def _remote_engine(monkeypatch):
    """xlwings' JSON-payload engine, licensed (noncommercial) for the duration of a test only."""
    monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
    added = None
    if "remote" not in [engine.name for engine in xw.engines]:
        from xlwings.pro import _xlremote

        added = xw.main.Engine(impl=_xlremote.engine)
        xw.engines.add(added)
    monkeypatch.setattr(xw, "__pro__", True)
    yield
    if added is not None:
        xw.engines.engines.remove(added)
        xw.engines.engines_by_name.pop("remote", None)


def _tables() -> dict[str, pd.DataFrame]:
    tables = default_tables()
    tables["users"] = pd.DataFrame([["tester", "試験 太郎", "管理者", "", "はい"]], columns=USERS.headers)
    return tables


@pytest.fixture
def built(tmp_path):
    return build_workbook(tmp_path / "mimamori.xlsm", _tables())


def _book(path) -> xw.Book:
    return xw.Book(json=payload_from_workbook(path))


def _writes(book: xw.Book) -> dict[int, list[dict]]:
    """setValues actions by the 0-based row they start at."""
    writes: dict[int, list[dict]] = {}
    for action in book.json()["actions"]:
        if action["func"] == "setValues":
            writes.setdefault(action["start_row"], []).append(action)
    return writes


def _table_write(book: xw.Book, sheet_key: str) -> list[list]:
    sheet = SHEET_BY_KEY[sheet_key]
    position = [name for name, _ in sheet_order()].index(sheet.name)
    matches = [
        action
        for action in book.json()["actions"]
        if action["func"] == "setValues"
        and action["sheet_position"] == position
        and action["start_row"] == sheet.header_row
    ]
    assert len(matches) == 1, f"{sheet_key}: expected one whole-table write, got {len(matches)}"
    assert matches[0]["start_column"] == 0 and matches[0]["column_count"] == len(sheet.columns)
    return matches[0]["values"]


def _without(rows: list[list], sheet_key: str) -> list[list]:
    headers = SHEET_BY_KEY[sheet_key].headers
    return [[v for v, h in zip(row, headers, strict=True) if h not in TIME_COLUMNS] for row in rows]


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.id)
def test_each_action_writes_its_tables_and_status(built, tmp_path, action):
    book = _book(built)
    result = run_in_book(book, action.id, user_name="tester", workbook_dir=tmp_path)

    expected_context = ActionContext(
        harvest_workbook(built), workbook_dir=tmp_path / "expected", user_name="tester"
    )
    (tmp_path / "expected").mkdir()
    expected = run_action(action.id, expected_context)
    assert result.ok == expected.ok and set(result.tables) == set(expected.tables)
    for key, table in expected.tables.items():
        written = _table_write(book, key)
        guarded = [
            ["'" + v if isinstance(v, str) and v else v for v in row]
            for row in table_records(table, SHEET_BY_KEY[key].columns)
        ]
        assert _without(written, key) == _without(guarded or [[""] * len(SHEET_BY_KEY[key].columns)], key)

    status = _table_write(book, STATUS.key)
    row = next(r for r in status if r[0] == "'" + action.label)
    assert row[2] == ("'成功" if result.ok else "'失敗")
    alerts = [a for a in book.json()["actions"] if a["func"] == "alert"]
    assert len(alerts) == 1 and alerts[0]["args"][1] == "みまもり台帳"
    assert action.label in alerts[0]["args"][0]


def test_table_writes_resize_the_table_and_clear_the_old_body(built):
    book = _book(built)
    log = pd.DataFrame(
        [["2025-04-01 09:00:00", "u", "取込", "警告", f"行{i}"] for i in range(3)], columns=LOG.headers
    )
    write_table(book, LOG, log)
    functions = [a["func"] for a in book.json()["actions"]]
    assert functions == ["rangeClearContents", "resizeTable", "setValues"]
    resize = book.json()["actions"][1]
    assert resize["args"][1] == f"$A${LOG.header_row}:$E${LOG.header_row + 3}"


def test_text_is_written_with_quote_prefix_so_it_never_becomes_a_formula(built):
    book = _book(built)
    log = pd.DataFrame([["", "", "", "", "=cmd|' /C calc'!A0"]], columns=LOG.headers)
    write_table(book, LOG, log)
    values = book.json()["actions"][-1]["values"]
    assert values == [["", "", "", "", "'=cmd|' /C calc'!A0"]]


def test_read_table_returns_all_text_rows(built):
    users = read_table(_book(built), USERS)
    assert list(users.iloc[0]) == ["tester", "試験 太郎", "管理者", "", "はい"]


def test_invalid_settings_are_reported_in_status_and_message_box(tmp_path):
    tables = _tables()
    tables["users"].loc[0, "役割"] = "校長"
    book = _book(build_workbook(tmp_path / "bad.xlsm", tables))
    result = run_in_book(book, ACTIONS[0].id, user_name="tester", workbook_dir=tmp_path)
    assert not result.ok
    alert = next(a for a in book.json()["actions"] if a["func"] == "alert")
    assert "シート「利用者」 5行目 「役割」列" in alert["args"][0] and alert["args"][3] == "critical"
    status = _table_write(book, STATUS.key)
    assert status[0][2] == "'失敗" and "役割" in status[0][4]


def test_xl_run_uses_the_mock_caller(built, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("getpass.getuser", lambda: "tester")
    book = _book(built)
    book.set_mock_caller()
    try:
        result = macros_py.xl.run(ACTIONS[0].id)
    finally:
        del xw.Book._mock_caller
    assert result.action == ACTIONS[0].id
    assert any(a["func"] == "alert" for a in book.json()["actions"])


def test_an_older_workbook_without_a_new_tab_gets_japanese_upgrade_guidance(built, tmp_path):
    payload = payload_from_workbook(built)
    payload["sheets"] = [sheet for sheet in payload["sheets"] if sheet["name"] != "名寄せ判定"]
    book = xw.Book(json=payload)
    result = run_in_book(book, "link", user_name="tester", workbook_dir=tmp_path)
    assert not result.ok and result.summary.get("refused")
    alert = next(a for a in book.json()["actions"] if a["func"] == "alert")
    assert (
        "シート「名寄せ判定」がありません" in alert["args"][0]
        and "mimamori run 設定チェック" in alert["args"][0]
    )
    assert alert["args"][3] == "critical"


def test_a_renamed_header_is_refused_in_japanese_not_as_an_unexpected_error(built, tmp_path):
    payload = payload_from_workbook(built)
    review = next(sheet for sheet in payload["sheets"] if sheet["name"] == "名寄せ確認")
    row = next(i for i, values in enumerate(review["values"]) if "判定" in values)
    review["values"][row] = ["決定" if value == "判定" else value for value in review["values"][row]]
    book = xw.Book(json=payload)
    result = run_in_book(book, "link", user_name="tester", workbook_dir=tmp_path)
    assert not result.ok
    assert "見出しが変更されています" in result.messages[0] and "予期しない" not in result.messages[0]
