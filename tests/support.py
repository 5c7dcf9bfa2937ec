"""Helpers shared by test modules (imported as ``from support import ...``).

Test helpers live in ``tests/`` and are imported as top-level modules (``support``,
``xl_payload``, ``fixtures.ingest.helpers``, ``fixtures.people``): pyproject's
``pythonpath = ["tests"]`` makes that work the same under ``pytest``, ``python -m pytest``
and ``python3 dev.py test``. Never import ``tests.<module>`` or ``conftest``.
"""

from __future__ import annotations

import os

import pytest

__all__ = ["in_ci", "require_or_skip"]


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
