"""品質レポート and freshness: each dimension reacts to the data it measures."""

from __future__ import annotations

import pandas as pd
import pytest
from fixtures.ingest import make_fixtures as fx
from fixtures.ingest.helpers import (
    JUMIN_COLUMNS,
    JUMIN_SOURCE,
    SEX_CODES,
    context_for,
    mapping_tables,
    run_import,
    source_row,
)
from sqlalchemy import func, select

from macros_py.ingest.quality import _timeliness


def test_quality_dimensions_per_source(tmp_path):
    _check_quality_dimensions(tmp_path)


@pytest.mark.postgres
def test_quality_dimensions_per_source_on_postgresql(tmp_path, postgres_schema_url):
    _check_quality_dimensions(tmp_path, データベース=postgres_schema_url)


def _check_quality_dimensions(tmp_path, **settings):
    exports = tmp_path / "exports"
    fx.write_csv(exports / "住民記録", "住民記録_20251130.csv", fx.GOOD_ROWS)
    fx.write_csv(
        exports / "手当",
        "手当_20250831.csv",
        [["0001", "1"], ["0002", ""], ["0999", "2"], ["0001", "1"]],
        header=["宛名番号", "区分"],
    )
    mapping = mapping_tables(
        sources=[JUMIN_SOURCE, source_row("allowance", "手当/手当_*.csv", 更新頻度="月次")],
        columns=[
            *JUMIN_COLUMNS,
            ["allowance", "宛名番号", "宛名番号", "文字", "", "はい"],
            ["allowance", "区分", "支給区分", "文字", "", ""],
        ],
        codes=SEX_CODES,
    )
    result = run_import(tmp_path, mapping, **settings)
    quality = result.tables["quality_report"].set_index("ソースID")
    allowance = quality.loc["allowance"]
    assert allowance["件数"] == 4
    assert allowance["完全性"] == round((1.0 + 0.75) / 2, 3)
    assert allowance["妥当性"] == 1.0
    assert allowance["一意性"] == 0.75  # rows 2 and 5 are identical
    assert allowance["整合性"] == 0.75  # 0999 is not in 住民記録
    assert allowance["適時性"] == 0.0  # 91 days old, monthly: more than twice the rhythm
    assert "住民記録にない宛名番号 1 件" in allowance["注意"] and "91 日前" in allowance["注意"]
    jumin = quality.loc["jumin"]
    assert (jumin["件数"], jumin["一意性"], jumin["適時性"]) == (3, 1.0, 1.0)
    freshness = result.tables["freshness"].set_index("ソースID")["鮮度"].to_dict()
    assert freshness == {"jumin": "最新(0日前)", "allowance": "古い(91日前・月次)"}


def test_sources_without_files_are_listed_as_not_imported(tmp_path):
    (tmp_path / "exports").mkdir()
    result = run_import(tmp_path)
    assert result.tables["quality_report"]["注意"].tolist() == ["まだ取り込まれていません"]
    assert result.tables["freshness"]["鮮度"].tolist() == ["未取込"]
    assert any("ファイルが見つかりません" in message for message in result.messages)


def test_timeliness_falls_from_one_to_zero_at_twice_the_rhythm():
    assert _timeliness(31, "月次") == 1.0
    assert _timeliness(46, "月次") < 1.0
    assert _timeliness(62, "月次") == 0.0
    assert _timeliness(400, "随時") is None


def _quality_without_import_time(frame):
    return frame.drop(columns=["最終取込"]).reset_index(drop=True)


def test_counts_kept_at_import_equal_counts_read_back_from_records(village_copy):
    """Imports stored before the counts existed (or from an older version) get the
    same 品質レポート from the records as fresh imports get from their kept counts."""
    from sqlalchemy import delete, update

    from macros_py.config.defaults import default_tables
    from macros_py.ingest.mapping import parse_mapping_tables
    from macros_py.ingest.quality import quality_report
    from macros_py.store.tables_ingest import import_field_counts, imports

    result = run_import(village_copy, {})
    store = context_for(village_copy, {}).store
    config = parse_mapping_tables(default_tables())
    reference = context_for(village_copy, {}).reference_date().date()
    kept = quality_report(store, config, reference)
    assert kept["完全性"].notna().all() and (kept["完全性"] > 0.5).all()
    assert _quality_without_import_time(kept).equals(
        _quality_without_import_time(result.tables["quality_report"])
    )
    with store.engine.begin() as connection:
        assert connection.execute(select(func.count()).select_from(import_field_counts)).scalar() > 0
        connection.execute(delete(import_field_counts))
        connection.execute(update(imports).values(duplicate_records=None, duplicate_resident_ids=None))
    recomputed = quality_report(store, config, reference)
    pd.testing.assert_frame_equal(
        _quality_without_import_time(recomputed), _quality_without_import_time(kept)
    )
    with store.engine.connect() as connection:  # the counts were kept for next time
        assert connection.execute(select(func.count()).select_from(import_field_counts)).scalar() > 0


def test_household_keyed_sources_are_checked_against_the_households_of_the_register(tmp_path):
    exports = tmp_path / "exports"
    header = ["宛名番号", "世帯番号", "氏名", "生年月日"]
    fx.write_csv(
        exports / "住民記録",
        "住民記録_20251130.csv",
        [
            ["0001", "H1", "山田　太郎", "R5.4.1"],
            ["0002", "H1", "山田　花子", "H1.1.8"],
            ["0003", "H2", "佐藤", "H27.10.3"],
        ],
        header=header,
    )
    fx.write_csv(exports / "料金", "料金_20251130.csv", [["H1"], ["H2"], ["H9"], ["H1"]], header=["世帯番号"])
    mapping = mapping_tables(
        sources=[JUMIN_SOURCE, source_row("fee", "料金/料金_*.csv", キー種別="世帯番号")],
        columns=[
            *[["jumin", name, name, "日付" if name == "生年月日" else "文字", "", ""] for name in header],
            ["fee", "世帯番号", "世帯番号", "文字", "", "はい"],
        ],
        codes=SEX_CODES,
    )
    quality = run_import(tmp_path, mapping).tables["quality_report"].set_index("ソースID")
    assert quality.loc["fee", "整合性"] == 0.75
    assert "住民記録にない世帯番号 1 件" in quality.loc["fee", "注意"]
    assert quality.loc["fee", "一意性"] == 0.75
