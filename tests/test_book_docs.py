"""The README's action list is generated from the registry and kept up to date."""

from __future__ import annotations

from pathlib import Path

import pytest

from macros_py.actions import ACTIONS
from macros_py.book.docs import END_MARKER, START_MARKER, actions_markdown, render_readme

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_action_list_is_up_to_date():
    text = README.read_text(encoding="utf-8")
    assert render_readme(text) == text, "run: .venv/bin/python -m macros_py.book.docs"


def test_every_action_has_a_row():
    table = actions_markdown()
    for action in ACTIONS:
        assert f"| `{action.id}` | {action.label} |" in table


def test_only_the_marked_section_changes():
    text = f"前\n{START_MARKER}\n古い一覧\n{END_MARKER}\n後\n"
    rendered = render_readme(text)
    assert rendered.startswith(f"前\n{START_MARKER}\n| id |") and rendered.endswith(f"{END_MARKER}\n後\n")
    assert "古い一覧" not in rendered
    with pytest.raises(ValueError):
        render_readme("no markers")
