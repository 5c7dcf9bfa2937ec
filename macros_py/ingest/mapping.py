"""The mapping tabs (取込設定, 項目マッピング, コード表) as typed, frozen configuration.

Administrators describe every export as rows: a source row says where the files are and
how to read them; column rows say which export column is which canonical field or
value field, with its type and parse rule; code-table rows translate vendor codes. A new
source needs rows only. Every problem is a :class:`ConfigError` naming sheet, Excel row
and column, with a Japanese hint on how to fix it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

from macros_py.config.errors import ConfigError, ConfigErrors
from macros_py.sheets import CODE_TABLES, COLUMN_MAPPINGS, SOURCES, SheetSpec
from macros_py.vocabulary import (
    FIELD_BY_LABEL,
    KEY_KINDS,
    SEX_VALUES,
    SUBJECT_KINDS,
    UPDATE_RHYTHMS,
    VALUE_TYPES,
    CanonicalField,
)

__all__ = [
    "DEFAULT_FALSE_VALUES",
    "DEFAULT_TRUE_VALUES",
    "NEGATION_PREFIXES",
    "CodeTable",
    "ColumnMapping",
    "MappingConfig",
    "SourceSpec",
    "parse_flag_rule",
    "parse_mapping_tables",
    "validate_mapping_tables",
]

DEFAULT_TRUE_VALUES: tuple[str, ...] = ("1", "はい", "有", "あり", "○", "Y")
DEFAULT_FALSE_VALUES: tuple[str, ...] = ("0", "いいえ", "無", "なし", "×", "N", "-")
# When 変換規則 lists only true values, their negations count as false too: with true
# value 未受診 the value 受診 is false; with 受診 (a kanji word), 未受診/不受診/... are.
NEGATION_PREFIXES: tuple[str, ...] = ("未", "不", "非", "無")
_LIST_SEPARATORS = r"[,、，]"
_FLAG_LISTS_SEPARATOR = r"[|｜]"
ENCODINGS: tuple[str, ...] = ("自動", "cp932", "utf-8", "utf-8-sig")
JOINABLE: dict[str, str] = {"住所": " ", "氏名": "\u3000", "氏名カナ": "\u3000"}
_SOURCE_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_EXTRACT_FROM = re.compile(r"^(ファイル名|ファイル日時|列:.+)$")


@dataclass(frozen=True)
class SourceSpec:
    """One 取込設定 row: a department export and how to read it."""

    source_id: str
    name: str = ""
    department: str = ""
    file_pattern: str = ""
    format: str = "csv"
    encoding: str = "自動"
    header_row: int = 1
    sheet_name: str = ""
    key_kind: str = "なし"
    subject: str = ""
    update_rhythm: str = "随時"
    extract_date_from: str = "ファイル名"
    enabled: bool = True
    excel_row: int | None = None

    @property
    def extract_date_column(self) -> str | None:
        """The column named by ``列:<元の列名>``, else ``None``."""
        if self.extract_date_from.startswith("列:"):
            return self.extract_date_from.removeprefix("列:").strip()
        return None


@dataclass(frozen=True)
class ColumnMapping:
    """One 項目マッピング row: an export column and what it means."""

    source_id: str
    source_column: str
    target: str  # canonical label (宛名番号 ...) or value-field name (欠席日数 ...)
    value_type: str = "文字"
    rule: str = ""
    required: bool = False
    excel_row: int | None = None

    @property
    def canonical(self) -> CanonicalField | None:
        """The canonical field this maps to, ``None`` for a value field."""
        return FIELD_BY_LABEL.get(self.target)

    @property
    def true_values(self) -> tuple[str, ...]:
        """Values read as true for a フラグ column."""
        return parse_flag_rule(self.rule if self.value_type == "フラグ" else "")[0]

    @property
    def false_values(self) -> tuple[str, ...]:
        """Values read as false for a フラグ column (any other non-empty value is an error)."""
        return parse_flag_rule(self.rule if self.value_type == "フラグ" else "")[1]


def _value_list(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in re.split(_LIST_SEPARATORS, text) if part.strip()))


def _negations(values: tuple[str, ...]) -> tuple[str, ...]:
    """未受診 → 受診; a kanji word of two or more characters → 未受診, 不受診, ..."""
    found = []
    for value in values:
        if value.startswith(NEGATION_PREFIXES):
            found.append(value[1:])
        elif len(value) >= 2 and "\u4e00" <= value[0] <= "\u9fff":
            found += [prefix + value for prefix in NEGATION_PREFIXES]
    return tuple(value for value in dict.fromkeys(found) if value and value not in values)


def parse_flag_rule(rule: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """True and false values of a フラグ 変換規則: ``はい,1,有|いいえ,0,無``.

    Blank: the default lists. Only true values (no ``|``): the default false values
    plus the negations of the true values (see :data:`NEGATION_PREFIXES`).

    Raises:
        ValueError: with a Japanese reason when the rule cannot be read.

    Examples:
        >>> parse_flag_rule("はい,1|いいえ,0")
        (('はい', '1'), ('いいえ', '0'))
        >>> parse_flag_rule("未受診")[1][-1]
        '受診'
    """
    if not rule.strip():
        return DEFAULT_TRUE_VALUES, DEFAULT_FALSE_VALUES
    parts = re.split(_FLAG_LISTS_SEPARATOR, rule)
    if len(parts) > 2:
        raise ValueError("「|」は1つだけにしてください(はいとみなす値|いいえとみなす値)。")
    true_values = _value_list(parts[0])
    if not true_values:
        raise ValueError("「|」の左に、はいとみなす値を「,」区切りで書いてください。")
    if len(parts) == 1:
        defaults = tuple(value for value in DEFAULT_FALSE_VALUES if value not in true_values)
        return true_values, defaults + tuple(v for v in _negations(true_values) if v not in defaults)
    false_values = _value_list(parts[1])
    if not false_values:
        raise ValueError("「|」の右に、いいえとみなす値を「,」区切りで書いてください。")
    both = [value for value in true_values if _folded(value) in {_folded(v) for v in false_values}]
    if both:
        raise ValueError(f"「{'・'.join(both)}」がはいとみなす値といいえとみなす値の両方にあります。")
    return true_values, false_values


def _folded(value: str) -> str:
    """How flag values are compared: NFKC, trimmed, upper case."""
    return unicodedata.normalize("NFKC", value).strip().upper()


@dataclass(frozen=True)
class CodeTable:
    """One コード表: vendor code (NFKC-folded) → canonical value."""

    table_id: str
    values: Mapping[str, str]


@dataclass(frozen=True)
class MappingConfig:
    """All mapping tabs, parsed."""

    sources: tuple[SourceSpec, ...]
    columns: tuple[ColumnMapping, ...]
    code_tables: Mapping[str, CodeTable] = field(default_factory=lambda: MappingProxyType({}))

    def source(self, source_id: str) -> SourceSpec:
        return next(source for source in self.sources if source.source_id == source_id)

    def columns_of(self, source_id: str) -> tuple[ColumnMapping, ...]:
        """Column mappings of one source, in tab order."""
        return tuple(column for column in self.columns if column.source_id == source_id)


def _cell(row: pd.Series, header: str) -> str:
    value = row.get(header, "")
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = str(value).strip()
    return text[:-2] if re.fullmatch(r"\d+\.0", text) else text


def _rows(table: pd.DataFrame | None, sheet: SheetSpec):
    if table is None:
        return
    for index, row in table.reset_index(drop=True).iterrows():
        cells = {header: _cell(row, header) for header in sheet.headers}
        if any(cells.values()):
            yield sheet.excel_row(int(index)), cells


def _choice(
    errors: list[ConfigError], sheet: SheetSpec, row: int, column: str, value: str, choices, default: str
) -> str:
    if value == "":
        return default
    if value not in choices:
        errors.append(
            ConfigError(
                sheet.name, row, column, f"「{value}」は選べません。{'・'.join(choices)}から選んでください。"
            )
        )
        return default
    return value


def _parse_sources(table: pd.DataFrame | None, errors: list[ConfigError]) -> list[SourceSpec]:
    sources: list[SourceSpec] = []
    seen: dict[str, int] = {}
    for row, cells in _rows(table, SOURCES):
        source_id = cells["ソースID"]
        if not source_id:
            errors.append(
                ConfigError(SOURCES.name, row, "ソースID", "ソースIDを入力してください(半角英数字)。")
            )
            continue
        if not _SOURCE_ID.match(source_id):
            errors.append(
                ConfigError(
                    SOURCES.name,
                    row,
                    "ソースID",
                    f"「{source_id}」: ソースIDは半角英数字・_・- で入力してください。",
                )
            )
            continue
        if source_id in seen:
            errors.append(
                ConfigError(
                    SOURCES.name, row, "ソースID", f"「{source_id}」は{seen[source_id]}行目と重複しています。"
                )
            )
            continue
        seen[source_id] = row
        if not cells["ファイルパターン"]:
            errors.append(
                ConfigError(
                    SOURCES.name,
                    row,
                    "ファイルパターン",
                    "取込フォルダからのファイルの場所(例: 住民記録/住民記録_*.csv)を入力してください。",
                )
            )
        header_row = 1
        if cells["見出し行"]:
            try:
                header_row = int(cells["見出し行"])
                if header_row < 1:
                    raise ValueError
            except ValueError:
                errors.append(
                    ConfigError(
                        SOURCES.name,
                        row,
                        "見出し行",
                        f"「{cells['見出し行']}」: 見出し行は1以上の整数で入力してください。",
                    )
                )
                header_row = 1
        extract_from = cells["抽出日の取得元"] or "ファイル名"
        if not _EXTRACT_FROM.match(extract_from):
            errors.append(
                ConfigError(
                    SOURCES.name,
                    row,
                    "抽出日の取得元",
                    f"「{extract_from}」: 「ファイル名」「ファイル日時」「列:<元の列名>」のどれかを入力してください。",
                )
            )
            extract_from = "ファイル名"
        enabled = _choice(errors, SOURCES, row, "有効", cells["有効"], ("はい", "いいえ"), "はい")
        sources.append(
            SourceSpec(
                source_id=source_id,
                name=cells["名称"] or source_id,
                department=cells["部署"],
                file_pattern=cells["ファイルパターン"],
                format=(cells["形式"] or "csv").lower() if cells["形式"].isascii() else cells["形式"],
                encoding=_choice(errors, SOURCES, row, "文字コード", cells["文字コード"], ENCODINGS, "自動"),
                header_row=header_row,
                sheet_name=cells["シート名"],
                key_kind=_choice(errors, SOURCES, row, "キー種別", cells["キー種別"], KEY_KINDS, "なし"),
                subject=_choice(errors, SOURCES, row, "対象者", cells["対象者"], SUBJECT_KINDS, ""),
                update_rhythm=_choice(
                    errors, SOURCES, row, "更新頻度", cells["更新頻度"], UPDATE_RHYTHMS, "随時"
                ),
                extract_date_from=extract_from,
                enabled=enabled == "はい",
                excel_row=row,
            )
        )
    return sources


def _parse_code_tables(table: pd.DataFrame | None, errors: list[ConfigError]) -> dict[str, CodeTable]:
    values: dict[str, dict[str, str]] = {}
    rows: dict[tuple[str, str], int] = {}
    for row, cells in _rows(table, CODE_TABLES):
        table_id, code, value = cells["コード表ID"], cells["コード"], cells["値"]
        for column, text in (("コード表ID", table_id), ("コード", code), ("値", value)):
            if not text:
                errors.append(ConfigError(CODE_TABLES.name, row, column, f"「{column}」を入力してください。"))
        if not (table_id and code and value):
            continue
        folded = unicodedata.normalize("NFKC", code).strip()
        key = (table_id, folded)
        if key in rows and values[table_id][folded] != value:
            errors.append(
                ConfigError(
                    CODE_TABLES.name,
                    row,
                    "コード",
                    f"コード表「{table_id}」のコード「{code}」は{rows[key]}行目と重複し、値が違います。",
                )
            )
            continue
        rows.setdefault(key, row)
        values.setdefault(table_id, {})[folded] = value
    return {tid: CodeTable(tid, MappingProxyType(codes)) for tid, codes in values.items()}


def _check_column(
    cells: dict[str, str], row: int, code_tables: Mapping[str, CodeTable], errors: list[ConfigError]
) -> None:
    target, value_type, rule = cells["項目"], cells["型"] or "文字", cells["変換規則"]
    canonical = FIELD_BY_LABEL.get(target)
    allowed = {"date": ("日付",), "int": ("数値",), "code": ("コード", "文字"), "text": ("文字", "コード")}
    if canonical is not None and value_type not in allowed[canonical.kind]:
        errors.append(
            ConfigError(
                COLUMN_MAPPINGS.name,
                row,
                "型",
                f"項目「{target}」の型は{'・'.join(allowed[canonical.kind])}にしてください。",
            )
        )
    if value_type == "コード":
        if not rule:
            errors.append(
                ConfigError(
                    COLUMN_MAPPINGS.name,
                    row,
                    "変換規則",
                    "型がコードのときは変換規則にコード表IDを入力してください。",
                )
            )
        elif rule not in code_tables:
            errors.append(
                ConfigError(
                    COLUMN_MAPPINGS.name, row, "変換規則", f"コード表「{rule}」がコード表タブにありません。"
                )
            )
        elif target == "性別":
            wrong = sorted(set(code_tables[rule].values.values()) - set(SEX_VALUES))
            if wrong:
                errors.append(
                    ConfigError(
                        CODE_TABLES.name,
                        None,
                        "値",
                        f"コード表「{rule}」(性別)の値は男・女にしてください({'・'.join(wrong)} は使えません)。",
                    )
                )
    if value_type == "フラグ":
        try:
            parse_flag_rule(rule)
        except ValueError as error:
            errors.append(
                ConfigError(
                    COLUMN_MAPPINGS.name,
                    row,
                    "変換規則",
                    f"「{rule}」: {error}例: はい,1,有|いいえ,0,無",
                )
            )
    if value_type == "日付" and rule not in {"", "自動"}:
        errors.append(
            ConfigError(
                COLUMN_MAPPINGS.name,
                row,
                "変換規則",
                f"「{rule}」: 日付の変換規則は「自動」か空欄にしてください(和暦・西暦・Excelシリアル値を自動判定します)。",
            )
        )
    if value_type in {"数値", "文字"} and rule:
        errors.append(
            ConfigError(
                COLUMN_MAPPINGS.name,
                row,
                "変換規則",
                f"型が{value_type}のときは変換規則を空欄にしてください。",
            )
        )


def _parse_columns(
    table, sources: list[SourceSpec], code_tables, errors: list[ConfigError]
) -> list[ColumnMapping]:
    known = {source.source_id for source in sources}
    columns: list[ColumnMapping] = []
    seen: dict[tuple[str, str, str], int] = {}
    targets: dict[tuple[str, str], tuple[int, str]] = {}
    for row, cells in _rows(table, COLUMN_MAPPINGS):
        source_id, column, target = cells["ソースID"], cells["元の列名"], cells["項目"]
        problems = len(errors)
        if source_id not in known:
            errors.append(
                ConfigError(
                    COLUMN_MAPPINGS.name,
                    row,
                    "ソースID",
                    f"「{source_id}」は取込設定タブにないソースIDです。",
                )
            )
        if not column:
            errors.append(
                ConfigError(
                    COLUMN_MAPPINGS.name, row, "元の列名", "ファイルの見出しどおりに列名を入力してください。"
                )
            )
        if not target:
            errors.append(
                ConfigError(
                    COLUMN_MAPPINGS.name,
                    row,
                    "項目",
                    "項目(宛名番号・氏名・生年月日など、または値の名前)を入力してください。",
                )
            )
        value_type = _choice(errors, COLUMN_MAPPINGS, row, "型", cells["型"], VALUE_TYPES, "文字")
        required = _choice(errors, COLUMN_MAPPINGS, row, "必須", cells["必須"], ("はい", "いいえ"), "いいえ")
        if not (source_id and column and target):
            continue
        key = (source_id, column, target)
        if key in seen:
            errors.append(
                ConfigError(
                    COLUMN_MAPPINGS.name, row, "元の列名", f"この対応は{seen[key]}行目と重複しています。"
                )
            )
        seen.setdefault(key, row)
        _check_column({**cells, "型": value_type}, row, code_tables, errors)
        previous = targets.get((source_id, target))
        if previous is not None:
            if target not in JOINABLE:
                errors.append(
                    ConfigError(
                        COLUMN_MAPPINGS.name,
                        row,
                        "項目",
                        f"「{target}」には{previous[0]}行目ですでに列が対応しています。複数の列をつなげられるのは住所・氏名・氏名カナだけです。",
                    )
                )
            elif previous[1] != value_type:
                errors.append(
                    ConfigError(
                        COLUMN_MAPPINGS.name,
                        row,
                        "型",
                        f"「{target}」につなげる列は{previous[0]}行目と同じ型にしてください。",
                    )
                )
        targets.setdefault((source_id, target), (row, value_type))
        if len(errors) == problems:
            columns.append(
                ColumnMapping(
                    source_id, column, target, value_type, cells["変換規則"], required == "はい", row
                )
            )
    return columns


def _parse(tables: Mapping[str, pd.DataFrame]) -> tuple[MappingConfig, list[ConfigError]]:
    errors: list[ConfigError] = []
    sources = _parse_sources(tables.get("sources"), errors)
    code_tables = _parse_code_tables(tables.get("code_tables"), errors)
    columns = _parse_columns(tables.get("column_mappings"), sources, code_tables, errors)
    mapped = {column.source_id for column in columns}
    for source in sources:
        if source.enabled and source.source_id not in mapped:
            errors.append(
                ConfigError(
                    SOURCES.name,
                    source.excel_row,
                    "ソースID",
                    f"ソース「{source.source_id}」の列が項目マッピングタブに1つもありません。",
                )
            )
    config = MappingConfig(tuple(sources), tuple(columns), MappingProxyType(code_tables))
    return config, errors


def validate_mapping_tables(tables: Mapping[str, pd.DataFrame]) -> list[ConfigError]:
    """Every problem in the 取込設定, 項目マッピング and コード表 tabs, in tab order."""
    return _parse(tables)[1]


def parse_mapping_tables(tables: Mapping[str, pd.DataFrame]) -> MappingConfig:
    """Parse the mapping tabs (sheet keys ``sources``, ``column_mappings``, ``code_tables``).

    Raises:
        ConfigErrors: with every problem found, each naming sheet, row and column.
    """
    config, errors = _parse(tables)
    if errors:
        raise ConfigErrors(errors)
    return config
