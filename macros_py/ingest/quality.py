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
from sqlalchemy import case, func, insert, select

from macros_py.ingest.mapping import MappingConfig, SourceSpec
from macros_py.ingest.query import current_records_query, import_history, import_records_query
from macros_py.sheets import FRESHNESS, QUALITY_REPORT
from macros_py.store import Store
from macros_py.store.tables_ingest import import_field_counts
from macros_py.vocabulary import FIELD_BY_LABEL

__all__ = ["ALLOWED_AGE_DAYS", "freshness_label", "freshness_table", "quality_report"]

# How old an extract may be (days before 基準日) and still be current, per 更新頻度.
ALLOWED_AGE_DAYS: dict[str, int | None] = {
    "日次": 3,  # a Friday extract is still current on Monday
    "週次": 7,
    "月次": 31,
    "学期": 122,
    "年次": 366,
    "随時": None,
}


def _age_days(extract: object, reference_date: dt.date) -> int | None:
    """Days from the extract date to 基準日; negative when the extract is dated later."""
    if extract is None or extract == "" or pd.isna(extract):
        return None
    return (reference_date - pd.Timestamp(extract).date()).days


def freshness_label(age: int | None, rhythm: str) -> str:
    """The 鮮度 staff read for an extract ``age`` days old and a source's 更新頻度.

    Never a negative number of days: an extract dated after 基準日 (a wrong 基準日 or
    extract date) is named as such.

    >>> freshness_label(None, "月次"), freshness_label(10, "月次"), freshness_label(40, "月次")
    ('未取込', '最新(10日前)', '古い(40日前・月次)')
    >>> freshness_label(-3, "週次"), freshness_label(400, "随時")
    ('最新(抽出日が基準日より後)', '随時(400日前)')
    """
    if age is None:
        return "未取込"
    if age < 0:
        return "最新(抽出日が基準日より後)"
    allowed = ALLOWED_AGE_DAYS.get(rhythm)
    if allowed is None:
        return f"随時({age}日前)"
    return f"最新({age}日前)" if age <= allowed else f"古い({age}日前・{rhythm})"


def _timeliness(age: int | None, rhythm: str) -> float | None:
    allowed = ALLOWED_AGE_DAYS.get(rhythm)
    if age is None or allowed is None:
        return None
    if age <= allowed:
        return 1.0
    return round(max(0.0, 1.0 - (age - allowed) / allowed), 3)


def _backfill_counts(connection, config: MappingConfig, source: SourceSpec, import_id: int) -> dict[str, int]:
    """Filled counts of an import stored before they were counted at import time (once)."""
    rows = import_records_query(import_id).subquery("rows")
    columns = [func.count().label("rows")]
    labels = list(dict.fromkeys(m.target for m in config.columns_of(source.source_id)))
    for number, label in enumerate(labels):
        canonical = FIELD_BY_LABEL.get(label)
        if canonical is not None:
            columns.append(func.count(rows.c[canonical.identifier]).label(f"f{number}"))
            continue
        key = json.dumps(label, ensure_ascii=False) + ": "
        present = func.sum(case((rows.c.values_json.contains(key, autoescape=True), 1), else_=0))
        null = func.sum(case((rows.c.values_json.contains(key + "null", autoescape=True), 1), else_=0))
        columns.append((func.coalesce(present, 0) - func.coalesce(null, 0)).label(f"f{number}"))
    found = connection.execute(select(*columns)).mappings().one()
    counts = {label: int(found[f"f{number}"] or 0) for number, label in enumerate(labels)}
    if counts:
        connection.execute(
            insert(import_field_counts),
            [{"import_id": import_id, "field": label, "filled": n} for label, n in counts.items()],
        )
    return counts


def _scan_duplicates(connection, source_id: str) -> tuple[int, int]:
    """(duplicate records, duplicate 宛名番号) over a source's whole current extract."""
    current = current_records_query(source_id).subquery("cur")
    keys = pd.DataFrame(
        connection.execute(select(current.c.record_hash, current.c.resident_id)).all(),
        columns=["record_hash", "resident_id"],
    )
    return int(keys["record_hash"].duplicated().sum()), int(keys["resident_id"].dropna().duplicated().sum())


def _current_ids(connection, source_id: str, column: str) -> pd.Index:
    """A column of a source's current records (non-empty values, duplicates kept)."""
    current = current_records_query(source_id).subquery("cur")
    result = connection.execute(select(current.c[column]).where(current.c[column].is_not(None)))
    # Plain DB-API rows: building SQLAlchemy rows costs more than the query itself here.
    return pd.Index([value for (value,) in result.cursor.fetchall()], dtype=object)


def _unknown_ids(connection, resident_source_id: str, checks: dict[str, str]) -> dict[str, int]:
    """Per source, rows whose 宛名番号 (or 世帯番号) is not in the current 住民記録.

    ``checks`` maps a source ID to the column checked.
    """
    known = {column: _current_ids(connection, resident_source_id, column) for column in set(checks.values())}
    return {
        source_id: int((~_current_ids(connection, source_id, column).isin(known[column])).sum())
        for source_id, column in checks.items()
    }


def _statistics(
    store: Store, config: MappingConfig, resident_source_id: str, history: pd.DataFrame
) -> dict[str, dict]:
    """Per-source figures of the current extracts, from the counts kept per import.

    Rows, filled cells and within-file duplicates were counted while importing; only
    extracts made of several files (duplicates across files), imports stored by an older
    version, and the 住民記録 cross-check read records back.
    """
    current = history[history["current"]] if len(history) else history
    statistics: dict[str, dict] = {}
    with store.engine.begin() as connection:
        import_ids = [int(value) for value in current["import_id"]] if len(current) else []
        kept = pd.DataFrame(
            connection.execute(
                select(
                    import_field_counts.c.import_id, import_field_counts.c.field, import_field_counts.c.filled
                ).where(import_field_counts.c.import_id.in_(import_ids))
            ).all(),
            columns=["import_id", "field", "filled"],
        )
        checks: dict[str, str] = {}
        for source in config.sources:
            if not source.enabled:
                continue
            mine = current[current["source_id"] == source.source_id] if len(current) else current
            rows = int((mine["rows_read"] - mine["rows_quarantined"]).sum()) if len(mine) else 0
            filled: dict[str, int] = {}
            for import_id in mine["import_id"] if len(mine) else []:
                counts = kept[kept["import_id"] == import_id]
                if counts.empty and len(mine):
                    found = _backfill_counts(connection, config, source, int(import_id))
                else:
                    found = dict(zip(counts["field"], counts["filled"], strict=True))
                for label, count in found.items():
                    filled[label] = filled.get(label, 0) + int(count)
            row: dict = {"rows": rows, "filled": filled, "duplicate_hash": 0, "duplicate_resident": 0}
            if rows:
                stored_counts = mine[["duplicate_records", "duplicate_resident_ids"]]
                if len(mine) == 1 and stored_counts.notna().all(axis=None):
                    row["duplicate_hash"] = int(stored_counts["duplicate_records"].iloc[0])
                    row["duplicate_resident"] = int(stored_counts["duplicate_resident_ids"].iloc[0])
                else:
                    row["duplicate_hash"], row["duplicate_resident"] = _scan_duplicates(
                        connection, source.source_id
                    )
            if rows and source.source_id != resident_source_id:
                for column, label in (("resident_id", "宛名番号"), ("household_id", "世帯番号")):
                    if filled.get(label):
                        checks[source.source_id] = column
                        break
            statistics[source.source_id] = row
        for source_id, unknown in _unknown_ids(connection, resident_source_id, checks).items():
            key = "unknown_resident" if checks[source_id] == "resident_id" else "unknown_household"
            statistics[source_id][key] = int(unknown)
    return statistics


def _completeness(row: dict | None, config: MappingConfig, source: SourceSpec) -> float | None:
    if not row or not row["rows"]:
        return None
    shares = [
        row["filled"].get(target, 0) / row["rows"]
        for target in dict.fromkeys(m.target for m in config.columns_of(source.source_id))
    ]
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
    if age is not None and age < 0:
        notes.append(f"抽出日が基準日より {-age} 日後です(基準日か抽出日を確認してください)")
    consistency = None
    if count and has_residents and source.source_id != resident_source_id:
        for unknown_key, label in (("unknown_resident", "宛名番号"), ("unknown_household", "世帯番号")):
            filled = int(row["filled"].get(label, 0))
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
    stats = _statistics(store, config, resident_source_id, history)
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
    labels = [
        freshness_label(_age_days(extract, reference_date), rhythm.get(source_id, "随時"))
        for source_id, extract in zip(quality["ソースID"], quality["抽出日"], strict=True)
    ]
    frame = quality[["ソースID", "名称", "抽出日", "最終取込", "件数"]].copy()
    frame["鮮度"] = labels
    return frame[FRESHNESS.headers].reset_index(drop=True)
