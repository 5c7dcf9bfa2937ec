"""The command line lists every registered action as a ``run`` subcommand."""

from __future__ import annotations

import subprocess
import sys

from macros_py.actions import ACTIONS
from macros_py.cli import build_parser


def test_every_action_is_a_run_subcommand():
    parser = build_parser()
    for action in ACTIONS:
        arguments = parser.parse_args(["run", action.id, "--workbook", "x.xlsm", "--json"])
        assert arguments.action == action.id and arguments.json


def test_actions_listing_runs_as_a_command():
    completed = subprocess.run(
        [sys.executable, "-m", "macros_py.cli", "actions"], capture_output=True, text=True, check=True
    )
    for action in ACTIONS:
        assert f"{action.id}\t{action.label}" in completed.stdout
