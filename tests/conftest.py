"""Shared fixtures: one synthetic village per test session, reused read-only."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from support import require_or_skip


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
def postgres_schema_url(tmp_path, postgres_url) -> str:
    """A PostgreSQL URL whose tables live in a fresh schema, dropped after the test."""
    from sqlalchemy import create_engine, text

    schema = f"test_{tmp_path.name[-8:].replace('-', '_')}".lower()
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_url + ("&" if "?" in postgres_url else "?") + f"options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def soffice_path() -> str:
    path = shutil.which("soffice") or shutil.which("libreoffice") or ""
    require_or_skip(bool(path), "LibreOffice (soffice) is not installed")
    return path
