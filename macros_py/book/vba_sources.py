"""The text of every VBA module in the workbook, generated from the action registry.

Modules: the document modules that xlsxwriter's codenames require (``ThisWorkbook``,
``Sheet1``...), ``xlwings`` (``xlwings.bas`` from the installed, pinned xlwings package)
and ``Buttons`` (rendered from ``templates/Buttons.bas.j2``, one ``Public Sub`` per action).
"""

from __future__ import annotations

import logging
import os
import sys
from importlib import metadata
from pathlib import Path

import jinja2

from macros_py.actions import ACTIONS, ActionSpec
from macros_py.book.vba import VbaModule

logger = logging.getLogger(__name__)

__all__ = [
    "BUTTON_MESSAGES",
    "INSTALL_GUIDE",
    "PINNED_XLWINGS_VERSION",
    "STUB_RECORD_CELL",
    "buttons_module",
    "document_modules",
    "templates_folder",
    "vba_modules",
    "vba_text_function",
    "xlwings_module",
]

PINNED_XLWINGS_VERSION = "0.37.8"
STUB_RECORD_CELL = "D1"  # where the test stub of RunPython records its argument
_WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"
_WORKSHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"


def templates_folder() -> Path:
    """The Jinja2 templates folder (``MIMAMORI_TEMPLATES`` overrides)."""
    override = os.environ.get("MIMAMORI_TEMPLATES")
    if override:
        return Path(override)
    repository_folder = Path(__file__).resolve().parents[2] / "templates"
    if repository_folder.is_dir():
        return repository_folder
    return Path(sys.prefix) / "share" / "mimamori" / "templates"


def _crlf(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    return "\r\n".join(lines) + "\r\n"


def _render(template_name: str, **values: object) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_folder())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    return _crlf(environment.get_template(template_name).render(**values))


INSTALL_GUIDE = "docs/install-windows.md"
# Japanese texts of the Buttons module (shown in VBA message boxes) by function name.
BUTTON_MESSAGES: dict[str, str] = {
    "MessageTitle": "みまもり台帳",
    "MessageInterpreterMissing": (
        "このパソコンで、みまもりの Python が見つかりません。ボタンを使うには Python とみまもりの"
        f"インストールが必要です。手順はインストール手順書({INSTALL_GUIDE})の「ボタンが動かないとき」を"
        "見てください。それまでは、管理者がファイルモード(mimamori run)で実行できます。"
    ),
    "MessageFailed": (
        "ボタンの処理を始められませんでした。インストール手順書"
        f"({INSTALL_GUIDE})の「ボタンが動かないとき」を見て、次の番号を管理者に伝えてください。"
    ),
}
_CHUNK = 12  # characters per VBA line (a line holds at most 1023 characters)


def _vba_literal(text: str) -> str:
    """A VBA expression for ``text`` in ASCII only: quoted ASCII runs and ChrW for the rest."""
    parts: list[str] = []
    ascii_run = ""
    for character in text:
        if character.isascii() and character.isprintable():
            ascii_run += character.replace('"', '""')
            continue
        if ascii_run:
            parts.append(f'"{ascii_run}"')
            ascii_run = ""
        parts.append(f"ChrW({ord(character)})")
    if ascii_run:
        parts.append(f'"{ascii_run}"')
    return " & ".join(parts) or '""'


def vba_text_function(name: str, text: str) -> str:
    """A private VBA function returning ``text`` (built a few characters per line)."""
    lines = ["", f"Private Function {name}() As String", "    Dim Text As String"]
    for start in range(0, len(text), _CHUNK):
        lines.append(f"    Text = Text & {_vba_literal(text[start : start + _CHUNK])}")
    lines += [f"    {name} = Text", "End Function"]
    return "\n".join(lines)


def buttons_module(actions: tuple[ActionSpec, ...] = ACTIONS) -> VbaModule:
    """The ``Buttons`` module: one ``Public Sub Run_<id>()`` per action.

    The module's own private ``RunPython`` checks the interpreter and turns VBA errors
    into Japanese guidance pointing to the install guide before calling xlwings.

    Args:
        actions: The action registry.

    Returns:
        The module, ASCII-only with CRLF line endings.
    """
    functions = "\n".join(vba_text_function(name, text) for name, text in BUTTON_MESSAGES.items())
    return VbaModule("Buttons", _render("Buttons.bas.j2", actions=actions, message_functions=functions))


def xlwings_module(stub_sheet: str | None = None) -> VbaModule:
    """``xlwings.bas`` from the installed xlwings, or a stub ``RunPython`` for tests.

    Args:
        stub_sheet: When given, a tiny module whose ``RunPython`` writes its argument to
            cell ``STUB_RECORD_CELL`` of this sheet replaces the real one.

    Raises:
        RuntimeError: If the installed xlwings is not the pinned version.
    """
    if stub_sheet is not None:
        return VbaModule(
            "xlwings", _render("RunPythonStub.bas.j2", sheet_name=stub_sheet, cell=STUB_RECORD_CELL)
        )
    installed = metadata.version("xlwings")
    if installed != PINNED_XLWINGS_VERSION:
        raise RuntimeError(
            f"xlwings {installed} is installed but the workbook pins {PINNED_XLWINGS_VERSION}: "
            "xlwings.bas and the Python side must match"
        )
    import xlwings

    source = (Path(xlwings.__file__).parent / "xlwings.bas").read_bytes().decode("ascii")
    return VbaModule("xlwings", _crlf(source))


def _document_module(name: str, base: str) -> VbaModule:
    lines = [
        f'Attribute VB_Name = "{name}"',
        f'Attribute VB_Base = "{base}"',
        "Attribute VB_GlobalNameSpace = False",
        "Attribute VB_Creatable = False",
        "Attribute VB_PredeclaredId = True",
        "Attribute VB_Exposed = True",
        "Attribute VB_TemplateDerived = False",
        "Attribute VB_Customizable = True",
    ]
    return VbaModule(name, _crlf("\n".join(lines)), document=True)


def document_modules(sheet_count: int) -> tuple[VbaModule, ...]:
    """``ThisWorkbook`` and ``Sheet1``..``SheetN``, the codenames xlsxwriter assigns."""
    sheets = tuple(_document_module(f"Sheet{i}", _WORKSHEET_BASE) for i in range(1, sheet_count + 1))
    return (_document_module("ThisWorkbook", _WORKBOOK_BASE), *sheets)


def vba_modules(
    sheet_count: int, actions: tuple[ActionSpec, ...] = ACTIONS, stub_sheet: str | None = None
) -> tuple[VbaModule, ...]:
    """Every module of the workbook's VBA project, document modules first."""
    return (*document_modules(sheet_count), xlwings_module(stub_sheet), buttons_module(actions))
