"""Two people importing the same folder at once never store a file twice.

Two real processes run the 取込 action against one store (SQLite file, or PostgreSQL)
and start together; the duplicate-file check and the insert are one step under the
source's lock, so each file is stored once and the other process reports it unchanged.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fixtures.ingest import make_fixtures as fx
from fixtures.ingest.helpers import context_for
from sqlalchemy import func, select

from macros_py.ingest.query import current_records, import_history
from macros_py.store.tables_ingest import records

ROOT = Path(__file__).resolve().parents[1]
ROWS = [[f"{i:06d}", f"住民　{i}", "H20.4.1", "1", f"みどり村{i}番地", "", ""] for i in range(1, 40_001)]
SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    sys.path[:0] = [sys.argv[4], sys.argv[5]]
    from fixtures.ingest.helpers import run_import
    base, go, url = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    while not go.exists():
        time.sleep(0.005)
    result = run_import(base, データベース=url)
    print(json.dumps([[e["file"], e["status"]] for e in result.to_json()["sources"]]))
    """
)


def _folder_with_files(base: Path) -> None:
    folder = base / "exports" / "住民記録"
    fx.write_csv(folder, "住民記録_20251031.csv", ROWS[:30_000])
    fx.write_csv(folder, "住民記録_20251130.csv", ROWS)
    for school in ("E001", "E002", "E003"):
        fx.write_csv(base / "exports" / "出欠", f"出欠_{school}_20251130.csv", ROWS[:50])


def _import_twice_at_once(base: Path, url: str) -> list[list[list[str]]]:
    context_for(base, データベース=url).store.dispose()  # the store exists before the race
    go = base / "go"
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", SCRIPT, str(base), str(go), url, str(ROOT / "tests"), str(ROOT)]
    processes = [
        subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    time.sleep(3)  # both are imported and waiting
    go.touch()
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-3000:]
        import json

        outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    return outputs


def _check_each_file_stored_once(base: Path, url: str, outputs) -> None:
    store = context_for(base, データベース=url).store
    history = import_history(store)
    stored = history[history["status"] == "stored"]
    assert not stored.duplicated(["source_id", "file_name", "file_sha256"]).any(), stored[
        ["file_name", "status", "imported_by"]
    ]
    assert len(stored) == 2  # the two 住民記録 extracts (the 出欠 files match no source here)
    for first, second in zip(*outputs, strict=True):
        assert first[0] == second[0] and sorted([first[1], second[1]]) == ["stored", "unchanged"]
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(records)).scalar_one() == len(ROWS)
    assert len(current_records(store)) == len(ROWS)
    store.dispose()


def test_two_processes_importing_at_once_store_each_file_once_on_sqlite(tmp_path):
    _folder_with_files(tmp_path)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    outputs = _import_twice_at_once(tmp_path, url)
    _check_each_file_stored_once(tmp_path, url, outputs)


@pytest.mark.postgres
def test_two_processes_importing_at_once_store_each_file_once_on_postgresql(tmp_path, postgres_schema_url):
    _folder_with_files(tmp_path)
    outputs = _import_twice_at_once(tmp_path, postgres_schema_url)
    _check_each_file_stored_once(tmp_path, postgres_schema_url, outputs)
