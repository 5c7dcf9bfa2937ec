"""Score runs in the store: the score tables (added in schema version 4) and the 判定 settings."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from macros_py.config import ConfigErrors
from macros_py.config.defaults import default_table
from macros_py.config.settings import parse_settings
from macros_py.store import SCHEMA_VERSION, open_store
from macros_py.store.migrations import read_schema_version

SCORE_TABLES = {"score_runs", "score_children", "score_items", "score_results", "score_type_scores"}


def test_a_version_3_store_gets_the_score_tables_and_the_current_version(tmp_path):
    path = tmp_path / "m.db"
    store = open_store(path)
    store.audit("tanaka", "kept")
    with store.engine.begin() as connection:  # make it look like schema version 3
        for table in SCORE_TABLES:
            connection.execute(text(f"DROP TABLE {table}"))
        connection.execute(text("UPDATE schema_info SET value = '3' WHERE key = 'schema_version'"))
    store.dispose()
    upgraded = open_store(path)
    with upgraded.engine.connect() as connection:
        assert read_schema_version(connection) == SCHEMA_VERSION >= 4
        kept = connection.execute(text("SELECT count(*) FROM audit_log WHERE action = 'kept'")).scalar()
        assert kept == 1
        assert set(inspect(connection).get_table_names()) >= SCORE_TABLES
    upgraded.dispose()


def _settings(**values: str):
    table = default_table("settings").copy()
    for item, value in values.items():
        assert (table["項目"] == item).any(), item
        table.loc[table["項目"] == item, "値"] = value
    return parse_settings(table)


def test_score_settings_have_defaults_and_are_checked():
    settings = _settings()
    assert settings.supported_children == "順位を下げる"
    assert settings.sibling_points == 0
    assert settings.candidate_order == "点数"
    chosen = _settings(**{"支援中の児童の扱い": "除外", "モデルの年齢帯しきい値": "0-5:0.30, 6-18:0.40"})
    assert chosen.supported_children == "除外"
    assert chosen.model_age_thresholds == "0-5:0.30, 6-18:0.40"
    with pytest.raises(ConfigErrors) as caught:
        _settings(
            **{"支援中の児童の扱い": "無視", "きょうだい加点": "-1", "モデルの年齢帯しきい値": "0-5=0.3"}
        )
    text_ = "\n".join(error.as_japanese() for error in caught.value.errors)
    assert "支援中の児童の扱い" in text_ and "除外" in text_
    assert "きょうだい加点" in text_
