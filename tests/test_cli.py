"""The command line: every registered action is a ``run`` subcommand, under its id and its
Japanese button label, and every command and option explains itself in Japanese."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys

import pytest

from macros_py.actions import ACTIONS
from macros_py.book.build import build_workbook
from macros_py.cli import build_parser

_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_ARGPARSE_ENGLISH = ("usage:", "show this help", "positional arguments", "options:", "error:")


def _cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "macros_py.cli", *arguments], capture_output=True, text=True, timeout=600
    )


def _every_parser(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Each (command path, parser) of the command tree, the root included."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, child in action.choices.items():
                if id(child) not in seen:  # aliases share one parser
                    seen.add(id(child))
                    yield from _every_parser(child, (*path, name))


def test_every_action_is_a_run_subcommand_under_its_id_and_its_button_label():
    parser = build_parser()
    for action in ACTIONS:
        for name in (action.id, action.label):
            arguments = parser.parse_args(["run", name, "--workbook", "x.xlsm", "--json"])
            assert arguments.action_id == action.id and arguments.json


def test_every_command_and_option_has_a_japanese_help_text():
    missing = []
    for path, parser in _every_parser(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {choice.dest: choice.help for choice in action._choices_actions}
                missing += [
                    f"{' '.join(path)} {name}"
                    for name, text in helps.items()
                    if not _JAPANESE.search(text or "")
                ]
            elif not _JAPANESE.search(action.help or ""):
                missing.append(f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}")
        text = parser.format_help()
        missing += [f"{' '.join(path)}: {word!r} in help" for word in _ARGPARSE_ENGLISH if word in text]
    assert missing == []


@pytest.mark.parametrize(
    "command", [["--help"], ["run", "--help"], ["run", "取込", "--help"], ["link", "--help"]]
)
def test_help_is_japanese_through_the_command(command):
    completed = _cli(*command)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("使い方: mimamori")
    assert not [word for word in _ARGPARSE_ENGLISH if word in completed.stdout]


def test_wrong_arguments_are_explained_in_japanese():
    unknown = _cli("run", "取り込み", "--workbook", "x.xlsm")
    assert unknown.returncode == 2
    assert (
        "指定の誤り" in unknown.stderr
        and "'取込'" in unknown.stderr
        and "invalid choice" not in unknown.stderr
    )
    missing = _cli("run", "取込")
    assert missing.returncode == 2 and "次の指定が必要です: --workbook" in missing.stderr


def test_actions_listing_runs_as_a_command():
    completed = _cli("actions")
    assert completed.returncode == 0
    for action in ACTIONS:
        assert f"{action.id}\t{action.label}" in completed.stdout


def test_run_by_button_label_is_the_same_as_run_by_id(tmp_path):
    workbook = build_workbook(tmp_path / "m.xlsm")
    by_label = _cli("run", "設定チェック", "--workbook", str(workbook), "--json")
    by_id = _cli("run", "check_settings", "--workbook", str(workbook), "--json")
    assert by_label.returncode == by_id.returncode == 0, by_label.stderr
    label_summary, id_summary = json.loads(by_label.stdout), json.loads(by_id.stdout)
    for summary in (label_summary, id_summary):
        summary.pop("file_mode", None)  # names the backup file, which differs by the second
    assert label_summary == id_summary and label_summary["action"] == "check_settings"
    plain = _cli("run", "設定チェック", "--workbook", str(workbook))
    assert plain.returncode == 0 and plain.stdout.startswith("設定チェック: 成功")


def test_import_runs_by_its_japanese_label_on_the_village(village_copy):
    workbook = build_workbook(village_copy / "mimamori.xlsm")
    completed = _cli("run", "取込", "--workbook", str(workbook), "--json")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    summary = json.loads(completed.stdout)
    assert summary["action"] == "import" and summary["ok"]
    assert any(entry["source"] == "jumin" and entry["stored"] > 0 for entry in summary["sources"])


def test_a_failed_command_speaks_japanese_and_logs_the_detail(tmp_path):
    blocker = tmp_path / "ファイル"  # a file where a folder is expected: mkdir fails on every OS
    blocker.write_text("x")
    completed = subprocess.run(
        [sys.executable, "-m", "macros_py.cli", "workbook", "build", "--out", str(blocker / "台帳.xlsm")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert completed.returncode == 1
    assert "読み書きできませんでした" in completed.stdout
    assert "Traceback" not in completed.stdout + completed.stderr
    assert "Error" not in completed.stdout + completed.stderr
    assert "Traceback" in (tmp_path / "mimamori.log").read_text(encoding="utf-8")
