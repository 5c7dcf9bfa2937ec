"""Hardship types (困難類型 tab) as typed, frozen configuration (docs/dev/SCORING.md §3).

One row per type (虐待, 貧困, 不登校, ...): its 基準点数, how the items of one 中分類 are
combined (合計 / 最大), the 中分類 of which at least one must score (gate), thresholds
per age band and how candidates are chosen (基準点数以上 / 上位N人 / 年齢内上位% / 等級).
Every bad cell is a :class:`ConfigError` naming 困難類型, the Excel row and the column.

The scoring and selection functions live in :mod:`macros_py.score.points` and
:mod:`macros_py.score.ranking` and are re-exported here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pandas as pd

from macros_py.config.errors import ConfigError, ConfigErrors
from macros_py.score.points import basic_item_count, rule_total, type_scores
from macros_py.score.ranking import age_thresholds, select_by_type
from macros_py.sheets import HARDSHIP_TYPES

__all__ = [
    "GROUP_METHODS",
    "RANKING_METHODS",
    "AgeBand",
    "HardshipType",
    "age_thresholds",
    "basic_item_count",
    "check_required_groups",
    "parse_age_bands",
    "parse_grades",
    "parse_hardship_types",
    "rule_total",
    "select_by_type",
    "type_scores",
]

GROUP_METHODS: dict[str, str] = {"合計": "sum", "最大": "max"}
RANKING_METHODS: dict[str, str] = {
    "基準点数以上": "threshold",
    "上位N人": "top_n",
    "年齢内上位%": "top_percent_by_age",
    "等級": "grades",
}
_SEPARATORS = r"[,、，]"
_BAND = re.compile(r"^(\d+)\s*[-~〜～]\s*(\d+)\s*:\s*(-?\d+(?:\.\d+)?)$")
_GRADE = re.compile(r"^([^:\s]+)\s*:\s*(\d+(?:\.\d+)?)\s*%?$")


@dataclass(frozen=True)
class AgeBand:
    """Ages ``min_age``..``max_age`` (whole years, both included) and their threshold."""

    min_age: int
    max_age: int
    threshold: float


@dataclass(frozen=True)
class HardshipType:
    """One 困難類型 row, parsed and checked."""

    name: str
    threshold: float
    group_method: str = "sum"  # "sum" | "max" within each 中分類
    required_groups: tuple[str, ...] = ()  # gate: at least one of these groups must score > 0
    age_bands: tuple[AgeBand, ...] = ()  # ages outside every band use ``threshold``
    ranking: str = "threshold"  # "threshold" | "top_n" | "top_percent_by_age" | "grades"
    ranking_value: float | None = None  # N for top_n, % for top_percent_by_age
    grades: tuple[tuple[str, float], ...] = ()  # (("A", 2.0), ("B", 5.0)): cumulative top % per age
    enabled: bool = True
    description: str = ""
    excel_row: int = 0


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _parts(text: str) -> list[str]:
    return [part.strip() for part in re.split(_SEPARATORS, _fold(text)) if part.strip()]


def parse_age_bands(text: str) -> tuple[AgeBand, ...]:
    """Read ``"0-5:3, 6-12:4, 13-18:4"`` (whole years, both ends included).

    Raises:
        ValueError: with a Japanese message naming the part that is wrong.
    """
    bands: list[AgeBand] = []
    for part in _parts(text):
        match = _BAND.match(part)
        if match is None:
            raise ValueError(
                f"「{part}」が読めません。「0-5:3, 6-18:4」のように 年齢-年齢:点数 で書いてください。"
            )
        low, high, points = int(match.group(1)), int(match.group(2)), float(match.group(3))
        if low > high:
            raise ValueError(f"「{part}」: 年齢の下限が上限より大きくなっています。")
        bands.append(AgeBand(low, high, points))
    bands.sort(key=lambda band: band.min_age)
    for before, after in zip(bands, bands[1:], strict=False):
        if after.min_age <= before.max_age:
            raise ValueError(
                f"年齢帯 {before.min_age}-{before.max_age} と {after.min_age}-{after.max_age} が重なっています。"
            )
    return tuple(bands)


def parse_grades(text: str) -> tuple[tuple[str, float], ...]:
    """Read ``"A:2, B:5, C:10"``: grade name and cumulative top % within each age.

    Raises:
        ValueError: with a Japanese message naming the part that is wrong.
    """
    grades: list[tuple[str, float]] = []
    for part in _parts(text):
        match = _GRADE.match(part)
        if match is None:
            raise ValueError(
                f"「{part}」が読めません。「A:2, B:5, C:10」のように 等級:上位% で書いてください。"
            )
        name, percent = match.group(1), float(match.group(2))
        if not 0.0 < percent <= 100.0:
            raise ValueError(f"「{part}」: 上位%は0より大きく100以下にしてください。")
        if grades and percent <= grades[-1][1]:
            raise ValueError(
                f"「{part}」: 上位%は前の等級より大きくしてください(A:2, B:5 のように小さい順)。"
            )
        if any(name == earlier for earlier, _ in grades):
            raise ValueError(f"等級「{name}」が2回あります。")
        grades.append((name, percent))
    if not grades:
        raise ValueError("等級を「A:2, B:5, C:10」のように書いてください。")
    return tuple(grades)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    text = _fold(str(value))
    return text[:-2] if re.fullmatch(r"-?\d+\.0", text) else text


def _rows(table: pd.DataFrame | None) -> Iterator[tuple[int, dict[str, str]]]:
    if table is None:
        return
    frame = table.reset_index(drop=True)
    for index in range(len(frame)):
        cells = {header: _cell(frame.iloc[index].get(header)) for header in HARDSHIP_TYPES.headers}
        if any(cells.values()):
            yield HARDSHIP_TYPES.excel_row(index), cells


class _RowReader:
    """Reads one row's cells, recording a ConfigError for each bad one."""

    def __init__(self, row: int, cells: dict[str, str], errors: list[ConfigError]):
        self.row, self.cells, self.errors = row, cells, errors

    def error(self, column: str, message: str) -> None:
        self.errors.append(ConfigError(HARDSHIP_TYPES.name, self.row, column, message))

    def choice(self, column: str, choices: dict[str, str], default: str) -> str:
        value = self.cells[column]
        if not value:
            return choices[default]
        if value not in choices:
            self.error(column, f"「{value}」は選べません。{'・'.join(choices)}から選んでください。")
            return choices[default]
        return choices[value]

    def number(self, column: str) -> float | None:
        value = self.cells[column]
        try:
            return float(value) if value else None
        except ValueError:
            self.error(column, f"「{value}」は数値ではありません。")
            return None

    def parsed(self, column: str, parser, default):
        try:
            return parser(self.cells[column]) if self.cells[column] else default
        except ValueError as error:
            self.error(column, str(error))
            return default


def _ranking_value(reader: _RowReader, ranking: str) -> tuple[float | None, tuple[tuple[str, float], ...]]:
    column = "順位付けの値"
    if ranking == "grades":
        if not reader.cells[column]:
            reader.error(column, "等級のときは「A:2, B:5, C:10」のように等級と上位%を書いてください。")
            return None, ()
        return None, reader.parsed(column, parse_grades, ())
    if ranking == "threshold":
        return None, ()  # the value column is not used
    value = reader.number(column)
    if value is None:
        if not reader.cells[column]:
            example = "200(人)" if ranking == "top_n" else "10(%)"
            reader.error(column, f"順位付けの値を入れてください(例: {example})。")
        return None, ()
    if ranking == "top_n" and (value < 1 or value != int(value)):
        reader.error(column, f"上位N人のNは1以上の整数にしてください(「{reader.cells[column]}」)。")
        return None, ()
    if ranking == "top_percent_by_age" and not 0.0 < value <= 100.0:
        reader.error(column, f"年齢内上位%は0より大きく100以下にしてください(「{reader.cells[column]}」)。")
        return None, ()
    return value, ()


def _parse_row(row: int, cells: dict[str, str], errors: list[ConfigError]) -> HardshipType:
    reader = _RowReader(row, cells, errors)
    threshold = reader.number("基準点数")
    if threshold is None and not cells["基準点数"]:
        reader.error("基準点数", "基準点数を入れてください(例: 3)。")
    elif threshold is not None and threshold < 0:
        reader.error("基準点数", "基準点数は0以上にしてください。")
    ranking = reader.choice("順位付け", RANKING_METHODS, "基準点数以上")
    ranking_value, grades = _ranking_value(reader, ranking)
    enabled = cells["有効"] != "いいえ"
    if cells["有効"] not in ("", "はい", "いいえ"):
        reader.error("有効", f"「{cells['有効']}」は選べません。はい・いいえから選んでください。")
    return HardshipType(
        name=cells["類型"],
        threshold=threshold or 0.0,
        group_method=reader.choice("中分類の集計", GROUP_METHODS, "合計"),
        required_groups=tuple(dict.fromkeys(_parts(cells["必須中分類"]))),
        age_bands=reader.parsed("年齢帯別基準点数", parse_age_bands, ()),
        ranking=ranking,
        ranking_value=ranking_value,
        grades=grades,
        enabled=enabled,
        description=cells["説明"],
        excel_row=row,
    )


def parse_hardship_types(table: pd.DataFrame | None) -> tuple[HardshipType, ...]:
    """Parse the 困難類型 tab (headers as in :data:`macros_py.sheets.HARDSHIP_TYPES`).

    Args:
        table: the tab's table (blank rows are skipped); ``None`` means no rows.

    Returns:
        The types in tab order (disabled ones included, with ``enabled=False``).

    Raises:
        ConfigErrors: every bad cell, each naming 困難類型, the Excel row and the column.
    """
    errors: list[ConfigError] = []
    types: list[HardshipType] = []
    seen: dict[str, int] = {}
    for row, cells in _rows(table):
        if not cells["類型"]:
            errors.append(
                ConfigError(HARDSHIP_TYPES.name, row, "類型", "類型の名前を入れてください(例: 虐待)。")
            )
            continue
        if cells["類型"] in seen:
            message = f"類型「{cells['類型']}」は{seen[cells['類型']]}行目にもあります。"
            errors.append(ConfigError(HARDSHIP_TYPES.name, row, "類型", message))
            continue
        seen[cells["類型"]] = row
        types.append(_parse_row(row, cells, errors))
    if errors:
        raise ConfigErrors(errors)
    return tuple(types)


def check_required_groups(types: Sequence[HardshipType], rules: Sequence) -> list[ConfigError]:
    """必須中分類 that no enabled item scoring the type belongs to (the gate could never open).

    Args:
        types: parsed hardship types.
        rules: parsed item rules (attributes ``group``, ``points``, ``item_id``, ``enabled``).
    """
    errors: list[ConfigError] = []
    for hardship in types:
        if not hardship.enabled:
            continue
        groups = {
            rule.group or rule.item_id
            for rule in rules
            if getattr(rule, "enabled", True) and rule.points.get(hardship.name, 0) > 0
        }
        missing = [group for group in hardship.required_groups if group not in groups]
        if missing:
            known = "、".join(sorted(groups)) or "(なし)"
            message = (
                f"必須中分類「{'、'.join(missing)}」に、この類型に点数のある判定ルールがありません。"
                f"使える中分類: {known}"
            )
            errors.append(ConfigError(HARDSHIP_TYPES.name, hardship.excel_row, "必須中分類", message))
    return errors
