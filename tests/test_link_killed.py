"""A 名寄せ run killed with SIGKILL leaves no process behind, and the next run is whole.

The run is the real command (``mimamori run link --workbook …``) in a subprocess. A
small wrapper lowers the size from which the master is normalised by a worker (so that
the worker path runs on a village) and pauses the run while the other sources are
read, when a worker would be busy: the kill then lands mid-run at a known moment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from support import logged_on_as

from macros_py.book.filemode import run_in_file_mode
from macros_py.link.query import current_links
from macros_py.store import open_store

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")

_WRAPPER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path

    import macros_py.link.action as action
    import macros_py.link.prepare as prepare
    from macros_py.cli import main

    prepare.PARALLEL_MIN_RECORDS = 1  # the worker path, on a village
    marker = Path(sys.argv[2])
    real = action.linkable_records

    def paused(store, source_id=None, exclude_source_id=None):
        if exclude_source_id is not None:  # the master is being normalised meanwhile
            marker.write_text("reading the other sources")
            time.sleep(120)
        return real(store, source_id=source_id, exclude_source_id=exclude_source_id)

    action.linkable_records = paused
    sys.exit(main(["run", "link", "--workbook", sys.argv[1], "--json"]))
    """
)


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` alive now (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _links(folder: Path) -> pd.DataFrame:
    store = open_store(folder / "mimamori.db")
    try:
        links = current_links(store)
    finally:
        store.dispose()
    columns = ["record_id", "source_id", "resident_id", "outcome", "method"]
    return links[columns].sort_values("record_id").reset_index(drop=True).astype(object)


def test_a_killed_link_run_leaves_no_process_and_the_next_run_is_whole(
    imported_village_template, linked_village_template, tmp_path
):
    # The session's village, imported (基準日 = the extracts' date) and not linked yet; the
    # uninterrupted run to compare with is the session's link of that same imported village.
    village_copy = tmp_path / "village"
    workbook = imported_village_template.copy_to(village_copy)
    reference = tmp_path / "reference"
    linked_village_template.copy_to(reference)
    before = workbook.read_bytes()

    marker = tmp_path / "paused"
    process = subprocess.Popen(
        [sys.executable, "-c", _WRAPPER, str(workbook), str(marker)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**logged_on_as(), "PYTHONIOENCODING": "utf-8"},  # as the file-mode runs' 管理者 "tester"
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run never reached the other sources"
            time.sleep(0.05)
        time.sleep(0.3)  # a worker started with the master would be busy now
        children = _children(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL  # killed mid-run, not finished
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in children if _alive(pid)]
    for pid in survivors:  # do not leave them running after the test
        os.kill(pid, signal.SIGKILL)
    assert survivors == [], f"processes left behind by the killed run: {survivors}"
    assert workbook.read_bytes() == before  # nothing was written by the killed run
    assert _links(village_copy).empty

    resumed = run_in_file_mode("link", workbook, user_name="tester")
    assert resumed.ok, resumed.messages
    assert resumed.to_json()["sources"] == linked_village_template.summary["sources"]
    assert _links(village_copy).equals(_links(reference))
