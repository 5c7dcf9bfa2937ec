"""``mimamori link`` on its own: options, files without レコードID, and bad input refused in Japanese.

Every test runs the real command (``python -m macros_py.cli link``) as a subprocess on
real files, cp932 unless the test is about another encoding.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_link_known_answers import _copies, make_master

_COLUMNS = {
    "resident_id": "宛名番号",
    "name": "氏名",
    "name_kana": "氏名カナ",
    "birth_date": "生年月日",
    "sex": "性別",
    "address": "住所",
}


def _cli(folder: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "macros_py.cli", "link", *arguments],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _refused(completed: subprocess.CompletedProcess, *words: str) -> str:
    """The Japanese message of a refused run (non-zero exit, no traceback, no English error)."""
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, output
    assert "Traceback" not in output and "Error" not in output, output
    assert "名寄せできませんでした" in completed.stderr, output
    for word in words:
        assert word in completed.stderr, (word, output)
    return completed.stderr


@pytest.fixture(scope="module")
def master() -> pd.DataFrame:
    return make_master()


@pytest.fixture(scope="module")
def files(tmp_path_factory, master) -> Path:
    """住民.csv (cp932) and 照合.csv (cp932, no レコードID column, 300 copies of residents)."""
    folder = tmp_path_factory.mktemp("link_cli")
    master.rename(columns=_COLUMNS).to_csv(folder / "住民.csv", index=False, encoding="cp932")
    copies = _copies(master, 300)
    copies.drop(columns=["resident_id", "truth"]).rename(columns=_COLUMNS).to_csv(
        folder / "照合.csv", index=False, encoding="cp932"
    )
    copies[["truth"]].to_csv(folder / "truth.csv", index=False)
    return folder


def _result(folder: Path, name: str = "結果.csv") -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_a_source_without_record_ids_gets_row_numbers(files):
    completed = _cli(files, "住民.csv", "照合.csv", "--out", "out/結果.csv")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "300件を照合しました" in completed.stdout and "Traceback" not in completed.stderr
    out = _result(files, "out/結果.csv")
    assert list(out.columns) == ["レコードID", "宛名番号", "判定", "一致スコア"]
    # The id is the row Excel shows: the header is row 1, the first record row 2.
    assert out["レコードID"].tolist() == [str(row) for row in range(2, 302)]
    truth = pd.read_csv(files / "truth.csv", dtype=str)["truth"]
    auto = out["判定"] == "自動"
    assert auto.mean() >= 0.95
    assert (out.loc[auto, "宛名番号"] == truth[auto]).all()


def test_thresholds_default_to_the_settings_and_can_be_given(files):
    settings = pd.read_csv(Path(__file__).resolve().parent.parent / "mappings" / "settings.csv", dtype=str)
    value = dict(zip(settings["項目"], settings["値"], strict=True))
    default = _cli(files, "住民.csv", "照合.csv", "--out", "既定.csv", "--json")
    assert default.returncode == 0, default.stderr
    summary = json.loads(default.stdout)
    assert summary["thresholds"] == {
        "自動": float(value["名寄せ自動しきい値"]),
        "確認": float(value["名寄せ確認しきい値"]),
    }
    strict = _cli(
        files,
        "住民.csv",
        "照合.csv",
        "--out",
        "厳しい.csv",
        "--auto-threshold",
        "1",
        "--review-threshold",
        "0.999",
    )
    assert strict.returncode == 0, strict.stderr
    before, after = _result(files, "既定.csv"), _result(files, "厳しい.csv")
    # Only pairs whose probability reaches 1.0 stay automatic; the others are no longer 自動.
    assert (after.loc[after["判定"] == "自動", "一致スコア"].astype(float) >= 0.99995).all()
    assert (after["判定"] == "自動").sum() < (before["判定"] == "自動").sum()


def test_help_explains_the_columns_in_japanese(files):
    completed = _cli(files, "--help")
    assert completed.returncode == 0
    for word in ("宛名番号", "レコードID", "行番号", "氏名カナ", "生年月日", "--auto-threshold", "既定 0.95"):
        assert word in completed.stdout, word


def test_wrong_thresholds_are_refused(files):
    _refused(
        _cli(
            files,
            "住民.csv",
            "照合.csv",
            "--out",
            "x.csv",
            "--review-threshold",
            "0.99",
            "--auto-threshold",
            "0.9",
        ),
        "確認しきい値",
        "以下にしてください",
    )
    _refused(_cli(files, "住民.csv", "照合.csv", "--out", "x.csv", "--auto-threshold", "2"), "0から1")
    not_a_number = _cli(files, "住民.csv", "照合.csv", "--out", "x.csv", "--auto-threshold", "高い")
    assert not_a_number.returncode == 2 and "--auto-threshold の値 '高い' は使えません" in not_a_number.stderr


def test_a_missing_file_is_named(files):
    _refused(_cli(files, "住民.csv", "ない.csv", "--out", "x.csv"), "ない.csv", "ありません")
    _refused(_cli(files, "住民がない.csv", "照合.csv", "--out", "x.csv"), "住民がない.csv")
    assert not (files / "x.csv").exists()


def test_an_unreadable_encoding_is_refused_with_the_line(files):
    lines = "氏名,生年月日\n平野 紬,2014-05-06\n".encode("cp932") + b"\x82\xff\xfe,2010-01-01\n"
    (files / "文字化け.csv").write_bytes(lines)
    _refused(_cli(files, "住民.csv", "文字化け.csv", "--out", "x.csv"), "文字化け.csv", "3行目", "Shift_JIS")


def test_utf8_and_excel_unicode_text_are_read(files, master):
    rows = master.iloc[100:130].rename(columns=_COLUMNS).drop(columns="宛名番号")
    rows.to_csv(files / "utf8.csv", index=False, encoding="utf-8-sig")
    rows.to_csv(files / "unicode.txt", index=False, sep="\t", encoding="utf-16")
    for name in ("utf8.csv", "unicode.txt"):
        completed = _cli(files, "住民.csv", name, "--out", f"{name}.out.csv")
        assert completed.returncode == 0, completed.stderr
        out = _result(files, f"{name}.out.csv")
        assert len(out) == 30 and (out["判定"] == "自動").mean() >= 0.9, name


def test_a_missing_required_column_is_named(files, master):
    master.drop(columns="resident_id").rename(columns=_COLUMNS).to_csv(
        files / "番号なし.csv", index=False, encoding="cp932"
    )
    _refused(
        _cli(files, "番号なし.csv", "照合.csv", "--out", "x.csv"),
        "番号なし.csv",
        "「宛名番号」列がありません",
    )
    pd.DataFrame({"番号": ["1"], "メモ": ["x"]}).to_csv(files / "列なし.csv", index=False, encoding="cp932")
    _refused(
        _cli(files, "住民.csv", "列なし.csv", "--out", "x.csv"), "列なし.csv", "照合に使う列", "番号・メモ"
    )


def test_blank_or_repeated_ids_are_refused_with_rows(files, master):
    source = master.iloc[:4].rename(columns=_COLUMNS).drop(columns="宛名番号")
    source.insert(0, "レコードID", ["A", "B", "A", "C"])
    source.to_csv(files / "重複.csv", index=False, encoding="cp932")
    _refused(
        _cli(files, "住民.csv", "重複.csv", "--out", "x.csv"), "重複.csv", "レコードID", "行 2・4", "「A」"
    )
    broken = master.rename(columns=_COLUMNS)
    broken.loc[5, "宛名番号"] = ""
    broken.to_csv(files / "空番号.csv", index=False, encoding="cp932")
    _refused(_cli(files, "空番号.csv", "照合.csv", "--out", "x.csv"), "空番号.csv", "宛名番号", "行 7")


def test_unreadable_dates_name_file_rows_and_column(files, master):
    source = master.iloc[200:240].rename(columns=_COLUMNS).drop(columns="宛名番号").reset_index(drop=True)
    few = source.copy()
    few.loc[3, "生年月日"] = "令和99年13月1日"
    few.loc[7, "生年月日"] = "不明"  # says unknown: neither refused nor warned
    few.to_csv(files / "少し.csv", index=False, encoding="cp932")
    completed = _cli(files, "住民.csv", "少し.csv", "--out", "少し結果.csv")
    assert completed.returncode == 0, completed.stderr
    assert "注意" in completed.stderr and "少し.csv" in completed.stderr and "生年月日" in completed.stderr
    assert "行 5)" in completed.stderr and "行 9" not in completed.stderr
    assert len(_result(files, "少し結果.csv")) == 40
    many = source.copy()
    many["生年月日"] = "06/05/14"  # a notation nobody can read unambiguously
    many.to_csv(files / "読めない.csv", index=False, encoding="cp932")
    _refused(
        _cli(files, "住民.csv", "読めない.csv", "--out", "x.csv"),
        "読めない.csv",
        "「生年月日」列の40件",
        "行 2・3・4・5・6 ほか35行",
    )


def test_a_broken_csv_line_is_named(files):
    text = "氏名,生年月日\n平野 紬,2014-05-06\n石井,結菜,2010-02-14\n"
    (files / "壊れ.csv").write_bytes(text.encode("cp932"))
    _refused(_cli(files, "住民.csv", "壊れ.csv", "--out", "x.csv"), "壊れ.csv", "3行目", "カンマ")


def test_an_empty_file_is_refused(files):
    (files / "空.csv").write_bytes(b"")
    _refused(_cli(files, "住民.csv", "空.csv", "--out", "x.csv"), "空.csv", "空です")
