"""Helpers shared by test modules (imported as ``from support import ...``).

Test helpers live in ``tests/`` and are imported as top-level modules (``support``,
``xl_payload``, ``fixtures.ingest.helpers``, ``fixtures.people``): pyproject's
``pythonpath = ["tests"]`` makes that work the same under ``pytest``, ``python -m pytest``
and ``python3 dev.py test``. Never import ``tests.<module>`` or ``conftest``.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = ["TEST_USER", "WORKBOOK_NAME", "PreparedVillage", "in_ci", "logged_on_as", "require_or_skip"]

WORKBOOK_NAME = "mimamori.xlsm"
# The user file-mode runs in the tests pass (``user_name="tester"``): the first run that touches
# personal data records them as 管理者, so a CLI run on the same store must be them too.
TEST_USER = "tester"


def in_ci() -> bool:
    """Whether the suite runs in CI (``CI=true``), where every system tool must be present."""
    return os.environ.get("CI", "").lower() == "true"


def require_or_skip(available: bool, reason: str) -> None:
    """Skip locally when a system tool is missing; fail in CI, where .ci/run installs it."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI must provide it: see .ci/run)")
    pytest.skip(reason)


def logged_on_as(user: str = TEST_USER) -> dict[str, str]:
    """The environment of a subprocess logged on as ``user`` (``getpass.getuser()`` reads LOGNAME first)."""
    return {**os.environ, "LOGNAME": user, "USER": user, "USERNAME": user}


@dataclass(frozen=True)
class PreparedVillage:
    """A village folder prepared once per test session (workbook, store, exports, truth).

    The folder is a template shared by every test of the session (one per xdist worker):
    never write into it. ``copy_to`` gives a private, writable copy.

    Attributes:
        folder: the template folder (``mimamori.xlsm``, ``mimamori.db``, ``exports/``, ``truth/``).
        summary: the JSON summary of the last action that prepared it (``ActionResult.summary``
            or the CLI's ``--json`` output).
    """

    folder: Path
    summary: dict = field(default_factory=dict)

    @property
    def workbook(self) -> Path:
        """The template's workbook (read it, never write it)."""
        return self.folder / WORKBOOK_NAME

    def copy_to(self, target: Path) -> Path:
        """Copy the whole folder to ``target`` (which must not exist) and return the copy's workbook."""
        shutil.copytree(self.folder, target)
        return target / WORKBOOK_NAME
