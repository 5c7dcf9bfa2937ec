"""The 設定 and 利用者 tabs parse into typed values; errors name sheet, row and column."""

from __future__ import annotations

import pandas as pd
import pytest

from macros_py.config import ConfigErrors, Settings, parse_settings
from macros_py.config.defaults import default_tables
from macros_py.config.users import validate_users
from macros_py.sheets import SETTINGS_SHEETS


def test_defaults_exist_for_every_settings_sheet_with_its_headers():
    tables = default_tables()
    for sheet in SETTINGS_SHEETS:
        assert list(tables[sheet.key].columns) == sheet.headers


def test_default_settings_parse_to_typed_values():
    settings = parse_settings(default_tables()["settings"])
    assert isinstance(settings, Settings)
    assert settings.store_location == "mimamori.db"
    assert settings.link_review_threshold <= settings.link_auto_threshold
    assert settings.resident_source_id == "jumin"


def test_unknown_item_and_bad_number_are_both_reported():
    table = pd.DataFrame(
        {"項目": ["名寄せ自動しきい値", "データベス"], "値": ["abc", "x.db"], "説明": ["", ""]}
    )
    with pytest.raises(ConfigErrors) as caught:
        parse_settings(table)
    messages = [error.as_japanese() for error in caught.value.errors]
    assert messages[0] == "シート「設定」 5行目 「値」列: 「abc」は数値ではありません。"
    assert "6行目" in messages[1] and "データベス" in messages[1]


def test_review_threshold_above_auto_threshold_is_refused():
    table = pd.DataFrame(
        {"項目": ["名寄せ自動しきい値", "名寄せ確認しきい値"], "値": ["0.5", "0.8"], "説明": ["", ""]}
    )
    with pytest.raises(ConfigErrors, match="確認しきい値"):
        parse_settings(table)


def test_users_tab_problems_are_named():
    users = pd.DataFrame(
        {
            "利用者ID": ["tanaka", "TANAKA", ""],
            "氏名": ["田中", "田中", "鈴木"],
            "役割": ["管理者", "校長", "SSW"],
            "所属学校": ["", "", ""],
            "有効": ["はい", "はい", "はい"],
        }
    )
    messages = [error.as_japanese() for error in validate_users(users)]
    assert any("6行目" in m and "重複" in m for m in messages)
    assert any("6行目" in m and "「校長」は役割ではありません" in m for m in messages)
    assert any("7行目" in m and "利用者IDを入力" in m for m in messages)
