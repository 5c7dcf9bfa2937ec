"""名寄せ takes the path Windows takes: no process started beside a writer thread; Arrow reading.

Windows has no ``fork``: the only process a link run starts is the normalisation worker
(``python -m macros_py.link.keys_worker``), started before the links writer thread
exists. The linkage columns are read in slices into Arrow and converted once per
distinct value; the frame must equal a plain row-by-row read.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import macros_py.link.prepare as prepare
import macros_py.link.query as query
from macros_py.actions import run_action
from macros_py.link.prepare import prepare_people
from macros_py.link.query import LINKABLE_COLUMNS, linkable_records
from macros_py.store import open_store

sys.path.insert(0, str(Path(__file__).parent))
from test_link_action import _context, _import  # noqa: E402
from test_link_known_answers import make_master  # noqa: E402


def _row_by_row(database: Path, source_id: str) -> pd.DataFrame:
    """The linkage columns of one source read the plain way: every value its own object."""
    connection = sqlite3.connect(database)
    try:
        rows = connection.execute(
            "SELECT r.record_id, r.source_id, r.resident_id, r.household_id, r.name, r.name_kana,"
            " r.birth_date, r.sex, r.address, r.school, r.grade, r.class_name, r.student_number,"
            " CASE WHEN r.class_name IS NOT NULL THEN r.values_json END"
            " FROM records r JOIN imports i ON i.import_id = r.import_id"
            " WHERE i.status = 'stored' AND i.superseded_by IS NULL AND r.source_id = ?",
            (source_id,),
        ).fetchall()
    finally:
        connection.close()
    frame = pd.DataFrame(rows, columns=list(LINKABLE_COLUMNS), dtype=object)
    frame["record_id"] = frame["record_id"].astype(np.int64)
    return frame


@pytest.fixture
def store_with_odd_values(tmp_path):
    """A store whose master has a non-numeric 学年 late (SQLite keeps it as text) and repeated names."""
    store = open_store(tmp_path / "mimamori.db")
    master = make_master(40)
    master["grade"] = [3] + [None] * 39  # the first slice shows 学年 as a number
    master["school"] = [None] * 20 + ["みどり小学校"] * 20  # no school in the first slice
    _import(store, "jumin", master)
    with sqlite3.connect(tmp_path / "mimamori.db") as connection:
        connection.execute("UPDATE records SET grade = '不明' WHERE row_number = 30")
        connection.execute("UPDATE records SET name = '山田 太郎' WHERE row_number IN (6, 7, 8)")
    yield store, tmp_path / "mimamori.db"
    store.dispose()


def test_linkable_records_read_in_slices_equal_a_row_by_row_read(store_with_odd_values, monkeypatch):
    store, database = store_with_odd_values
    monkeypatch.setattr(query, "ROWS_PER_FETCH", 7)  # several slices, the last one short
    read = linkable_records(store, source_id="jumin").sort_values("record_id").reset_index(drop=True)
    expected = _row_by_row(database, "jumin").sort_values("record_id").reset_index(drop=True)
    assert len(read) == 40
    assert read["record_id"].dtype == np.int64
    pd.testing.assert_frame_equal(read, expected)
    for column in LINKABLE_COLUMNS[1:]:  # same Python types too: 学年 3 stays an int, 不明 text
        assert [type(v) for v in read[column]] == [type(v) for v in expected[column]], column
    assert "不明" in set(read["grade"]) and 3 in set(read["grade"])
    named = read["name"][read["name"] == "山田 太郎"].to_numpy()
    assert len(named) == 3 and named[0] is named[1] is named[2]  # one object per distinct value


def test_linkable_records_of_a_source_without_records_is_empty(store_with_odd_values):
    store, _ = store_with_odd_values
    read = linkable_records(store, source_id="no_such_source")
    assert read.empty and list(read.columns) == list(LINKABLE_COLUMNS)
    assert read["record_id"].dtype == np.int64


class _ProcessStarts:
    """Wraps the real ``subprocess.Popen``: which threads were alive at each process start."""

    def __init__(self) -> None:
        self.threads_at_start: list[set[str]] = []
        self._real = subprocess.Popen

    def __call__(self, *args, **kwargs):
        self.threads_at_start.append({thread.name for thread in threading.enumerate()})
        return self._real(*args, **kwargs)


def test_prepare_people_starts_a_process_only_when_asked(monkeypatch):
    starts = _ProcessStarts()
    monkeypatch.setattr(prepare.subprocess, "Popen", starts)
    monkeypatch.setattr(prepare, "PARALLEL_MIN_RECORDS", 1)
    frame = make_master(30)
    here = prepare_people(frame)
    assert starts.threads_at_start == []
    in_worker = prepare_people(frame, parallel=True)
    assert len(starts.threads_at_start) == 1
    pd.testing.assert_frame_equal(here, in_worker)


def test_a_link_run_starts_its_worker_before_any_writer_thread(tmp_path, monkeypatch):
    starts = _ProcessStarts()
    monkeypatch.setattr(prepare.subprocess, "Popen", starts)
    monkeypatch.setattr(prepare, "PARALLEL_MIN_RECORDS", 1)  # the worker path, on a small store
    result = run_action("link", _context(tmp_path))
    assert result.ok, result.messages
    assert len(starts.threads_at_start) == 1  # the master's normalisation worker, nothing later
    assert not any(name.startswith("links-writer") for name in starts.threads_at_start[0])
    assert result.summary["sources"]["gakureibo"]["records"] == 301
