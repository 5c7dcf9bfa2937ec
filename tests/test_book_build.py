"""The built workbook: reproducible, buttons bound to existing Subs, tables, protection, text stays text."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from oletools.olevba import VBA_Parser

from macros_py.actions import ACTIONS
from macros_py.book.build import BuildOptions, build_workbook, sheet_order
from macros_py.book.harvest import harvest_workbook
from macros_py.book.vba_sources import vba_modules
from macros_py.config.defaults import default_tables
from macros_py.sheets import SETTINGS_SHEETS, SHEETS, USERS, XLWINGS_CONF_SHEET_NAME

FORMULA_TEXT = "=cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_workbook(tmp_path_factory.mktemp("built") / "mimamori.xlsm")


def _vba_macros(path: Path) -> dict[str, str]:
    parser = VBA_Parser(str(path))
    return {name: code for _f, _s, name, code in parser.extract_macros()}


def _button_macros(path: Path) -> list[tuple[str, str]]:
    with zipfile.ZipFile(path) as archive:
        vml = "".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".vml"))
    captions = re.findall(r"<font[^>]*>([^<]*)</font>", vml)
    macros = re.findall(r"<x:FmlaMacro>\[0\]!([^<]+)</x:FmlaMacro>", vml)
    return list(zip(captions, macros, strict=True))


def test_build_is_byte_identical_for_identical_inputs(tmp_path):
    first = build_workbook(tmp_path / "a.xlsm").read_bytes()
    second = build_workbook(tmp_path / "b.xlsm").read_bytes()
    assert first == second


def test_different_inputs_give_different_files(tmp_path):
    tables = default_tables()
    tables["users"] = pd.DataFrame([["u1", "山田", "管理者", "", "はい"]], columns=USERS.headers)
    assert (
        build_workbook(tmp_path / "a.xlsm").read_bytes()
        != build_workbook(tmp_path / "b.xlsm", tables).read_bytes()
    )


def test_oletools_extracts_exactly_the_generated_modules(built):
    expected = {
        m.name + (".cls" if m.document else ".bas"): m.source for m in vba_modules(len(sheet_order()) + 1)
    }
    extracted = _vba_macros(built)
    assert {k: v.replace("\r\n", "\n") for k, v in extracted.items()} == {
        k: v.replace("\r\n", "\n") for k, v in expected.items()
    }
    assert 'Attribute VB_Name = "xlwings"' in extracted["xlwings.bas"]


def test_buttons_module_has_one_sub_per_action_calling_runpython(built):
    source = _vba_macros(built)["Buttons.bas"]
    subs = re.findall(r"^Public Sub (\w+)\(\)\r\n    RunPython \"([^\"]+)\"\r\nEnd Sub", source, flags=re.M)
    assert subs == [(a.vba_sub_name, f"import macros_py.xl as x; x.run('{a.id}')") for a in ACTIONS]
    assert source.isascii() and "\n" not in source.replace("\r\n", "")


def test_every_button_names_an_existing_public_sub(built):
    public_subs = set()
    for code in _vba_macros(built).values():
        public_subs |= set(re.findall(r"^Public Sub (\w+)\(", code, flags=re.M))
    buttons = _button_macros(built)
    assert [caption for caption, _ in buttons] == [a.label for a in ACTIONS]
    assert [macro for _, macro in buttons] == [a.vba_sub_name for a in ACTIONS]
    assert all(macro in public_subs for _, macro in buttons)


def test_codenames_match_document_modules(built):
    with zipfile.ZipFile(built) as archive:
        workbook_xml = archive.read("xl/workbook.xml").decode()
        sheet_xml = [
            archive.read(n).decode()
            for n in sorted(archive.namelist())
            if n.startswith("xl/worksheets/sheet")
        ]
    assert 'codeName="ThisWorkbook"' in workbook_xml
    codenames = {m for xml in sheet_xml for m in re.findall(r'codeName="(\w+)"', xml)}
    assert codenames == {f"Sheet{i}" for i in range(1, len(sheet_xml) + 1)}
    documents = {m.name for m in vba_modules(len(sheet_xml)) if m.document}
    assert documents == codenames | {"ThisWorkbook"}


def test_tabs_tables_and_defaults(built):
    book = openpyxl.load_workbook(built)
    assert book.sheetnames == [name for name, _ in sheet_order()] + [XLWINGS_CONF_SHEET_NAME]
    for sheet in SHEETS:
        table = book[sheet.name].tables[sheet.table_name]
        assert table.ref.startswith(f"A{sheet.header_row}:")
        assert [c.name for c in table.tableColumns] == sheet.headers
    harvested = harvest_workbook(built)
    for sheet in SETTINGS_SHEETS:
        pd.testing.assert_frame_equal(harvested[sheet.key], default_tables()[sheet.key].astype(str))
    assert list(harvested["status"]["操作"]) == [a.label for a in ACTIONS]


def test_xlwings_conf_sheet_has_keys_from_a1_without_gaps(built):
    sheet = openpyxl.load_workbook(built)[XLWINGS_CONF_SHEET_NAME]
    keys = [sheet.cell(row, 1).value for row in range(1, 6)]
    assert keys == [
        "INTERPRETER_WIN",
        "PYTHONPATH",
        "ADD_WORKBOOK_TO_PYTHONPATH",
        "SHOW CONSOLE",
        "USE UDF SERVER",
    ]
    assert sheet.cell(6, 1).value is None
    assert sheet["B5"].value is False and sheet["B1"].value.endswith("pythonw.exe")


def test_protection_unlocks_only_editable_columns_and_offers_dropdowns(built):
    book = openpyxl.load_workbook(built)
    for sheet in SHEETS:
        worksheet = book[sheet.name]
        assert worksheet.protection.sheet
        table = worksheet.tables[sheet.table_name]
        last_row = int(re.search(r"(\d+)$", table.ref).group(1))
        assert last_row > sheet.header_row
        for index, column in enumerate(sheet.columns, start=1):
            for row in (sheet.header_row + 1, last_row):
                assert worksheet.cell(row, index).protection.locked is not column.editable, (
                    sheet.name,
                    column,
                )
            assert worksheet.cell(sheet.header_row, index).protection.locked
        lists = {
            next(iter(dv.sqref.ranges)).min_col: dv.formula1
            for dv in worksheet.data_validations.dataValidation
        }
        for index, column in enumerate(sheet.columns, start=1):
            if column.choices and column.editable:
                assert lists[index] == '"' + ",".join(column.choices) + '"'


def test_settings_tables_keep_spare_rows_for_new_entries(built):
    book = openpyxl.load_workbook(built)
    users = book[USERS.name]
    ref = users.tables[USERS.table_name].ref
    assert int(re.search(r"(\d+)$", ref).group(1)) - USERS.header_row >= 20


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    tables = default_tables()
    tables["users"] = pd.DataFrame([["u1", FORMULA_TEXT, "管理者", "@SUM(1)", "はい"]], columns=USERS.headers)
    path = build_workbook(tmp_path / "t.xlsm", tables)
    cell = openpyxl.load_workbook(path)[USERS.name].cell(USERS.header_row + 1, 2)
    assert cell.data_type == "s" and cell.value == FORMULA_TEXT
    with zipfile.ZipFile(path) as archive:
        assert all(
            "<f>" not in archive.read(n).decode()
            for n in archive.namelist()
            if n.startswith("xl/worksheets/")
        )
    assert harvest_workbook(path)["users"].iloc[0]["氏名"] == FORMULA_TEXT


def test_stub_build_replaces_xlwings_bas(tmp_path):
    path = build_workbook(tmp_path / "stub.xlsm", options=BuildOptions(runpython_stub=True))
    xlwings_source = _vba_macros(path)["xlwings.bas"]
    assert "Public Function RunPython(PythonCommand As String)" in xlwings_source
    assert len(xlwings_source) < 1000


def test_output_tables_are_written_back(tmp_path):
    log = pd.DataFrame(
        [["2025-04-01 09:00:00", "u1", "取込", "警告", "行 12 を取り込めません"]], columns=SHEETS[-1].headers
    )
    path = build_workbook(tmp_path / "o.xlsm", {"log": log})
    pd.testing.assert_frame_equal(harvest_workbook(path)["log"], log)


def test_refuses_non_xlsm_output(tmp_path):
    with pytest.raises(ValueError):
        build_workbook(tmp_path / "x.xlsx")
