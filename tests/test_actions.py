"""The action registry and the runner: roles, recording, Japanese errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from macros_py.actions import ACTIONS, ActionContext, ActionSpec, run_action, validate_registry
from macros_py.config.defaults import default_tables
from macros_py.store.schema import action_runs


def make_context(tmp_path: Path, user_name: str = "tanaka", **overrides) -> ActionContext:
    tables = default_tables()
    tables.update(overrides)
    return ActionContext(tables=tables, workbook_dir=tmp_path, user_name=user_name)


def test_registry_is_consistent_and_every_function_imports():
    validate_registry()
    for action in ACTIONS:
        assert callable(action.load_function()), action.id
        assert action.label and action.description


def test_registry_rejects_non_ascii_ids():
    bad = ActionSpec("取込", "取込", ("admin",), (), (), "x:y", "")
    with pytest.raises(ValueError, match="ASCII"):
        validate_registry((bad,))


def test_check_settings_on_defaults_is_ok_and_recorded(tmp_path):
    result = run_action("check_settings", make_context(tmp_path))
    assert result.ok, result.messages
    summary = result.to_json()
    assert summary["action"] == "check_settings" and summary["ok"] is True
    json.dumps(summary, ensure_ascii=False)
    with make_context(tmp_path).store.engine.connect() as connection:
        run = connection.execute(select(action_runs)).one()
    assert run.action == "check_settings" and run.ok == 1 and run.user_name == "tanaka"


def test_invalid_setting_is_reported_with_sheet_row_and_column(tmp_path):
    tables = default_tables()
    settings = tables["settings"].copy()
    settings.loc[settings["項目"] == "名寄せ自動しきい値", "値"] = "高い"
    row_index = int(settings.index[settings["項目"] == "名寄せ自動しきい値"][0])
    result = run_action("check_settings", make_context(tmp_path, settings=settings))
    assert not result.ok
    # The store could not be configured either, so the message comes from the runner or the action.
    assert any("設定" in m and f"{row_index + 5}行目" in m and "「値」列" in m for m in result.messages), (
        result.messages
    )


def test_user_without_the_role_is_refused_in_japanese(tmp_path):
    users = pd.DataFrame(
        [{"利用者ID": "tanaka", "氏名": "田中", "役割": "学校", "所属学校": "第一小", "有効": "はい"}]
    )
    result = run_action("check_settings", make_context(tmp_path, users=users))
    assert not result.ok
    assert "権限がありません" in result.messages[0]


def test_unknown_action_is_a_message_not_a_crash(tmp_path):
    result = run_action("no_such_action", make_context(tmp_path))
    assert not result.ok and "ありません" in result.messages[0]
