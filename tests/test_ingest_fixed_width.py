"""register_readers: built-in readers and the fixed-width example plugin in plugins/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fixtures.ingest.helpers import mapping_tables, only_file, run_import, source_row

from macros_py.ingest.action import available_readers
from macros_py.ingest.query import current_records
from macros_py.plugins import load_plugins

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


def _record(resident_id: str, kana: str, birth: str, sex: str, kind: str) -> bytes:
    def field(text: str, width: int) -> bytes:
        data = text.encode("cp932")
        assert len(data) <= width
        return data + b" " * (width - len(data))

    return field(resident_id, 10) + field(kana, 20) + field(birth, 8) + field(sex, 1) + field(kind, 2)


def test_register_readers_collects_builtin_and_plugin_readers():
    readers = available_readers(load_plugins(PLUGINS))
    assert {"csv", "xlsx", "固定長"} <= set(readers)
    assert readers["固定長"].label.startswith("固定長")


def test_register_readers_fixed_width_plugin_imports_a_cp932_export(tmp_path):
    shutil.copy(PLUGINS / "fixed_width_reader.py", tmp_path / "fixed_width_reader.py")
    folder = tmp_path / "exports" / "国保"
    folder.mkdir(parents=True)
    lines = [
        "国保資格 固定長 令和7年11月30日".encode("cp932"),
        _record("0000000001", "ﾔﾏﾀﾞ ﾀﾛｳ", "20150403", "1", "01"),
        _record("0000000002", "サトウ　ハナコ", "20180230", "2", "02"),
        b"",
        _record("0000000003", "スズキ", "20200101", "1", ""),
    ]
    (folder / "国保_20251130.txt").write_bytes(b"\r\n".join(lines) + b"\r\n")
    mapping = mapping_tables(
        sources=[source_row("kokuho", "国保/国保_*.txt", 形式="固定長", 見出し行="2", 文字コード="cp932")],
        columns=[
            ["kokuho", "宛名番号", "宛名番号", "文字", "", "はい"],
            ["kokuho", "氏名カナ", "氏名カナ", "文字", "", ""],
            ["kokuho", "生年月日", "生年月日", "日付", "", ""],
            ["kokuho", "性別", "性別", "コード", "sex", ""],
            ["kokuho", "資格区分", "資格区分", "文字", "", ""],
        ],
    )
    result = run_import(tmp_path, mapping, プラグインフォルダ=str(tmp_path))
    entry = only_file(result)
    assert (entry["read"], entry["stored"], entry["quarantined"]) == (3, 2, 1)
    errors = result.tables["import_errors"]
    assert errors[["行", "列", "値"]].values.tolist() == [[3, "生年月日", "20180230"]]
    records = current_records(result_store(tmp_path))
    assert records["row_number"].tolist() == [2, 5]
    assert records["name_kana"].tolist() == ["ﾔﾏﾀﾞ ﾀﾛｳ", "スズキ"]
    assert [json.loads(text)["資格区分"] for text in records["values_json"]] == ["01", None]


def test_register_readers_plugin_refuses_a_source_without_layout(tmp_path):
    folder = tmp_path / "exports" / "其他"
    folder.mkdir(parents=True)
    (folder / "data_20251130.txt").write_bytes(b"0000000001\r\n")
    mapping = mapping_tables(
        sources=[source_row("other", "其他/*.txt", 形式="固定長")],
        columns=[["other", "宛名番号", "宛名番号", "文字", "", "はい"]],
    )
    entry = only_file(run_import(tmp_path, mapping, プラグインフォルダ=str(PLUGINS)))
    assert entry["refused"] and "LAYOUTS" in entry["reason"]


def test_unknown_format_without_plugin_is_refused_naming_the_format(tmp_path):
    folder = tmp_path / "exports" / "国保"
    folder.mkdir(parents=True)
    (folder / "国保_20251130.txt").write_bytes(b"x\r\n")
    mapping = mapping_tables(
        sources=[source_row("kokuho", "国保/*.txt", 形式="固定長")],
        columns=[["kokuho", "宛名番号", "宛名番号", "文字", "", "はい"]],
    )
    entry = only_file(run_import(tmp_path, mapping, プラグインフォルダ=str(tmp_path / "none")))
    assert entry["refused"] and "形式「固定長」を読めるリーダーがありません" in entry["reason"]


def result_store(base):
    from fixtures.ingest.helpers import context_for

    return context_for(base).store
