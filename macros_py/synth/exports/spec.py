"""Declarations of every export: file layout and its default mapping rows."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ColumnSpec", "SourceSpec", "CodeRow"]


@dataclass(frozen=True)
class ColumnSpec:
    """One column of an export and how the default mapping reads it.

    Attributes:
        header: Column name exactly as written in the file.
        field: Canonical label or value-field name; empty = deliberately unmapped.
        value_type: 文字 / 日付 / 数値 / コード / フラグ.
        rule: 変換規則 (date: 自動; code: code table ID; flag: true values).
        required: Whether the mapping marks the column 必須.
    """

    header: str
    field: str = ""
    value_type: str = "文字"
    rule: str = ""
    required: bool = False


@dataclass(frozen=True)
class CodeRow:
    """One row of a code table (コード表)."""

    table_id: str
    code: str
    value: str
    description: str = ""


@dataclass(frozen=True)
class SourceSpec:
    """One department export (取込設定 row plus its columns and code tables)."""

    source_id: str
    name: str
    department: str
    pattern: str
    file_format: str
    encoding: str
    header_row: int
    key_kind: str
    subject: str
    rhythm: str
    columns: tuple[ColumnSpec, ...]
    codes: tuple[CodeRow, ...] = field(default=())
    sheet_name: str = ""
    extract_date_from: str = "ファイル名"

    @property
    def headers(self) -> list[str]:
        """Column headers in file order."""
        return [column.header for column in self.columns]
