"""Shared fixtures: one synthetic village per test session, reused read-only.

The village is also imported, linked and scored once per session (once per xdist worker):
``imported_village_template``, ``linked_village_template`` and ``scored_village_template``.
They are templates: a test that writes works on ``template.copy_to(tmp_path / ...)``, so every
test still starts from a pristine store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from support import TEST_USER, WORKBOOK_NAME, PreparedVillage, logged_on_as, require_or_skip


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


def _workbook_with_reference_date(folder: Path) -> Path:
    """The default workbook in ``folder`` with 基準日 = the date of the village's extracts."""
    from macros_py.book.build import build_workbook
    from macros_py.config.defaults import default_tables

    meta = json.loads((folder / "truth" / "meta.json").read_text(encoding="utf-8"))
    tables = default_tables()
    settings = tables["settings"]
    settings.loc[settings["項目"] == "基準日", "値"] = str(meta["reference_date"])[:10]
    return build_workbook(folder / WORKBOOK_NAME, tables)


@pytest.fixture(scope="session")
def imported_village_template(synthetic_village, tmp_path_factory) -> PreparedVillage:
    """The village with the default workbook (基準日 = the extracts' date), imported in file mode.

    A read-only template: copy it (``copy_to``) before writing.
    """
    from macros_py.book.filemode import run_in_file_mode

    folder = tmp_path_factory.mktemp("template-imported") / "village"
    shutil.copytree(synthetic_village, folder)
    result = run_in_file_mode("import", _workbook_with_reference_date(folder), user_name=TEST_USER)
    assert result.ok, result.messages
    return PreparedVillage(folder, result.summary)


@pytest.fixture(scope="session")
def linked_village_template(imported_village_template, tmp_path_factory) -> PreparedVillage:
    """``imported_village_template`` then linked in file mode; ``summary`` is the link's.

    A read-only template: copy it (``copy_to``) before writing.
    """
    from macros_py.book.filemode import run_in_file_mode

    folder = tmp_path_factory.mktemp("template-linked") / "village"
    workbook = imported_village_template.copy_to(folder)
    result = run_in_file_mode("link", workbook, user_name=TEST_USER)
    assert result.ok, result.messages
    return PreparedVillage(folder, result.summary)


@pytest.fixture(scope="session")
def scored_village_template(linked_village_template, tmp_path_factory) -> PreparedVillage:
    """``linked_village_template`` then scored once through the CLI (``run score --json``).

    ``summary`` is the CLI's JSON output of that first score run. A read-only template:
    copy it (``copy_to``) before writing.
    """
    folder = tmp_path_factory.mktemp("template-scored") / "village"
    workbook = linked_village_template.copy_to(folder)
    completed = subprocess.run(
        [sys.executable, "-m", "macros_py.cli", "run", "score", "--workbook", str(workbook), "--json"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        env=logged_on_as(TEST_USER),  # the user who imported and linked it (管理者 of its store)
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return PreparedVillage(folder, json.loads(completed.stdout))


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("MIMAMORI_TEST_PG_URL", "")
    require_or_skip(bool(url), "MIMAMORI_TEST_PG_URL is not set (no PostgreSQL server)")
    return url


@pytest.fixture
def postgres_schema_url(tmp_path, postgres_url) -> str:
    """A PostgreSQL URL whose tables live in a fresh schema, dropped after the test."""
    from sqlalchemy import create_engine, text

    # Unique across xdist workers too (their tmp_path names repeat: test_x0 on each worker).
    schema = f"test_{uuid.uuid4().hex[:16]}"
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
