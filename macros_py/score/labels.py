"""教師データ: which children are already known to services (labels of the model).

Each row of the 教師データ tab names a source (要対協 ledger, consultation cases, SSW
support, ...), an optional 記録条件 over that source's fields (for example only open
cases: ``相談対応状況 = 「対応中」``) and the 支援状況 a matching record gives the child
(要対協, 支援中, or 支援歴あり for closed cases). A child with a matching, linked record
of an enabled row gets that status; 要対協 wins over 支援中, 支援中 over 支援歴あり.
Children with any status are known to services: the model's positive labels (a closed
case is as much "known" as an open one) and what the candidate list excludes or moves
down. The items of these sources never enter the model (``score.features``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from macros_py.config.errors import ConfigError, ConfigErrors
from macros_py.indicators.conditions import Condition, ConditionError, check_condition, parse_condition
from macros_py.indicators.records import field_types, linked_source_records
from macros_py.ingest.mapping import MappingConfig
from macros_py.sheets import LABEL_SOURCES
from macros_py.vocabulary import YES_NO

__all__ = [
    "STATUS_PRIORITY",
    "LabelSource",
    "label_source_ids",
    "parse_label_sources",
    "support_status",
]

logger = logging.getLogger(__name__)

# Stronger status first: a child on the 要対協 ledger and in an SSW case shows 要対協; a
# child with an open and a closed case shows 支援中. 支援歴あり (a closed case) still means
# the child is known to services: a label for the model, and shown on the list as such.
STATUS_PRIORITY: tuple[str, ...] = ("要対協", "支援中", "支援歴あり")
_HEADERS = ("ソースID", "記録条件", "支援状況", "有効", "説明")


@dataclass(frozen=True)
class LabelSource:
    """One 教師データ row, parsed and checked."""

    source_id: str
    record_condition: Condition
    status: str  # 要対協 / 支援中
    enabled: bool
    description: str
    excel_row: int


def _cell(row: pd.Series, header: str) -> str:
    value = row.get(header, "")
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def _parse_row(cells: dict[str, str], excel_row: int, mapping: MappingConfig | None) -> tuple:
    """(LabelSource or None, errors) of one non-blank row."""
    errors: list[ConfigError] = []

    def error(column: str, message: str) -> None:
        errors.append(ConfigError(LABEL_SOURCES.name, excel_row, column, message))

    source_id = cells["ソースID"]
    known_sources = None if mapping is None else {source.source_id for source in mapping.sources}
    if not source_id:
        error("ソースID", "ソースIDが空欄です。取込設定のソースIDを入れてください。")
    elif known_sources is not None and source_id not in known_sources:
        error("ソースID", f"ソースID「{source_id}」は取込設定にありません。")
    status = cells["支援状況"]
    if status not in STATUS_PRIORITY:
        error(
            "支援状況", f"支援状況は {'・'.join(STATUS_PRIORITY)} のどれかにしてください(現在「{status}」)。"
        )
    enabled_text = cells["有効"] or "はい"
    if enabled_text not in YES_NO:
        error("有効", f"有効は はい・いいえ のどちらかにしてください(現在「{enabled_text}」)。")
    condition = None
    try:
        condition = parse_condition(cells["記録条件"])
    except ConditionError as problem:
        error("記録条件", f"記録条件「{cells['記録条件']}」が読めません: {problem.message}")
    if condition is not None and mapping is not None and source_id in (known_sources or set()):
        for problem in check_condition(condition, field_types(mapping, source_id)):
            error("記録条件", problem)
    if errors:
        return None, errors
    source = LabelSource(
        source_id=source_id,
        record_condition=condition,
        status=status,
        enabled=enabled_text == "はい",
        description=cells["説明"],
        excel_row=excel_row,
    )
    return source, []


def parse_label_sources(
    table: pd.DataFrame | None, *, mapping: MappingConfig | None = None
) -> tuple[LabelSource, ...]:
    """Parse the 教師データ tab (all-text frame with the tab's headers; blank rows skipped).

    Args:
        table: The harvested tab; row *i* is Excel row ``LABEL_SOURCES.excel_row(i)``.
        mapping: The parsed mapping tabs; when given, source ids and the fields named in
            記録条件 are checked against 取込設定 and 項目マッピング.

    Returns:
        Every row, enabled or not, in tab order.

    Raises:
        ConfigErrors: Every problem found, each naming 教師データ, the Excel row and the column.
    """
    if table is None or len(table) == 0:
        return ()
    missing = [header for header in _HEADERS if header not in table.columns]
    if missing:
        raise ConfigErrors(
            [ConfigError(LABEL_SOURCES.name, None, header, "列が見つかりません。") for header in missing]
        )
    sources: list[LabelSource] = []
    errors: list[ConfigError] = []
    for position, (_, row) in enumerate(table.reset_index(drop=True).iterrows()):
        cells = {header: _cell(row, header) for header in _HEADERS}
        if not any(cells.values()):
            continue
        source, row_errors = _parse_row(cells, LABEL_SOURCES.excel_row(position), mapping)
        errors += row_errors
        if source is not None:
            sources.append(source)
    if errors:
        raise ConfigErrors(errors)
    return tuple(sources)


def label_source_ids(label_sources: Sequence[LabelSource]) -> tuple[str, ...]:
    """Source ids of the enabled rows (their items are kept out of the model)."""
    return tuple(dict.fromkeys(source.source_id for source in label_sources if source.enabled))


def _matching_residents(store, source: LabelSource, *, mapping: MappingConfig, reference_date) -> set[str]:
    fields = sorted(source.record_condition.fields)
    records = linked_source_records(store, source.source_id, mapping=mapping, fields=fields)
    if len(records) == 0:
        return set()
    columns = {name: records[name] for name in fields if name in records.columns}
    try:
        matched = source.record_condition.evaluate(
            columns, reference_date=pd.Timestamp(reference_date), length=len(records)
        )
    except ConditionError as problem:
        raise ConfigErrors(
            [ConfigError(LABEL_SOURCES.name, source.excel_row, "記録条件", problem.message)]
        ) from None
    return set(records.loc[matched, "resident_id"].astype(str))


def support_status(
    store,
    *,
    label_sources: Sequence[LabelSource],
    children: pd.DataFrame,
    mapping: MappingConfig,
    reference_date,
) -> pd.Series:
    """Support status per child from the linked records of the enabled label sources.

    Args:
        store: The store.
        label_sources: Parsed 教師データ rows.
        children: Frame indexed by resident_id (``ItemResults.children``).
        mapping: Parsed mapping tabs (value-field types).
        reference_date: The run's 基準日 (for date conditions).

    Returns:
        Series named ``support_status`` on ``children.index``: 「要対協」, 「支援中」,
        「支援歴あり」 or 「」.
        The model's label is ``status != ""``.
    """
    index = children.index.astype(str)
    status = pd.Series("", index=children.index, name="support_status", dtype=object)
    known_sources = {source.source_id for source in mapping.sources}
    for wanted in reversed(STATUS_PRIORITY):  # weaker first, so the stronger overwrites
        for source in label_sources:
            if not source.enabled or source.status != wanted:
                continue
            if source.source_id not in known_sources:
                logger.warning("教師データのソース %s は取込設定にありません", source.source_id)
                continue
            residents = _matching_residents(store, source, mapping=mapping, reference_date=reference_date)
            status[index.isin(residents)] = wanted  # hashed: np.isin sorts unicode arrays (5 s on a city)
    counts = status.value_counts()
    logger.info(
        "教師データ: 要対協 %d 人、支援中 %d 人、支援歴あり %d 人",
        counts.get("要対協", 0),
        counts.get("支援中", 0),
        counts.get("支援歴あり", 0),
    )
    return status
