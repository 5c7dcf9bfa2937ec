"""The repository keeps the layout, quick start and CI entry that DESIGN.md and the README promise."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    heading = re.search(r"^#+ .*(quick ?start|クイックスタート).*$", text, re.IGNORECASE | re.MULTILINE)
    assert heading, "README has no quick start section"
    block = re.search(r"```[a-z]*\n(.*?)```", text[heading.end() :], re.DOTALL)
    assert block, "quick start has no command block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_top_level_layout():
    for folder in ("workbook", "plugins", "macros_py", "templates", "mappings", "tests", "bench"):
        assert (ROOT / folder).is_dir(), folder
    for file_name in ("pyproject.toml", "README.md", ".ci/run", "dev.py"):
        assert (ROOT / file_name).is_file(), file_name


def test_distribution_name_command_and_python_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "mimamori"
    assert project["scripts"]["mimamori"] == "macros_py.cli:main"
    assert project["requires-python"] == ">=3.11"
    assert any(dependency == "xlwings==0.37.8" for dependency in project["dependencies"])


def test_quick_start_has_exactly_demo_and_test_and_ci_runs_the_test_command():
    commands = quick_start_commands()
    assert len(commands) == 2
    assert commands[0].endswith("demo") and commands[1].endswith("test")
    assert commands[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


# Test helpers are top-level modules of tests/ (pyproject: pythonpath = ["tests"]); importing
# them as ``tests.<module>`` or ``conftest`` works only when the current folder is on sys.path.
_FORBIDDEN_TEST_IMPORT = re.compile(r"^\s*(from|import)\s+(tests(\.|\s|$)|conftest\b)", re.MULTILINE)


def test_test_helpers_are_imported_one_way():
    offenders = [
        path.name
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if _FORBIDDEN_TEST_IMPORT.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_pytest_script_collects_every_test_without_the_current_folder_on_sys_path():
    # ``python -P`` leaves the current folder off sys.path, as the ``pytest`` script does.
    completed = subprocess.run(
        [sys.executable, "-P", "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "error" not in completed.stdout.lower().split("warnings summary")[0]
