"""Nothing is skipped without a word: a mapped optional column missing from a file and a
file that matches no source are named in the summary, 取込エラー, 操作 and ログ."""

from __future__ import annotations

import csv
import io

import openpyxl

from macros_py.sheets import IMPORT_ERRORS, LOG

JUMIN = "住民記録/住民記録_20251130.csv"
STRAY = "不明/謎のファイル_20251130.csv"


def _drop_column(path, name: str) -> None:
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("cp932"), newline="")))
    position = rows[0].index(name)
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(row[:position] + row[position + 1 :] for row in rows)
    path.write_bytes(buffer.getvalue().encode("cp932"))


def _rows(workbook, spec) -> list[tuple]:
    sheet = openpyxl.load_workbook(workbook)[spec.name]
    headers = [cell.value for cell in sheet[spec.header_row]]
    rows = sheet.iter_rows(min_row=spec.header_row + 1, values_only=True)
    return [dict(zip(headers, row, strict=False)) for row in rows if any(v is not None for v in row)]


def test_a_missing_optional_column_and_an_unregistered_file_are_reported_in_file_mode(village_copy):
    from macros_py.book.build import build_workbook
    from macros_py.book.filemode import run_in_file_mode

    _drop_column(village_copy / "exports" / JUMIN, "国籍")
    stray = village_copy / "exports" / STRAY
    stray.parent.mkdir(parents=True)
    stray.write_bytes("宛名番号,氏名\r\n1,試験\r\n".encode("cp932"))
    (village_copy / "exports" / "住民記録" / "~$住民記録_20251130.csv").write_bytes(
        b"lock"
    )  # Excel's lock file
    (village_copy / "exports" / "Thumbs.db").write_bytes(b"explorer")  # Windows' own file
    workbook = build_workbook(village_copy / "mimamori.xlsm")

    result = run_in_file_mode("import", workbook, user_name="tester")

    payload = result.to_json()
    assert payload["unmatched_files"] == [STRAY]
    jumin = next(entry for entry in payload["sources"] if entry["file"] == JUMIN)
    assert jumin["status"] == "stored" and any("国籍" in w and JUMIN in w for w in jumin["warnings"])
    assert any("未登録のファイル" in m and STRAY in m for m in result.messages)
    assert any("国籍" in m and JUMIN in m for m in result.messages)
    errors = _rows(workbook, IMPORT_ERRORS)
    assert any(row["ファイル"] == JUMIN and row["列"] == "国籍" for row in errors)
    log = [row["内容"] for row in _rows(workbook, LOG)]
    assert any("未登録のファイル" in text and STRAY in text for text in log)
    assert any("国籍" in text and JUMIN in text for text in log)
