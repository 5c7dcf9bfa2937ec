"""Synthetic municipality: determinism, encodings, truth consistency, sizes, mappings."""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from macros_py.synth import generate_municipality
from macros_py.synth.mappings import mapping_tables
from macros_py.synth.profiles import PROFILES
from macros_py.synth.schools import school_grade

REPO = Path(__file__).resolve().parents[1]
SOURCES = pd.read_csv(REPO / "mappings" / "sources.csv", dtype=str, keep_default_na=False)
COLUMNS = pd.read_csv(REPO / "mappings" / "columns.csv", dtype=str, keep_default_na=False)
# Columns deliberately left unmapped by the default mapping rows: none. Every header of
# every export is mapped (value fields keep their own Japanese names).
UNMAPPED_COLUMNS: dict[str, set[str]] = {}


def _digest_tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _export_files(root: Path) -> list[Path]:
    return sorted(path for path in (root / "exports").rglob("*") if path.is_file())


def _source_for(relative: str) -> pd.Series:
    matches = SOURCES[[fnmatch.fnmatchcase(relative, pattern) for pattern in SOURCES["ファイルパターン"]]]
    assert len(matches) == 1, f"{relative} matched {len(matches)} sources"
    return matches.iloc[0]


def _read_export(path: Path, source: pd.Series) -> tuple[list[str], list[list[str]]]:
    header_row = int(source["見出し行"])
    if source["形式"] == "xlsx":
        workbook = openpyxl.load_workbook(path, read_only=True)
        sheet = workbook[source["シート名"]] if source["シート名"] else workbook.worksheets[0]
        rows = [
            ["" if value is None else str(value) for value in row]
            for row in sheet.iter_rows(values_only=True)
        ]
        workbook.close()
    else:
        encoding = "cp932" if source["文字コード"] == "cp932" else "utf-8-sig"
        text = path.read_bytes().decode(encoding)
        rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[header_row - 1], rows[header_row:]


def test_same_seed_gives_identical_bytes_and_other_seed_differs(synthetic_village, tmp_path):
    again = tmp_path / "again"
    generate_municipality("village", seed=7, out_dir=again)
    assert _digest_tree(synthetic_village) == _digest_tree(again)
    other = tmp_path / "other"
    generate_municipality("village", seed=8, out_dir=other)
    first = _digest_tree(synthetic_village)
    second = _digest_tree(other)
    assert first.keys() == second.keys()
    assert first["exports/住民記録/住民記録_20251130.csv"] != second["exports/住民記録/住民記録_20251130.csv"]


def test_every_file_decodes_with_its_declared_encoding(synthetic_village):
    for path in _export_files(synthetic_village):
        relative = path.relative_to(synthetic_village / "exports").as_posix()
        source = _source_for(relative)
        data = path.read_bytes()
        if source["文字コード"] == "cp932":
            data.decode("cp932")
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
        elif source["文字コード"] == "utf-8-sig":
            assert data.startswith(b"\xef\xbb\xbf"), relative
            data.decode("utf-8-sig")
        else:
            assert source["形式"] == "xlsx" and data[:2] == b"PK", relative


def test_formats_are_mixed(synthetic_village):
    encodings = set(SOURCES["文字コード"])
    assert {"cp932", "utf-8-sig"} <= encodings
    assert (SOURCES["形式"] == "xlsx").any()
    assert (SOURCES.loc[SOURCES["形式"] == "xlsx", "見出し行"].astype(int) > 1).any()


def test_every_file_matches_one_source_and_every_header_is_mapped(synthetic_village):
    for path in _export_files(synthetic_village):
        relative = path.relative_to(synthetic_village / "exports").as_posix()
        source = _source_for(relative)
        header, _rows = _read_export(path, source)
        mapped = set(COLUMNS.loc[COLUMNS["ソースID"] == source["ソースID"], "元の列名"])
        unmapped = UNMAPPED_COLUMNS.get(source["ソースID"], set())
        for column in header:
            assert column in mapped or column in unmapped, f"{relative}: {column} is not in columns.csv"
        required = COLUMNS[(COLUMNS["ソースID"] == source["ソースID"]) & (COLUMNS["必須"] == "はい")]
        assert set(required["元の列名"]) <= set(header)


def test_mapping_csvs_match_the_export_declarations():
    tables = mapping_tables()
    for name in ("sources", "columns", "codes"):
        on_disk = pd.read_csv(REPO / "mappings" / f"{name}.csv", dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(on_disk, tables[name])


def test_every_data_row_has_exactly_one_truth_row(synthetic_village):
    records = pd.read_csv(synthetic_village / "truth" / "records.csv", dtype=str, keep_default_na=False)
    persons = pd.read_csv(synthetic_village / "truth" / "persons.csv", dtype=str, keep_default_na=False)
    assert not records.duplicated(["file", "row"]).any()
    assert records["person_id"].isin(persons["person_id"]).all()
    for path in _export_files(synthetic_village):
        relative = path.relative_to(synthetic_village / "exports").as_posix()
        source = _source_for(relative)
        _header, rows = _read_export(path, source)
        rows = [row for row in rows if any(cell != "" for cell in row)]
        truth_rows = records.loc[records["file"] == relative, "row"].astype(int)
        header_row = int(source["見出し行"])
        assert sorted(truth_rows) == list(range(header_row + 1, header_row + 1 + len(rows))), relative
        assert (records.loc[records["file"] == relative, "source_id"] == source["ソースID"]).all()


def test_registry_rows_point_to_their_resident(synthetic_village):
    records = pd.read_csv(synthetic_village / "truth" / "records.csv", dtype=str, keep_default_na=False)
    persons = pd.read_csv(
        synthetic_village / "truth" / "persons.csv", dtype=str, keep_default_na=False
    ).set_index("person_id")
    jumin = pd.read_csv(
        synthetic_village / "exports" / "住民記録" / "住民記録_20251130.csv",
        dtype=str,
        encoding="cp932",
        keep_default_na=False,
    )
    truth = records[records["source_id"] == "jumin"].sort_values("row", key=lambda values: values.astype(int))
    assert (persons.loc[truth["person_id"], "resident_id"].to_numpy() == jumin["宛名番号"].to_numpy()).all()
    assert (persons.loc[truth["person_id"], "household_id"].to_numpy() == jumin["世帯番号"].to_numpy()).all()


def test_households_are_coherent(synthetic_village):
    persons = pd.read_csv(synthetic_village / "truth" / "persons.csv", dtype=str, keep_default_na=False)
    households = pd.read_csv(synthetic_village / "truth" / "households.csv", dtype=str, keep_default_na=False)
    assert persons["household_id"].isin(households["household_id"]).all()
    assert households["household_id"].is_unique
    sizes = persons.groupby("household_id").size()
    assert (
        households.set_index("household_id")["size"].astype(int)
        == sizes.reindex(households["household_id"]).to_numpy()
    ).all()
    registered = persons[persons["status"] != "unregistered"]
    heads = registered[registered["relationship"] == "世帯主"].groupby("household_id").size()
    assert (heads == 1).all() and len(heads) == registered["household_id"].nunique()
    assert persons.groupby("household_id")["address"].nunique().max() == 1
    kinds = set(households["kind"])
    assert {"family", "single_mother", "three_generation", "grandparents_separate"} <= kinds
    separate = households[households["kind"] == "grandparents_separate"].set_index("household_id")
    linked = households.set_index("household_id").loc[separate["linked_household_id"]]
    assert (linked["address"].to_numpy() == separate["address"].to_numpy()).all()
    assert (persons["status"] == "unregistered").any() or len(persons) < 7000
    assert (persons.loc[persons["status"] == "unregistered", "resident_id"] == "").all()
    assert persons.loc[persons["status"] != "unregistered", "resident_id"].is_unique


def test_school_grade_follows_the_april_second_cut_off(synthetic_village):
    persons = pd.read_csv(synthetic_village / "truth" / "persons.csv", dtype=str, keep_default_na=False)
    pupils = persons[persons["school"] != ""]
    expected = school_grade(pd.to_datetime(pupils["birth_date"]), 2025)
    assert (pupils["school_grade"].astype(int).to_numpy() == expected).all()
    assert set(pupils["school_grade"].astype(int)) == set(range(1, 10))
    assert school_grade(pd.Series(pd.to_datetime(["2012-04-01", "2012-04-02"])), 2025).tolist() == [8, 7]


def test_school_files_carry_no_resident_number(synthetic_village):
    for source_id in ("attendance", "school_health", "mental_check", "academic_test", "fitness_test", "ssw"):
        assert SOURCES.set_index("ソースID").loc[source_id, "キー種別"] == "なし"
        headers = COLUMNS.loc[COLUMNS["ソースID"] == source_id, "項目"]
        assert "宛名番号" not in set(headers)
    attendance_files = list((synthetic_village / "exports" / "校務支援" / "出欠").glob("出欠_*.csv"))
    persons = pd.read_csv(synthetic_village / "truth" / "persons.csv", dtype=str, keep_default_na=False)
    assert len(attendance_files) == persons.loc[persons["school"] != "", "school"].nunique()


def test_children_truth_is_a_biased_imperfect_picture(synthetic_village):
    children = pd.read_csv(synthetic_village / "truth" / "children.csv")
    assert 0.08 < children["in_hardship"].mean() < 0.35
    hardship = children[children["in_hardship"] == 1]
    assert 0.1 < hardship["known_to_services"].mean() < 0.7
    assert (hardship["known_to_services"] == 0).sum() > 0
    assert children.loc[children["on_yotaikyo"] == 1, "known_to_services"].all()


def test_absence_relates_to_non_attendance_without_being_a_label(tmp_path):
    generate_municipality("town", seed=3, out_dir=tmp_path)
    records = pd.read_csv(tmp_path / "truth" / "records.csv", dtype=str, keep_default_na=False)
    children = pd.read_csv(tmp_path / "truth" / "children.csv", dtype=str).set_index("person_id")
    parts = []
    for path in sorted((tmp_path / "exports" / "校務支援" / "出欠").glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, encoding="cp932", keep_default_na=False)
        relative = path.relative_to(tmp_path / "exports").as_posix()
        truth = records[records["file"] == relative].sort_values("row", key=lambda values: values.astype(int))
        frame["person_id"] = truth["person_id"].to_numpy()
        parts.append(frame)
    attendance = pd.concat(parts)
    absent = attendance["欠席日数"].astype(int) >= 30
    flag = children.loc[attendance["person_id"], "non_attendance"].astype(int).to_numpy() == 1
    assert absent[flag].mean() > 0.5
    assert absent[~flag].mean() < 0.03
    assert (absent & ~flag).sum() > 0 and (~absent & flag).sum() > 0
    meta = json.loads((tmp_path / "truth" / "meta.json").read_text(encoding="utf-8"))
    _assert_size(meta, PROFILES["town"])


def _assert_size(meta: dict, profile) -> None:
    counts = meta["counts"]
    assert abs(counts["residents"] - profile.target_residents) / profile.target_residents < 0.06
    assert abs(counts["residents_aged_0_19"] - profile.target_children) / profile.target_children < 0.08


def test_village_size_and_meta(synthetic_village):
    meta = json.loads((synthetic_village / "truth" / "meta.json").read_text(encoding="utf-8"))
    assert meta["profile"] == "village" and meta["seed"] == 7 and meta["reference_date"] == "2025-11-30"
    _assert_size(meta, PROFILES["village"])


def test_people_show_the_expected_variety(synthetic_village):
    persons = pd.read_csv(synthetic_village / "truth" / "persons.csv", dtype=str, keep_default_na=False)
    assert (persons["is_foreign"] == "1").any()
    assert persons["name"].str.contains("[髙﨑邊邉齋齊濱澤廣櫻𠮷嶋]").any()
    assert (persons["event"] == "出生").any() and (persons["event"] == "転入").any()
    assert (persons["status"] == "moved_out").any()
    assert (persons["former_surname"] != "").any()
    surnames = persons["name"].str.split("\u3000").str[0]
    assert surnames.value_counts().index[0] in {"佐藤", "鈴木", "高橋", "田中", "伊藤"}


def test_messy_notations_appear(synthetic_village):
    exports = synthetic_village / "exports"
    attendance = "".join(
        path.read_bytes().decode("cp932") for path in (exports / "校務支援" / "出欠").glob("*.csv")
    )
    assert "平成" in attendance
    assert "〓" in attendance or any(0xE000 <= ord(character) <= 0xF8FF for character in attendance)
    gakureibo = (exports / "教育委員会" / "学齢簿_20251101.csv").read_bytes().decode("cp932")
    assert any(marker in gakureibo for marker in ("R", "H"))
    assert any(character in gakureibo for character in "一二三四五六七八九")
    np.testing.assert_(len(list(exports.rglob("*.xlsx"))) >= 5)
