"""Shared fixtures: one synthetic village per test session, reused read-only."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_or_skip(available: bool, reason: str) -> None:
    """Skip locally when a system tool is missing; fail in CI, where .ci/run installs it."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI must provide it: see .ci/run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def synthetic_village(tmp_path_factory) -> Path:
    """A generated village (seed 7): ``exports/`` and ``truth/``. Do not modify it."""
    from macros_py.synth import generate_municipality

    out_dir = tmp_path_factory.mktemp("village")
    generate_municipality("village", seed=7, out_dir=out_dir)
    return out_dir


@pytest.fixture
def village_copy(synthetic_village, tmp_path) -> Path:
    """A private, writable copy of the synthetic village."""
    target = tmp_path / "village"
    shutil.copytree(synthetic_village, target)
    return target


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("MIMAMORI_TEST_PG_URL", "")
    require_or_skip(bool(url), "MIMAMORI_TEST_PG_URL is not set (no PostgreSQL server)")
    return url


@pytest.fixture
def soffice_path() -> str:
    path = shutil.which("soffice") or shutil.which("libreoffice") or ""
    require_or_skip(bool(path), "LibreOffice (soffice) is not installed")
    return path
