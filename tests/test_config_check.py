"""A stage validator that cannot be loaded is an error staff see, never a silent pass."""

from __future__ import annotations

import logging

from fixtures.ingest.helpers import context_for

from macros_py.actions import run_action
from macros_py.config import check


def test_an_unloadable_validator_is_an_error_in_the_check_and_in_file_mode(tmp_path, monkeypatch, caplog):
    from macros_py.book.build import build_workbook
    from macros_py.book.filemode import run_in_file_mode

    broken = "macros_py.ingest.no_such_module:validate"
    monkeypatch.setattr(check, "STAGE_VALIDATORS", (*check.STAGE_VALIDATORS, broken))
    monkeypatch.setitem(check.VALIDATOR_SHEETS, broken, "項目マッピング")
    with caplog.at_level(logging.ERROR, logger="macros_py.config.check"):
        result = run_action("check_settings", context_for(tmp_path, {}))
    assert result.ok is False
    assert any("項目マッピング" in m and "入力チェックを読み込めなかった" in m for m in result.messages)
    assert any(broken in record.getMessage() for record in caplog.records)
    workbook = build_workbook(tmp_path / "mimamori.xlsm")
    refused = run_in_file_mode("import", workbook, user_name="tester")
    assert refused.ok is False and any("入力チェックを読み込めなかった" in m for m in refused.messages)


def test_the_installed_validators_all_load():
    assert check.validate_all_settings(context_for_tables()) == []


def context_for_tables():
    from macros_py.config.defaults import default_tables

    return default_tables()
