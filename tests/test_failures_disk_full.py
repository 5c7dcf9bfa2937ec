"""A full disk under the log file must not end a run with an English traceback.

The log file is made a link to ``/dev/full`` (every write fails with ENOSPC), so the failure
is the real one the operating system gives, not a mock.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from macros_py.book.build import build_workbook
from macros_py.failures import LOG_FILE_NAME

REPOSITORY = Path(__file__).resolve().parents[1]
ENGLISH = re.compile(r"Traceback|Error\b|Exception|errno|No space left", re.IGNORECASE)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_cli_run_with_a_full_disk_under_its_log_ends_without_english(tmp_path):
    workbook = build_workbook(tmp_path / "mimamori.xlsm")
    (tmp_path / LOG_FILE_NAME).symlink_to("/dev/full")
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY))
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
        cwd=tmp_path,
        env=environment,
        timeout=300,
    )
    assert not ENGLISH.search(completed.stderr), completed.stderr
    assert not ENGLISH.search(completed.stdout), completed.stdout
    summary = json.loads(completed.stdout)
    assert summary["action"] == "check_settings"
    assert completed.returncode == (0 if summary["ok"] else 1)
