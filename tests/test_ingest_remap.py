"""Mapping changes reach files already imported: the mapping rows, codes and settings an
import used are fingerprinted per source; when they change, the next 取込 reads that
source's files again instead of reporting them unchanged."""

from __future__ import annotations

import json

import pandas as pd
from fixtures.ingest import make_fixtures as fx
from fixtures.ingest.helpers import JUMIN_COLUMNS, context_for, mapping_tables, only_file, run_import

from macros_py.config.defaults import default_tables
from macros_py.ingest.query import current_records

JUMIN = "住民記録/住民記録_20251130.csv"


def _file_mode_import(workbook):
    from macros_py.book.filemode import run_in_file_mode

    return run_in_file_mode("import", workbook, user_name="tester")


def _status_by_source(result) -> dict[str, set[str]]:
    statuses: dict[str, set[str]] = {}
    for entry in result.to_json()["sources"]:
        statuses.setdefault(entry["source"], set()).add(entry["status"])
    return statuses


def _residence(frame: pd.DataFrame) -> pd.Series:
    return frame["values_json"].map(lambda text: json.loads(text).get("住民状態"))


def test_a_code_table_change_is_applied_to_the_imported_file_in_file_mode(village_copy):
    from macros_py.book.build import build_workbook

    workbook = build_workbook(village_copy / "mimamori.xlsm")
    assert _file_mode_import(workbook).ok
    store = context_for(village_copy, {}).store
    before = current_records(store, "jumin")
    assert (_residence(before) == "転出者").any()
    tables = default_tables()  # staff correct a value of the 住民状態 コード表
    codes = tables["code_tables"]
    codes.loc[(codes["コード表ID"] == "住民状態") & (codes["値"] == "転出者"), "値"] = "転出"
    build_workbook(workbook, tables)

    result = _file_mode_import(workbook)

    assert result.ok, result.messages
    statuses = _status_by_source(result)
    assert statuses["jumin"] == {"stored"}  # read again, not "unchanged"
    assert {status for source, found in statuses.items() if source != "jumin" for status in found} == {
        "unchanged"
    }
    after = current_records(store, "jumin")
    assert len(after) == len(before) and not (_residence(after) == "転出者").any()
    assert (_residence(after) == "転出").sum() == (_residence(before) == "転出者").sum()
    kept = before.loc[_residence(before) == "住民", "record_id"]
    assert set(kept) <= set(after["record_id"])  # unchanged rows keep their record_id
    assert _status_by_source(_file_mode_import(workbook))["jumin"] == {"unchanged"}


def test_a_mapping_row_change_re_reads_and_a_display_change_does_not(tmp_path):
    folder = tmp_path / "exports" / "住民記録"
    fx.write_csv(
        folder, "住民記録_20251130.csv", [["0001", "住民　一", "H20.4.1", "1", "みどり村1番地", "", "メモ"]]
    )
    assert only_file(run_import(tmp_path))["status"] == "stored"
    assert json.loads(current_records(context_for(tmp_path).store)["values_json"][0]) == {"備考": "メモ"}
    renamed = mapping_tables()
    renamed["sources"].loc[0, "名称"] = "住民基本台帳"  # a display name: nothing to read again
    assert only_file(run_import(tmp_path, renamed))["status"] == "unchanged"
    columns = [
        row if row[1] != "備考" else ["jumin", "備考", "特記事項", "文字", "", ""] for row in JUMIN_COLUMNS
    ]
    entry = only_file(run_import(tmp_path, mapping_tables(columns=columns)))
    assert (entry["status"], entry["stored"]) == ("stored", 1)
    assert json.loads(current_records(context_for(tmp_path).store)["values_json"][0]) == {"特記事項": "メモ"}
    assert only_file(run_import(tmp_path, mapping_tables(columns=columns)))["status"] == "unchanged"


def test_an_older_extract_in_the_folder_is_not_re_read_after_a_mapping_change(tmp_path):
    folder = tmp_path / "exports" / "住民記録"
    rows = [["0001", "住民　一", "H20.4.1", "1", "みどり村1番地", "", ""]]
    fx.write_csv(folder, "住民記録_20251031.csv", rows)
    fx.write_csv(folder, "住民記録_20251130.csv", rows)
    run_import(tmp_path)
    codes = [["sex", "1", "女", ""], ["sex", "2", "男", ""]]
    result = run_import(tmp_path, mapping_tables(codes=codes)).to_json()["sources"]
    assert [entry["status"] for entry in result] == ["unchanged", "stored"]
    assert current_records(context_for(tmp_path).store)["sex"].tolist() == ["女"]
