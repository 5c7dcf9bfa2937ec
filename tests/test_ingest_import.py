"""Importing: atomic, idempotent, superseding by extract date, history kept; the whole village."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from fixtures.ingest import make_fixtures as fx
from fixtures.ingest.helpers import context_for, mapping_tables, only_file, run_import, source_row
from sqlalchemy import func, select

from macros_py.ingest.query import current_records, import_history, records_of_import
from macros_py.store.tables_ingest import records


@pytest.fixture
def folder(tmp_path):
    target = tmp_path / "exports" / "住民記録"
    target.mkdir(parents=True)
    return target


def _store(base):
    return context_for(base).store


def _record_count(store) -> int:
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(records)).scalar_one()


ROWS = [
    [f"{i:04d}", f"住民　{i}", "H20.4.1", "1" if i % 2 else "2", f"みどり村{i}番地", "", ""]
    for i in range(1, 51)
]


def test_reimporting_the_same_file_stores_nothing_new(tmp_path, folder):
    fx.write_csv(folder, "住民記録_20251130.csv", ROWS)
    first = only_file(run_import(tmp_path))
    second_result = run_import(tmp_path)
    second = only_file(second_result)
    assert (first["stored"], first["unchanged"]) == (50, 0)
    assert (second["read"], second["stored"], second["quarantined"], second["unchanged"]) == (50, 0, 0, 50)
    assert second_result.ok
    store = _store(tmp_path)
    assert _record_count(store) == 50
    assert len(current_records(store)) == 50
    assert import_history(store)["status"].tolist() == ["unchanged", "stored"]


def test_same_records_in_a_differently_encoded_file_are_unchanged_by_record_hash(tmp_path, folder):
    fx.write_csv(folder, "住民記録_20251130.csv", ROWS, encoding="cp932")
    first_ids = None
    run_import(tmp_path)
    first_ids = current_records(_store(tmp_path))["record_id"].tolist()
    (folder / "住民記録_20251130.csv").unlink()
    fx.write_csv(folder, "住民記録_20251231.csv", ROWS, encoding="utf-8-sig")
    entry = only_file(run_import(tmp_path))
    assert (entry["read"], entry["stored"], entry["unchanged"]) == (50, 0, 50)
    current = current_records(_store(tmp_path))
    assert current["record_id"].tolist() == first_ids
    assert set(current["file_name"]) == {"住民記録/住民記録_20251231.csv"}
    assert _record_count(_store(tmp_path)) == 50


def test_a_file_changed_between_imports_supersedes_its_old_version_and_history_stays(tmp_path, folder):
    path = fx.write_csv(folder, "住民記録_20251130.csv", ROWS)
    run_import(tmp_path)
    store = _store(tmp_path)
    before = current_records(store).set_index("resident_id")
    changed = [list(row) for row in ROWS]
    changed[4][1] = "住民　五(改姓)"
    changed.append(["0099", "新規　転入", "R7.11.1", "1", "みどり村99番地", "", ""])
    del changed[0]
    path.write_bytes(fx._csv_text(changed).encode("cp932"))
    entry = only_file(run_import(tmp_path))
    assert (entry["read"], entry["stored"], entry["unchanged"], entry["quarantined"]) == (50, 2, 48, 0)
    after = current_records(store).set_index("resident_id")
    assert len(after) == 50 and "0001" not in after.index and "0099" in after.index
    assert after.loc["0005", "name"] == "住民　五(改姓)"
    assert after.loc["0005", "record_id"] != before.loc["0005", "record_id"]
    assert after.loc["0006", "record_id"] == before.loc["0006", "record_id"]
    assert after.loc["0006", "row_number"] == 6 and before.loc["0006", "row_number"] == 7
    history = import_history(store)
    assert history["status"].tolist() == ["stored", "stored"]
    assert history["current"].tolist() == [True, False]
    old = records_of_import(store, int(history["import_id"].iloc[1]))
    assert len(old) == 50 and "住民　1" in old["name"].tolist()


def test_a_newer_extract_supersedes_and_an_older_file_stays_history(tmp_path, folder):
    fx.write_csv(folder, "住民記録_20251031.csv", ROWS[:10])
    fx.write_csv(folder, "住民記録_20251130.csv", ROWS[:12])
    result = run_import(tmp_path)
    assert [entry["stored"] for entry in result.to_json()["sources"]] == [10, 2]
    store = _store(tmp_path)
    current = current_records(store)
    assert len(current) == 12 and set(current["file_name"]) == {"住民記録/住民記録_20251130.csv"}
    assert current["extract_date"].dt.date.unique().tolist() == [dt.date(2025, 11, 30)]
    again = run_import(tmp_path).to_json()["sources"]
    assert [entry["unchanged"] for entry in again] == [10, 12]
    assert len(current_records(store)) == 12
    fx.write_csv(folder, "住民記録_20250930.csv", ROWS[:5])
    late = [e for e in run_import(tmp_path).to_json()["sources"] if e["file"].endswith("20250930.csv")]
    assert late[0]["stored"] == 5
    assert len(current_records(store)) == 12
    history = import_history(store)
    assert history.loc[history["file_name"].str.endswith("20250930.csv"), "current"].tolist() == [False]


def test_files_of_one_extract_are_all_current_together(tmp_path):
    folder = tmp_path / "exports" / "出欠"
    for school, rows in (("E001", ROWS[:5]), ("E002", ROWS[5:9])):
        fx.write_csv(folder, f"出欠_{school}_20251031.csv", rows)
    sources = [source_row("attendance", "出欠/出欠_*.csv")]
    columns = [
        ["attendance", "宛名番号", "宛名番号", "文字", "", "はい"],
        ["attendance", "氏名", "氏名", "文字", "", ""],
    ]
    mapping = mapping_tables(sources=sources, columns=columns)
    run_import(tmp_path, mapping)
    for school, rows in (("E001", ROWS[:5]), ("E002", ROWS[5:10])):
        fx.write_csv(folder, f"出欠_{school}_20251130.csv", rows)
    result = run_import(tmp_path, mapping).to_json()["sources"]
    new = [entry for entry in result if "20251130" in entry["file"]]
    assert [(entry["stored"], entry["unchanged"]) for entry in new] == [(0, 5), (1, 4)]
    current = current_records(_store(tmp_path))
    assert len(current) == 10 and current["record_id"].is_unique
    assert current["file_name"].str.contains("20251130").all()


def test_an_administrator_adds_a_source_by_rows_only(tmp_path):
    folder = tmp_path / "exports" / "図書館"
    fx.write_csv(
        folder,
        "利用者_20251120.csv",
        [["A1", "R1.5.1", "Y", "１，２３４"], ["A2", "H30.1.2", "", "5"]],
        header=["利用者番号", "生年", "督促", "冊数"],
    )
    mapping = mapping_tables(
        sources=[source_row("library", "図書館/利用者_*.csv", キー種別="なし", 更新頻度="月次")],
        columns=[
            ["library", "利用者番号", "生徒番号", "文字", "", "はい"],
            ["library", "生年", "生年月日", "日付", "", ""],
            ["library", "督促", "督促あり", "フラグ", "", ""],
            ["library", "冊数", "貸出冊数", "数値", "", ""],
        ],
    )
    entry = only_file(run_import(tmp_path, mapping))
    assert (entry["stored"], entry["quarantined"]) == (2, 0)
    current = current_records(_store(tmp_path), "library")
    values = [json.loads(text) for text in current["values_json"]]
    # a blank flag is unknown (null), not "no"
    assert values == [{"督促あり": True, "貸出冊数": 1234}, {"督促あり": None, "貸出冊数": 5}]
    assert current["birth_date"].dt.date.tolist() == [dt.date(2019, 5, 1), dt.date(2018, 1, 2)]


def test_action_json_and_quality_tables(tmp_path, folder):
    fx.bad_values(folder)
    result = run_import(tmp_path)
    payload = result.to_json()
    assert payload["action"] == "import"
    assert set(payload) == {"action", "ok", "sources", "unmatched_files", "messages"}
    assert set(payload["sources"][0]) == {
        "source",
        "file",
        "status",
        "read",
        "stored",
        "quarantined",
        "unchanged",
        "refused",
        "held",
        "reason",
        "warnings",
    }
    assert payload["sources"][0]["status"] == "stored" and payload["unmatched_files"] == []
    quality = result.tables["quality_report"].set_index("ソースID")
    assert quality.loc["jumin", "件数"] == 7
    assert quality.loc["jumin", "妥当性"] == round(7 / 12, 3)
    assert quality.loc["jumin", "適時性"] == 1.0
    assert "取込エラー 5 行" in quality.loc["jumin", "注意"]
    freshness = result.tables["freshness"]
    assert freshness.set_index("ソースID").loc["jumin", ["名称", "抽出日"]].tolist() == [
        "住民記録",
        "2025-11-30",
    ]
    assert freshness["鮮度"].tolist() == ["最新(0日前)"]


def test_a_missing_import_folder_is_reported(tmp_path):
    result = run_import(tmp_path, 取込フォルダ="どこにもない")
    assert result.ok is False and "取込フォルダ" in result.messages[0]


def test_invalid_mapping_tabs_stop_the_import_with_sheet_row_column(tmp_path, folder):
    fx.write_csv(folder, "住民記録_20251130.csv", ROWS)
    mapping = mapping_tables(columns=[["jumin", "宛名番号", "宛名番号", "日付", "", "はい"]])
    result = run_import(tmp_path, mapping)
    assert result.ok is False
    assert any("項目マッピング" in message and "5行目" in message for message in result.messages)


def test_the_whole_synthetic_village_imports(village_copy):
    result = run_import(village_copy, {})  # the default mapping tabs from mappings/
    sources = result.to_json()["sources"]
    truth = pd.read_csv(village_copy / "truth" / "records.csv", dtype=str)
    meta = json.loads((village_copy / "truth" / "meta.json").read_text(encoding="utf-8"))
    assert result.ok, result.messages
    assert {entry["file"] for entry in sources} == set(meta["files"])
    assert all(not entry["refused"] for entry in sources)
    for entry in sources:
        assert entry["read"] == entry["stored"] + entry["quarantined"] + entry["unchanged"]
    assert sum(entry["read"] for entry in sources) == len(truth)
    assert sum(entry["quarantined"] for entry in sources) == 0
    stored = current_records(context_for(village_copy, {}).store)
    assert len(stored) == len(truth)
    truth_keys = set(zip(truth["file"], truth["row"].astype(int), strict=True))
    stored_keys = set(zip(stored["file_name"], stored["row_number"].astype(int), strict=True))
    assert stored_keys <= truth_keys and len(stored_keys) == len(stored)
    truth_sources = truth.groupby("file")["source_id"].first().to_dict()
    assert all(
        truth_sources[file] == source
        for file, source in zip(stored["file_name"], stored["source_id"], strict=True)
    )
    again = run_import(village_copy, {}).to_json()["sources"]
    assert sum(entry["unchanged"] for entry in again) == len(truth)
    assert sum(entry["stored"] for entry in again) == 0


@pytest.mark.postgres
def test_a_small_source_imports_into_postgresql(tmp_path, folder, postgres_schema_url):
    url = postgres_schema_url
    fx.bad_values(folder)
    result = run_import(tmp_path, データベース=url)
    entry = only_file(result)
    assert (entry["read"], entry["stored"], entry["quarantined"]) == (12, 7, 5)
    current = current_records(context_for(tmp_path, データベース=url).store)
    assert (
        len(current) == 7
        and list(fx.FORMULAS) == current.set_index("row_number").loc[[10, 11, 12, 13], "name"].tolist()
    )
    assert only_file(run_import(tmp_path, データベース=url))["unchanged"] == 12


def test_a_large_file_failing_midway_is_rolled_back_whole(tmp_path, folder):
    from macros_py.ingest.action import available_readers
    from macros_py.ingest.importer import import_file
    from macros_py.ingest.mapping import parse_mapping_tables
    from macros_py.plugins import load_plugins

    path = fx.too_many_fields(folder, line=2500, total=3000)
    store = _store(tmp_path)
    config = parse_mapping_tables(mapping_tables())
    readers = available_readers(load_plugins(None))
    outcome = import_file(
        store,
        config,
        config.sources[0],
        path,
        "住民記録/住民記録_20251130.csv",
        readers,
        user_name="tester",
        reference_date=dt.date(2025, 11, 30),
        chunk_rows=500,
    )
    assert outcome.refused and "2500行目" in outcome.reason
    assert _record_count(store) == 0
    assert import_history(store)["status"].tolist() == ["refused"]
    fx.write_csv(folder, "住民記録_20251130.csv", ROWS)
    good = import_file(
        store,
        config,
        config.sources[0],
        path,
        "住民記録/住民記録_20251130.csv",
        readers,
        user_name="tester",
        reference_date=dt.date(2025, 11, 30),
        chunk_rows=7,
    )
    assert (good.read, good.stored, good.refused) == (50, 50, False)
    assert current_records(store)["row_number"].tolist() == list(range(2, 52))
