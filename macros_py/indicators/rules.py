"""The 判定ルール tab as typed, frozen item rules (docs/dev/SCORING.md §2).

One row is one item: which records of which source, filtered by a 記録条件 and a period,
aggregated per person (有無, 件数, 最大, ...), scoped to the child (本人, 世帯, 保護者,
きょうだい), judged by a condition over 値, limited to children meeting 対象, and worth
points per hardship type. Every bad cell becomes a :class:`ConfigError` naming the
sheet, the Excel row and the column, collected into one :class:`ConfigErrors`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

from macros_py.config.errors import ConfigError, ConfigErrors
from macros_py.indicators.conditions import Condition, ConditionError, check_condition, parse_condition
from macros_py.indicators.records import field_types
from macros_py.ingest.mapping import MappingConfig
from macros_py.sheets import ITEM_RULES

__all__ = [
    "AGGREGATIONS",
    "CHILD_FIELD_TYPES",
    "PLUGIN_SOURCE",
    "SCOPES",
    "ItemRule",
    "parse_item_rules",
    "parse_period_days",
    "parse_points",
]

SCOPES: dict[str, str] = {
    "本人": "self",
    "世帯": "household",
    "保護者": "guardians",
    "きょうだい": "siblings",
}
AGGREGATIONS: dict[str, str] = {
    "有無": "any",
    "件数": "count",
    "最大": "max",
    "最小": "min",
    "合計": "sum",
    "最新": "latest",
    "期間内になし": "none_in_period",
    "前回差": "change",
}
# Aggregations over the 値項目 (the others count records).
VALUE_AGGREGATIONS = ("max", "min", "sum", "latest", "change")
# 対象 conditions see these child attributes.
CHILD_FIELD_TYPES: Mapping[str, str] = MappingProxyType(
    {"年齢": "数値", "月齢": "数値", "学年": "数値", "性別": "コード"}
)
# ソースID of a row that gives points to a plugin item (plugin_api.ItemSpec) of the same 項目ID.
PLUGIN_SOURCE = "プラグイン"
_ITEM_ID = re.compile(r"^[A-Za-z0-9_]+$")
_PERIOD = re.compile(r"^(\d+)\s*(日|週|週間|か月|ヶ月|ヵ月|カ月|ケ月|月|年)?$")
_DAYS_PER_UNIT = {"日": 1.0, "週": 7.0, "週間": 7.0, "年": 365.0}
_YES, _NO = "はい", "いいえ"


@dataclass(frozen=True)
class ItemRule:
    """One 判定ルール row, parsed and checked."""

    item_id: str
    name: str
    basic_item_no: int | None
    source_id: str
    value_field: str
    record_condition: Condition
    period_days: int | None
    date_field: str
    scope: str  # self | household | guardians | siblings
    aggregation: str  # any | count | max | min | sum | latest | none_in_period | change
    judgement: Condition  # over 値; blank means 値 > 0
    target: Condition  # over 年齢, 月齢, 学年, 性別; blank = every child
    group: str  # 中分類 (blank -> the item id)
    points: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    shown_in_review: bool = True
    enabled: bool = True
    rationale: str = ""
    excel_row: int = 0

    @property
    def is_plugin(self) -> bool:
        """Whether a plugin item computes the value (ソースID プラグイン)."""
        return self.source_id == PLUGIN_SOURCE


# Cells folded to NFKC (full-width digits and letters typed in Excel).
_FOLDED = ("項目ID", "基本項目番号", "ソースID")


def _cell(value: object, *, fold: bool = False) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = str(value).strip()
    text = unicodedata.normalize("NFKC", text) if fold else text
    return text[:-2] if re.fullmatch(r"-?\d+\.0", text) else text


def parse_period_days(text: str) -> int | None:
    """Days of a 期間: ``30日``, ``2週``, ``6か月`` (30.4 days a month), ``1年``, ``90`` (days).

    Raises:
        ValueError: with a Japanese reason.

    Examples:
        >>> parse_period_days("6か月"), parse_period_days("1年"), parse_period_days("")
        (183, 365, None)
    """
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return None
    match = _PERIOD.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"期間「{text}」は読めません。30日、2週、6か月、1年 のように書いてください。")
    days = int(match.group(1)) * _DAYS_PER_UNIT.get(match.group(2) or "日", 365.0 / 12)
    return int(days + 0.5)  # half up: 6か月 = 183日


def parse_points(text: str, type_names: Collection[str]) -> dict[str, float]:
    """``虐待:2, 貧困:1`` → ``{"虐待": 2.0, "貧困": 1.0}`` (negative points are protective).

    Raises:
        ValueError: with a Japanese reason (unknown type, not a number, a type twice).
    """
    points: dict[str, float] = {}
    for part in re.split(r"[,、，;；]", unicodedata.normalize("NFKC", text)):
        if not part.strip():
            continue
        name, colon, number = part.partition(":")
        name, number = name.strip(), number.strip()
        if not colon or not name or not number:
            raise ValueError(f"「{part.strip()}」は「類型:点数」の形で書いてください(例: 虐待:2, 貧困:1)。")
        if name not in type_names:
            raise ValueError(
                f"困難類型「{name}」は困難類型タブにありません。使える類型: {'・'.join(type_names)}。"
            )
        if name in points:
            raise ValueError(f"困難類型「{name}」が2回書かれています。")
        try:
            points[name] = float(number)
        except ValueError:
            raise ValueError(f"「{name}」の点数「{number}」が数値ではありません。") from None
    return points


class _Row:
    """One row being parsed: its cells and where its errors go."""

    def __init__(self, cells: dict[str, str], excel_row: int, errors: list[ConfigError]):
        self.cells, self.excel_row, self.errors = cells, excel_row, errors

    def __getitem__(self, column: str) -> str:
        return self.cells.get(column, "")

    def error(self, column: str, message: str) -> None:
        self.errors.append(ConfigError(ITEM_RULES.name, self.excel_row, column, message))

    def choice(self, column: str, choices: Mapping[str, str] | Collection[str], default: str) -> str:
        value = self[column]
        if value == "":
            return default
        if value not in choices:
            self.error(column, f"「{value}」は選べません。{'・'.join(choices)}から選んでください。")
            return default
        return choices[value] if isinstance(choices, Mapping) else value

    def condition(self, column: str, types: Mapping[str, str] | None) -> Condition:
        """Parse a condition cell; with ``types`` also check the fields it names."""
        try:
            condition = parse_condition(self[column])
        except ConditionError as error:
            self.error(column, f"条件「{self[column]}」を読めません: {error.message}")
            return parse_condition("")
        for problem in check_condition(condition, types) if types is not None else ():
            self.error(column, problem)
        return condition


def _rows(table: pd.DataFrame | None):
    if table is None:
        return
    for index, record in enumerate(table.reset_index(drop=True).to_dict("records")):
        cells = {header: _cell(record.get(header), fold=header in _FOLDED) for header in ITEM_RULES.headers}
        if any(cells.values()):
            yield ITEM_RULES.excel_row(index), cells


def _basic_item_no(row: _Row) -> int | None:
    text = row["基本項目番号"]
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 19:
        row.error("基本項目番号", f"「{text}」は1から19の番号で書いてください(基本項目でなければ空欄)。")
        return None
    return int(text)


def _source_fields(row: _Row, mapping: MappingConfig, *, check: bool) -> dict[str, str] | None:
    """The source's fields and their 型, or ``None`` when they cannot be checked."""
    source_id = row["ソースID"]
    if source_id == PLUGIN_SOURCE:
        return None
    known = [source.source_id for source in mapping.sources]
    if not source_id:
        row.error("ソースID", "ソースIDを入力してください(取込設定タブのソースID、またはプラグイン)。")
        return None
    if source_id not in known:
        if check:
            row.error(
                "ソースID",
                f"ソース「{source_id}」は取込設定タブにありません。使えるソース: {'・'.join(known)}。",
            )
        return None
    return field_types(mapping, source_id)


def _field(row: _Row, column: str, fields: Mapping[str, str] | None, kinds: Collection[str]) -> str:
    name = row[column]
    if not name or fields is None:
        return name
    if name not in fields:
        row.error(
            column,
            f"項目「{name}」はソース「{row['ソースID']}」の項目マッピングにありません。使える項目: {'・'.join(fields)}。",
        )
    elif fields[name] not in kinds:
        row.error(
            column, f"項目「{name}」は{fields[name]}の項目です。{'・'.join(kinds)}の項目を選んでください。"
        )
    return name


def _value_kind(aggregation: str, value_field: str, fields: Mapping[str, str] | None) -> str:
    """The 型 of 値 that 判定 compares (counts and flags add up to numbers)."""
    if aggregation == "latest" and fields is not None and fields.get(value_field) == "フラグ":
        return "フラグ"
    return "数値"


def _aggregation_fields(row: _Row, aggregation: str, fields: Mapping[str, str] | None) -> tuple[str, str]:
    value_field = _field(row, "値項目", fields, ("数値", "フラグ"))
    if aggregation in VALUE_AGGREGATIONS and not value_field and row["ソースID"] != PLUGIN_SOURCE:
        row.error("値項目", f"集計「{row['集計']}」には値項目(数値の項目)が必要です。")
    date_field = _field(row, "日付項目", fields, ("日付",))
    return value_field, date_field


def _period(row: _Row, date_field: str) -> int | None:
    try:
        days = parse_period_days(row["期間"])
    except ValueError as error:
        row.error("期間", str(error))
        return None
    if days is not None and not date_field:
        row.error("日付項目", "期間を使うときは、期間を数える日付項目を入力してください。")
    return days


def _points(row: _Row, type_names: Collection[str]) -> dict[str, float]:
    try:
        return parse_points(row["配点"], type_names)
    except ValueError as error:
        row.error("配点", str(error))
        return {}


def _parse_row(row: _Row, *, type_names: Collection[str], mapping: MappingConfig) -> ItemRule:
    enabled = row.choice("有効", (_YES, _NO), _YES) == _YES
    fields = _source_fields(row, mapping, check=enabled)
    aggregation = row.choice("集計", AGGREGATIONS, "any")
    value_field, date_field = _aggregation_fields(row, aggregation, fields)
    period_days = _period(row, date_field)
    if aggregation == "none_in_period" and period_days is None and not row["記録条件"]:
        row.error("集計", "期間内になし には期間か記録条件を入力してください(何がないのかを決めるため)。")
    return ItemRule(
        item_id=row["項目ID"],
        name=row["項目名"],
        basic_item_no=_basic_item_no(row),
        source_id=row["ソースID"],
        value_field=value_field,
        record_condition=row.condition("記録条件", fields),
        period_days=period_days,
        date_field=date_field,
        scope=row.choice("範囲", SCOPES, "self"),
        aggregation=aggregation,
        judgement=row.condition("判定", {"値": _value_kind(aggregation, value_field, fields)}),
        target=row.condition("対象", CHILD_FIELD_TYPES),
        group=row["中分類"] or row["項目ID"],
        points=MappingProxyType(_points(row, type_names)),
        shown_in_review=row.choice("検討会議に表示", (_YES, _NO), _YES) == _YES,
        enabled=enabled,
        rationale=row["根拠"],
        excel_row=row.excel_row,
    )


def _check_identity(row: _Row, seen: set[str]) -> None:
    item_id = row["項目ID"]
    if not item_id:
        row.error("項目ID", "項目IDを入力してください(英数字と _)。")
    elif not _ITEM_ID.match(item_id):
        row.error("項目ID", f"項目ID「{item_id}」は英数字と _ で書いてください。")
    elif item_id in seen:
        row.error("項目ID", f"項目ID「{item_id}」が重複しています。")
    seen.add(item_id)
    if not row["項目名"]:
        row.error("項目名", "項目名を入力してください。")


def parse_item_rules(
    table: pd.DataFrame | None, *, type_names: Collection[str], mapping: MappingConfig
) -> tuple[ItemRule, ...]:
    """Parse the 判定ルール tab.

    Args:
        table: the tab's rows (headers = the tab's headers), or ``None``.
        type_names: hardship type names (困難類型 タブの類型) that 配点 may name.
        mapping: the parsed mapping tabs (sources and fields the rules may name).

    Returns:
        Every row (enabled or not) in tab order. Disabled rows are checked too, except
        that their source need not exist (a municipality without that export).

    Raises:
        ConfigErrors: every problem found, each naming 判定ルール, row and column.
    """
    errors: list[ConfigError] = []
    seen: set[str] = set()
    rules: list[ItemRule] = []
    for excel_row, cells in _rows(table):
        row = _Row(cells, excel_row, errors)
        _check_identity(row, seen)
        rules.append(_parse_row(row, type_names=list(type_names), mapping=mapping))
    if errors:
        raise ConfigErrors(errors)
    return tuple(rules)
