"""Staff read and print every tab: source names, sensible 鮮度, no <NA>, only warnings in 警告,
A4 landscape print setup, buttons as wide as their captions, a hidden xlwings.conf."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from macros_py.actions import ACTIONS, ActionResult
from macros_py.book.build import build_workbook, caption_width
from macros_py.book.filemode import run_in_file_mode
from macros_py.book.harvest import harvest_workbook
from macros_py.book.status import update_status, warnings_of
from macros_py.config.defaults import default_tables
from macros_py.sheets import (
    FRESHNESS,
    IMPORT_ERRORS,
    LOG,
    QUALITY_REPORT,
    SHEETS,
    STATUS,
    XLWINGS_CONF_SHEET_NAME,
)

MISSING_TEXTS = {"<NA>", "nan", "NaN", "NaT", "None"}
FORMULAS = ("=1+1", "@SUM(A1)")
EARLY_REFERENCE_DATE = "2025-06-01"  # before the village's extract dates


def _cells(path: Path) -> dict[str, list[list[object]]]:
    book = openpyxl.load_workbook(path)
    return {
        sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets
    }


def _table(path: Path, spec) -> pd.DataFrame:
    """The spec's table as written (every column, hidden ones too), from openpyxl."""
    sheet = openpyxl.load_workbook(path)[spec.name]
    rows = list(sheet.iter_rows(min_row=spec.header_row, max_col=len(spec.columns), values_only=True))
    frame = pd.DataFrame(rows[1:], columns=rows[0], dtype=object)
    return frame.dropna(how="all")


def _hidden_columns(path: Path, sheet_name: str) -> dict[str, bool]:
    sheet = openpyxl.load_workbook(path)[sheet_name]
    return {letter: bool(dimension.hidden) for letter, dimension in sheet.column_dimensions.items()}


@pytest.fixture(scope="module")
def imported(synthetic_village, tmp_path_factory) -> tuple[Path, ActionResult]:
    """The village imported in file mode, with a 基準日 before the extracts, quarantined
    formula-looking rows and a file that matches no source."""
    folder = tmp_path_factory.mktemp("readable") / "village"
    shutil.copytree(synthetic_village, folder)
    csv_path = folder / "exports" / "住民記録" / "住民記録_20251130.csv"
    lines = csv_path.read_bytes().rstrip(b"\r\n").split(b"\r\n")
    width = lines[0].decode("cp932").count(",") + 1
    for number, formula in enumerate(FORMULAS):
        cells = [f"99000{number}", "", "試験　太郎", "", f'"{formula}"', "1", *[""] * (width - 6)]
        lines.append(",".join(cells).encode("cp932"))
    csv_path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    (folder / "exports" / "どこにも合わない.csv").write_bytes("a,b\r\n1,2\r\n".encode("cp932"))
    tables = default_tables()
    settings = tables["settings"].copy()
    settings.loc[settings["項目"] == "基準日", "値"] = EARLY_REFERENCE_DATE
    tables["settings"] = settings
    workbook = build_workbook(folder / "mimamori.xlsm", tables)
    result = run_in_file_mode("import", workbook, user_name="tester")
    assert not result.summary.get("refused"), result.messages
    return workbook, result


def test_staff_tabs_show_source_names_and_keep_the_ids_hidden(imported):
    workbook, _result = imported
    names = dict(
        zip(default_tables()["sources"]["ソースID"], default_tables()["sources"]["名称"], strict=True)
    )
    errors = _table(workbook, IMPORT_ERRORS)
    quarantined = errors[errors["値"].isin(FORMULAS)]
    assert len(quarantined) == len(FORMULAS)
    assert set(quarantined["ソース名"]) == {names["jumin"]}
    assert (errors["ソース名"].fillna("") != "").all()
    quality = _table(workbook, QUALITY_REPORT)
    assert set(quality["名称"]) <= set(names.values()) and names["jumin"] in set(quality["名称"])
    freshness = _table(workbook, FRESHNESS)
    assert list(freshness["名称"]) == list(quality["名称"])
    for spec in (IMPORT_ERRORS, QUALITY_REPORT, FRESHNESS):
        letter = openpyxl.utils.get_column_letter(spec.headers.index("ソースID") + 1)
        shown = [column.header for column in spec.columns if not column.hidden]
        assert "ソースID" not in shown and _hidden_columns(workbook, spec.name).get(letter), spec.name
    # Nothing on the 操作 tab's status area is hidden by the freshness table's ID column.
    status_letters = [openpyxl.utils.get_column_letter(i + 1) for i in range(len(STATUS.columns))]
    assert not any(_hidden_columns(workbook, STATUS.name).get(letter) for letter in status_letters)


def test_freshness_never_shows_negative_days(imported):
    workbook, _result = imported
    labels = list(_table(workbook, FRESHNESS)["鮮度"].fillna(""))
    assert labels and not [label for label in labels if re.search(r"-\d|−\d", label)]
    assert any(label == "最新(抽出日が基準日より後)" for label in labels), labels
    notes = " ".join(_table(workbook, QUALITY_REPORT)["注意"].fillna(""))
    assert "基準日より" in notes and "日後です" in notes and not re.search(r"-\d+ 日前", notes)


def test_no_cell_anywhere_shows_a_missing_value_marker(imported):
    workbook, _result = imported
    found = [
        (sheet, row_number, value)
        for sheet, rows in _cells(workbook).items()
        for row_number, row in enumerate(rows, start=1)
        for value in row
        if isinstance(value, str) and value.strip() in MISSING_TEXTS
    ]
    assert found == []


def test_the_warning_column_holds_warnings_not_the_count_line(imported):
    workbook, result = imported
    status = harvest_workbook(workbook)[STATUS.key].set_index("操作")
    label = next(action.label for action in ACTIONS if action.id == "import")
    warning = status.loc[label, "警告"]
    assert "未登録のファイル" in warning and "どこにも合わない.csv" in warning
    assert result.counts and result.counts not in warning and "取込が完了しました" not in warning
    assert status.loc[label, "件数"] == result.counts


def test_a_clean_check_leaves_the_warning_column_empty(tmp_path):
    workbook = build_workbook(tmp_path / "m.xlsm")
    result = run_in_file_mode("check_settings", workbook, user_name="tester")
    assert result.ok and result.messages == ["設定に問題はありません。"]
    status = harvest_workbook(workbook)[STATUS.key].set_index("操作")
    label = next(action.label for action in ACTIONS if action.id == "check_settings")
    assert status.loc[label, "結果"] == "成功" and status.loc[label, "警告"] == ""


def _log(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame([["", "", "", kind, text] for kind, text in rows], columns=LOG.headers)


def test_warnings_come_from_the_result_or_from_what_the_log_marks_as_warning():
    counted = ActionResult("link", True, messages=["自動 3 件"], counts="自動 3 件", tables={"log": _log()})
    assert warnings_of(counted) == []
    logged = ActionResult(
        "import",
        True,
        messages=["a.csv: 取込エラー 2 行", "取込が完了しました。"],
        tables={"log": _log(("警告", "a.csv: 取込エラー 2 行"), ("情報", "取込が完了しました。"))},
    )
    assert warnings_of(logged) == ["a.csv: 取込エラー 2 行"]
    failed = ActionResult("import", False, messages=["データベースを開けません。"])
    assert warnings_of(failed) == ["データベースを開けません。"]
    explicit = ActionResult("import", True, messages=["完了", "注意"], warnings=["注意"])
    assert warnings_of(explicit) == ["注意"]
    table = update_status(None, logged, pd.Timestamp("2025-04-01 09:00").to_pydatetime(), "tester")
    assert table.set_index("操作").loc["取込", "警告"] == "a.csv: 取込エラー 2 行"


def test_missing_values_of_every_pandas_kind_are_written_blank(tmp_path):
    errors = pd.DataFrame(
        {
            "ソースID": pd.array(["jumin", pd.NA], dtype="string"),
            "ファイル": pd.array([pd.NA, "b.csv"], dtype="string[pyarrow]"),
            "行": pd.array([pd.NA, 3], dtype="Int64"),
            "列": [None, float("nan")],
            "値": [pd.NaT, pd.NA],
            "理由": ["x", "y"],
        }
    )
    quality = pd.DataFrame({"ソースID": ["jumin"], "件数": pd.array([pd.NA], dtype="Int64")})
    quality["完全性"] = pd.array([pd.NA], dtype="Float64")
    workbook = build_workbook(tmp_path / "m.xlsm", {"import_errors": errors, "quality_report": quality})
    written = _cells(workbook)
    texts = [value for rows in written.values() for row in rows for value in row if isinstance(value, str)]
    assert not [text for text in texts if text.strip() in MISSING_TEXTS]
    table = _table(workbook, IMPORT_ERRORS)
    assert list(table["ソース名"]) == ["住民記録", None]  # named from 取込設定; no ID, no name


def test_every_tab_prints_on_a4_landscape_one_page_wide_with_its_header_repeated(tmp_path):
    workbook = build_workbook(tmp_path / "m.xlsm")
    book = openpyxl.load_workbook(workbook)
    header_rows = {}
    for spec in SHEETS:
        header_rows.setdefault(spec.name, spec.header_row)
    header_rows[XLWINGS_CONF_SHEET_NAME] = 1
    assert set(book.sheetnames) == set(header_rows)
    for sheet in book.worksheets:
        setup = sheet.page_setup
        assert (setup.orientation, str(setup.paperSize)) == ("landscape", "9"), sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert (setup.fitToWidth in (None, 1), setup.fitToHeight) == (True, 0), sheet.title
        row = header_rows[sheet.title]
        assert sheet.print_title_rows == f"${row}:${row}", sheet.title


def _buttons(path: Path) -> list[tuple[str, float]]:
    """(caption, width in points) of each form button, from the VML drawing."""
    with zipfile.ZipFile(path) as archive:
        vml = "".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".vml"))
    shapes = re.findall(r"<v:shape .*?</v:shape>", vml, re.DOTALL)
    return [
        (
            re.search(r"<font[^>]*>([^<]*)</font>", shape).group(1),
            float(re.search(r"width:([\d.]+)pt", shape).group(1)),
        )
        for shape in shapes
    ]


def test_buttons_are_sized_for_their_captions(tmp_path):
    workbook = build_workbook(tmp_path / "m.xlsm")
    buttons = _buttons(workbook)
    assert {caption for caption, _ in buttons} == {action.label for action in ACTIONS}
    for caption, points in buttons:
        # 11 pt text: a full-width character is 11 pt wide; leave room for the frame.
        assert points >= caption_width(caption) * 11 + 12, (caption, points)
    widths = {caption: points for caption, points in buttons}
    longest = max(buttons, key=lambda button: caption_width(button[0]))[0]
    shortest = min(buttons, key=lambda button: caption_width(button[0]))[0]
    assert widths[longest] > widths[shortest]
    # The column holding the buttons is wider than the widest button.
    sheet = openpyxl.load_workbook(workbook)[STATUS.name]
    assert sheet.column_dimensions["G"].width * 7 * 0.75 >= max(widths.values())


def test_xlwings_conf_is_hidden_protected_and_still_read(tmp_path):
    workbook = build_workbook(tmp_path / "m.xlsm")
    sheet = openpyxl.load_workbook(workbook)[XLWINGS_CONF_SHEET_NAME]
    assert sheet.sheet_state == "hidden" and sheet.protection.sheet
    keys = [row[0] for row in sheet.iter_rows(min_col=1, max_col=1, values_only=True)]
    assert keys[0] == "INTERPRETER_WIN" and None not in keys  # xlwings reads A1 down, no gaps
    conf = harvest_workbook(workbook)["xlwings_conf"]
    assert "INTERPRETER_WIN" in set(conf["キー"])
    assert openpyxl.load_workbook(workbook).active.title == STATUS.name
