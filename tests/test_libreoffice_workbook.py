"""LibreOffice headless opens the built workbook, lists the VBA modules and runs each button.

One soffice per test session, on a private profile; each check is a UNO script run with
the system Python (``tests/lo_inspect.py``).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from support import require_or_skip

from macros_py.actions import ACTIONS
from macros_py.book.build import BuildOptions, build_workbook, caption_width, sheet_order

pytestmark = pytest.mark.libreoffice

SYSTEM_PYTHON = "/usr/bin/python3"
INSPECT = Path(__file__).with_name("lo_inspect.py")


class _Soffice:
    """A lazily started headless soffice listening on a free local port."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.profile = Path(tempfile.mkdtemp(prefix="mimamori-lo-"))

    def ensure(self, soffice_path: str) -> int:
        if self.process is None:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
            self.process = subprocess.Popen(
                [
                    soffice_path,
                    "--headless",
                    "--invisible",
                    "--nologo",
                    "--norestore",
                    f"-env:UserInstallation={self.profile.as_uri()}",
                    f"--accept=socket,host=127.0.0.1,port={self.port};urp;",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        return self.port

    def close(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="session")
def _soffice_server():
    server = _Soffice()
    yield server
    server.close()


@pytest.fixture
def inspect(soffice_path, _soffice_server):
    has_uno = Path(SYSTEM_PYTHON).exists() and (
        subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True).returncode == 0
    )
    require_or_skip(has_uno, "the system Python has no uno module (python3-uno)")
    port = _soffice_server.ensure(soffice_path)

    def run(path: Path, *extra: str) -> dict:
        completed = subprocess.run(
            [SYSTEM_PYTHON, str(INSPECT), str(port), str(path), *extra],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert completed.returncode == 0, completed.stderr
        return json.loads(completed.stdout)

    return run


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("lo")
    return {
        "real": build_workbook(folder / "mimamori.xlsm"),
        "stub": build_workbook(folder / "stub.xlsm", options=BuildOptions(runpython_stub=True)),
    }


def _expected_modules() -> set[str]:
    sheets = len(sheet_order()) + 1
    return {"ThisWorkbook", "xlwings", "Buttons", *(f"Sheet{i}" for i in range(1, sheets + 1))}


def test_libreoffice_shows_the_vba_project_and_binds_each_button(inspect, workbooks):
    report = inspect(workbooks["real"])
    assert set(report["modules"]) == _expected_modules()
    for action in ACTIONS:
        assert f"Public Sub {action.vba_sub_name}()" in report["modules"]["Buttons"]
    assert "Public Function RunPython" in report["modules"]["xlwings"]
    bound = {b["label"]: [e["code"] for e in b["events"]] for b in report["buttons"] if b["sheet"] == "操作"}
    assert set(bound) == {a.label for a in ACTIONS}
    for action in ACTIONS:
        assert any(
            code.startswith(f"vnd.sun.star.script:VBAProject.Buttons.{action.vba_sub_name}?")
            for code in bound[action.label]
        ), bound[action.label]


def test_each_button_sends_its_own_action_id(inspect, workbooks):
    report = inspect(workbooks["stub"], "--run")
    recorded = {run["label"]: (run["recorded"], run["error"]) for run in report["runs"]}
    assert recorded == {a.label: (f"import macros_py.xl as x; x.run('{a.id}')", "") for a in ACTIONS}


def test_libreoffice_sees_the_print_setup_the_hidden_conf_and_sized_buttons(inspect, workbooks):
    sheets = {sheet["name"]: sheet for sheet in inspect(workbooks["real"])["sheets"]}
    assert [name for name, sheet in sheets.items() if not sheet["visible"]] == ["xlwings.conf"]
    assert sheets["xlwings.conf"]["protected"] and sheets["xlwings.conf"]["a1"] == "INTERPRETER_WIN"
    for name, sheet in sheets.items():
        assert sheet["protected"], name
        assert (sheet["landscape"], sheet["paper_mm"]) == (True, [210, 297]), name
        assert (sheet["pages_wide"], sheet["pages_high"]) == (1, 0), name
        if name != "xlwings.conf":
            assert sheet["title_rows"] == [3, 3], name  # the table header (row 4)
    buttons = sheets["操作"]["buttons"]
    assert {button["label"] for button in buttons} == {action.label for action in ACTIONS}
    for button in buttons:
        # 1/100 mm; an 11 pt full-width character is about 3.9 mm wide.
        assert button["width"] >= caption_width(button["label"]) * 390 + 400, button
