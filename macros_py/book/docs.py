"""The README's action list, generated from the action registry.

``python -m macros_py.book.docs`` rewrites the part of ``README.md`` between the
``<!-- actions:start -->`` and ``<!-- actions:end -->`` markers.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from macros_py.actions import ACTIONS, ActionSpec
from macros_py.sheets import ROLES, SHEET_BY_KEY

logger = logging.getLogger(__name__)

__all__ = ["START_MARKER", "END_MARKER", "actions_markdown", "update_readme"]

START_MARKER = "<!-- actions:start -->"
END_MARKER = "<!-- actions:end -->"
_OTHER_SOURCES = {"store": "データベース", "exports": "取込フォルダのファイル"}


def _places(keys: tuple[str, ...]) -> str:
    names = [SHEET_BY_KEY[key].name if key in SHEET_BY_KEY else _OTHER_SOURCES.get(key, key) for key in keys]
    return "・".join(dict.fromkeys(names)) or "-"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def actions_markdown(actions: tuple[ActionSpec, ...] = ACTIONS) -> str:
    """A Markdown table of the actions: id, button, roles, what it reads and writes.

    Args:
        actions: The action registry.

    Returns:
        The table, ending with a newline.
    """
    lines = [
        "| id | ボタン | 役割 | 読む | 書く | 説明 |",
        "|---|---|---|---|---|---|",
    ]
    for action in actions:
        roles = "・".join(ROLES[role] for role in action.roles)
        cells = [
            f"`{action.id}`",
            action.label,
            roles,
            _places(action.reads),
            _places(action.writes),
            action.description,
        ]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    lines.append("")
    lines.append(
        "ボタンは台帳の「操作」タブにあります。マクロが使えない場合は "
        "`mimamori run <id> --workbook 台帳.xlsm` で同じ操作を実行できます。"
        "id の代わりにボタンの名前も使えます(例: `mimamori run 取込 --workbook 台帳.xlsm`)。"
        "使い方は `mimamori --help`、`mimamori run --help` で表示されます。"
    )
    return "\n".join(lines) + "\n"


def render_readme(text: str, actions: tuple[ActionSpec, ...] = ACTIONS) -> str:
    """``text`` with the section between the markers replaced by :func:`actions_markdown`.

    Raises:
        ValueError: If the markers are missing or out of order.
    """
    start = text.find(START_MARKER)
    end = text.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError(f"README needs {START_MARKER} followed by {END_MARKER}")
    head = text[: start + len(START_MARKER)]
    return head + "\n" + actions_markdown(actions) + text[end:]


def update_readme(path: Path) -> bool:
    """Rewrite the action list of the README at ``path``; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    new_text = render_readme(text)
    if new_text == text:
        return False
    path.write_text(new_text, encoding="utf-8")
    logger.info("updated the action list in %s", path)
    return True


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m macros_py.book.docs [README.md]``."""
    arguments = sys.argv[1:] if argv is None else argv
    path = Path(arguments[0]) if arguments else Path(__file__).resolve().parents[2] / "README.md"
    update_readme(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
