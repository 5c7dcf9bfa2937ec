"""品質レポート and freshness: per-source data quality of the current extracts.

Scores are shares between 0 and 1 (empty when a dimension does not apply):

* 完全性 completeness: share of filled cells over the fields the source maps;
* 妥当性 validity: share of rows read that passed validation (not quarantined);
* 一意性 uniqueness: share of rows that are not duplicates (宛名番号 for the resident
  source, whole identical records otherwise);
* 適時性 timeliness: 1 while the extract is younger than its update rhythm allows,
  falling to 0 at twice that age;
* 整合性 consistency: share of 宛名番号 (or 世帯番号) found in the current 住民記録.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
from sqlalchemy import case, func, select

from macros_py.ingest.mapping import MappingConfig, SourceSpec
from macros_py.ingest.query import current_records_query, import_history
from macros_py.sheets import FRESHNESS, QUALITY_REPORT
from macros_py.store import Store
from macros_py.vocabulary import CANONICAL_FIELDS, FIELD_BY_LABEL

__all__ = ["ALLOWED_AGE_DAYS", "freshness_table", "quality_report"]

ALLOWED_AGE_DAYS: dict[str, int | None] = {
    "日次": 1,
    "週次": 7,
    "月次": 31,
    "学期": 122,
    "年次": 366,
    "随時": None,
}


def _age_days(extract: object, reference_date: dt.date) -> int | None:
    if extract is None or pd.isna(extract):
        return None
    return (reference_date - pd.Timestamp(extract).date()).days


def _timeliness(age: int | None, rhythm: str) -> float | None:
    allowed = ALLOWED_AGE_DAYS.get(rhythm)
    if age is None or allowed is None:
        return None
    if age <= allowed:
        return 1.0
    return round(max(0.0, 1.0 - (age - allowed) / allowed), 3)


def _source_statistics(
    connection, config: MappingConfig, source: SourceSpec, resident_source_id: str, known: dict[str, pd.Index]
) -> dict:
    """Counts of one source's current records, computed in the database."""
    cur = current_records_query(source.source_id).subquery("cur")
    columns = [
        func.count().label("rows"),
        *[func.count(cur.c[field.identifier]).label(field.identifier) for field in CANONICAL_FIELDS],
    ]
    value_targets = [
        target
        for target in dict.fromkeys(m.target for m in config.columns_of(source.source_id))
        if target not in FIELD_BY_LABEL
    ]
    for number, target in enumerate(value_targets):
        pattern = json.dumps(target, ensure_ascii=False) + ": null"
        columns.append(
            func.sum(case((cur.c.values_json.contains(pattern, autoescape=True), 1), else_=0)).label(
                f"v{number}"
            )
        )
    row = dict(connection.execute(select(*columns)).mappings().one())
    row["value_nulls"] = {target: int(row[f"v{number}"] or 0) for number, target in enumerate(value_targets)}
    keys = pd.DataFrame(
        list(
            map(tuple, connection.execute(select(cur.c.record_hash, cur.c.resident_id, cur.c.household_id)))
        ),
        columns=["record_hash", "resident_id", "household_id"],
    )
    row["duplicate_hash"] = int(keys["record_hash"].duplicated().sum())
    row["duplicate_resident"] = int(keys["resident_id"].dropna().duplicated().sum())
    if source.source_id != resident_source_id and row["rows"]:
        for column, key in (("resident_id", "unknown_resident"), ("household_id", "unknown_household")):
            values = keys[column].dropna()
            if values.empty:
                continue
            row[key] = int((known[column].get_indexer(pd.Index(values.to_numpy(dtype=object))) < 0).sum())
            break
    return row


def _statistics(store: Store, config: MappingConfig, resident_source_id: str) -> dict[str, dict]:
    """Per-source counts computed in the database (no records are loaded into memory)."""
    residents = current_records_query(resident_source_id).subquery("residents")
    known: dict[str, pd.Index] = {}
    with store.engine.connect() as connection:
        for column in ("resident_id", "household_id"):
            ids = connection.execute(
                select(func.distinct(residents.c[column])).where(residents.c[column].is_not(None))
            ).scalars()
            known[column] = pd.Index(list(ids), dtype=object)
        return {
            source.source_id: _source_statistics(connection, config, source, resident_source_id, known)
            for source in config.sources
            if source.enabled
        }


def _completeness(row: dict | None, config: MappingConfig, source: SourceSpec) -> float | None:
    if not row or not row["rows"]:
        return None
    shares = []
    for target in dict.fromkeys(m.target for m in config.columns_of(source.source_id)):
        canonical = FIELD_BY_LABEL.get(target)
        if canonical is not None:
            shares.append(row[canonical.identifier] / row["rows"])
        else:
            shares.append(1.0 - row["value_nulls"].get(target, 0) / row["rows"])
    return round(float(np.mean(shares)), 3) if shares else None


def _source_row(
    source: SourceSpec,
    row: dict | None,
    imports_of_source: pd.DataFrame,
    has_residents: bool,
    resident_source_id: str,
    reference_date: dt.date,
) -> dict:
    current = imports_of_source[imports_of_source["current"]] if len(imports_of_source) else imports_of_source
    notes: list[str] = []
    extract = current["extract_date"].max() if len(current) else None
    last = imports_of_source["imported_at"].max() if len(imports_of_source) else None
    if len(current) == 0:
        notes.append("まだ取り込まれていません")
    read = int(current["rows_read"].sum()) if len(current) else 0
    bad = int(current["rows_quarantined"].sum()) if len(current) else 0
    validity = round(1.0 - bad / read, 3) if read else None
    if bad:
        notes.append(f"取込エラー {bad} 行")
    count = int(row["rows"]) if row else 0
    uniqueness = None
    if count:
        if source.source_id == resident_source_id:
            duplicates = row["duplicate_resident"]
        else:
            duplicates = row["duplicate_hash"]
        uniqueness = round(1.0 - duplicates / count, 3)
        if duplicates:
            notes.append(f"重複 {duplicates} 件")
    age = _age_days(extract, reference_date)
    timeliness = _timeliness(age, source.update_rhythm)
    if timeliness is not None and timeliness < 1.0:
        notes.append(f"抽出日が {age} 日前です(更新頻度: {source.update_rhythm})")
    consistency = None
    if count and has_residents and source.source_id != resident_source_id:
        for column, unknown_key, label in (
            ("resident_id", "unknown_resident", "宛名番号"),
            ("household_id", "unknown_household", "世帯番号"),
        ):
            filled = int(row[column])
            if filled:
                unknown = int(row.get(unknown_key) or 0)
                consistency = round(1.0 - unknown / filled, 3)
                if unknown:
                    notes.append(f"住民記録にない{label} {unknown} 件")
                break
    return {
        "ソースID": source.source_id,
        "名称": source.name,
        "抽出日": "" if extract is None or pd.isna(extract) else pd.Timestamp(extract).date().isoformat(),
        "最終取込": "" if last is None or pd.isna(last) else pd.Timestamp(last).strftime("%Y-%m-%d %H:%M"),
        "件数": count,
        "完全性": None,
        "妥当性": validity,
        "一意性": uniqueness,
        "適時性": timeliness,
        "整合性": consistency,
        "注意": "、".join(notes),
    }


def quality_report(
    store: Store, config: MappingConfig, reference_date: dt.date, resident_source_id: str = "jumin"
) -> pd.DataFrame:
    """The 品質レポート table: one row per enabled source, columns as the sheet's headers."""
    history = import_history(store)
    stats = _statistics(store, config, resident_source_id)
    has_residents = bool(stats.get(resident_source_id, {}).get("rows"))
    rows = []
    for source in config.sources:
        if not source.enabled:
            continue
        row = _source_row(
            source,
            stats.get(source.source_id),
            history[history["source_id"] == source.source_id] if len(history) else history,
            has_residents,
            resident_source_id,
            reference_date,
        )
        row["完全性"] = _completeness(stats.get(source.source_id), config, source)
        rows.append(row)
    return pd.DataFrame(rows, columns=QUALITY_REPORT.headers)


def freshness_table(quality: pd.DataFrame, config: MappingConfig, reference_date: dt.date) -> pd.DataFrame:
    """The 操作 tab freshness table, derived from the quality report rows."""
    rhythm = {source.source_id: source.update_rhythm for source in config.sources}
    labels = []
    for source_id, extract in zip(quality["ソースID"], quality["抽出日"], strict=True):
        if not extract:
            labels.append("未取込")
            continue
        age = _age_days(extract, reference_date)
        allowed = ALLOWED_AGE_DAYS.get(rhythm.get(source_id, "随時"))
        stale = allowed is not None and age is not None and age > allowed
        labels.append(f"古い({age}日前)" if stale else f"最新({age}日前)")
    frame = quality[["ソースID", "名称", "抽出日", "最終取込", "件数"]].copy()
    frame["鮮度"] = labels
    return frame[FRESHNESS.headers].reset_index(drop=True)
