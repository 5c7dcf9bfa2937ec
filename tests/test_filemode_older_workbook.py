"""A workbook built by an older version lacks the newest settings tabs: file mode fills them in."""

from __future__ import annotations

import openpyxl

from macros_py.book.build import build_workbook
from macros_py.book.filemode import run_in_file_mode
from macros_py.book.harvest import harvest_workbook
from macros_py.config.defaults import default_table
from macros_py.sheets import HARDSHIP_TYPES, ITEM_RULES, LABEL_SOURCES

NEW_TABS = (ITEM_RULES, HARDSHIP_TYPES, LABEL_SOURCES)


def _older_workbook(tmp_path):
    """A built workbook with the scoring tabs removed, as a version before them wrote it."""
    path = build_workbook(tmp_path / "mimamori.xlsm")
    book = openpyxl.load_workbook(path, keep_vba=True)
    for sheet in NEW_TABS:
        del book[sheet.name]
    book.save(path)
    assert not set(harvest_workbook(path)) & {sheet.key for sheet in NEW_TABS}
    return path


def test_missing_settings_tabs_get_their_defaults_in_the_same_run_and_staff_are_told(tmp_path):
    path = _older_workbook(tmp_path)
    result = run_in_file_mode("check_settings", path, user_name="tester")
    assert result.ok, result.messages
    told = [message for message in result.messages if "台帳になかったタブ" in message]
    assert told and all(sheet.name in told[0] for sheet in NEW_TABS)
    harvested = harvest_workbook(path)
    for sheet in NEW_TABS:
        assert len(harvested[sheet.key]) == len(default_table(sheet.key)) > 0
    again = run_in_file_mode("check_settings", path, user_name="tester")
    assert again.ok and not [message for message in again.messages if "台帳になかったタブ" in message]
