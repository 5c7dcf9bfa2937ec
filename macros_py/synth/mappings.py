"""Default mapping rows (取込設定, 項目マッピング, コード表) for every synthetic export.

``mappings/sources.csv``, ``columns.csv`` and ``codes.csv`` are rendered from the export
declarations so the generator and the mapping tabs never drift apart.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from macros_py.synth.exports import ALL_SOURCES

__all__ = ["mapping_tables", "write_mapping_csvs", "SOURCE_HEADERS", "COLUMN_HEADERS", "CODE_HEADERS"]

SOURCE_HEADERS = [
    "ソースID",
    "名称",
    "部署",
    "ファイルパターン",
    "形式",
    "文字コード",
    "見出し行",
    "シート名",
    "キー種別",
    "対象者",
    "更新頻度",
    "抽出日の取得元",
    "有効",
]
COLUMN_HEADERS = ["ソースID", "元の列名", "項目", "型", "変換規則", "必須"]
CODE_HEADERS = ["コード表ID", "コード", "値", "説明"]


def mapping_tables() -> dict[str, pd.DataFrame]:
    """The three default mapping tables as all-text DataFrames keyed ``sources``, ``columns``, ``codes``."""
    sources = []
    columns = []
    codes: dict[tuple[str, str], tuple[str, str, str, str]] = {}
    for spec in ALL_SOURCES:
        sources.append(
            [
                spec.source_id,
                spec.name,
                spec.department,
                spec.pattern,
                spec.file_format,
                spec.encoding,
                str(spec.header_row),
                spec.sheet_name,
                spec.key_kind,
                spec.subject,
                spec.rhythm,
                spec.extract_date_from,
                "はい",
            ]
        )
        for column in spec.columns:
            if column.field:
                columns.append(
                    [
                        spec.source_id,
                        column.header,
                        column.field,
                        column.value_type,
                        column.rule,
                        "はい" if column.required else "いいえ",
                    ]
                )
        for code in spec.codes:
            codes.setdefault(
                (code.table_id, code.code), (code.table_id, code.code, code.value, code.description)
            )
    return {
        "sources": pd.DataFrame(sources, columns=SOURCE_HEADERS),
        "columns": pd.DataFrame(columns, columns=COLUMN_HEADERS),
        "codes": pd.DataFrame([codes[key] for key in sorted(codes)], columns=CODE_HEADERS),
    }


def write_mapping_csvs(directory: Path) -> list[Path]:
    """Write ``sources.csv``, ``columns.csv`` and ``codes.csv`` (UTF-8, LF) into ``directory``."""
    written = []
    for name, frame in mapping_tables().items():
        path = Path(directory) / f"{name}.csv"
        frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        written.append(path)
    return written
