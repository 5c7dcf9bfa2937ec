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

import numpy as np
import pandas as pd

from macros_py.ingest.mapping import MappingConfig, SourceSpec
from macros_py.ingest.query import current_records, import_history
from macros_py.sheets import FRESHNESS, QUALITY_REPORT
from macros_py.store import Store
from macros_py.vocabulary import FIELD_BY_LABEL

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


def _completeness(frame: pd.DataFrame, config: MappingConfig, source: SourceSpec) -> float | None:
    if frame.empty:
        return None
    shares = []
    for target in dict.fromkeys(m.target for m in config.columns_of(source.source_id)):
        canonical = FIELD_BY_LABEL.get(target)
        if canonical is not None:
            shares.append(float(frame[canonical.identifier].notna().mean()))
        elif frame["values_json"].notna().any():
            missing = frame["values_json"].str.contains(f'"{target}": null', regex=False).fillna(True)
            shares.append(float(1.0 - missing.mean()))
    return round(float(np.mean(shares)), 3) if shares else None


def _ids(frame: pd.DataFrame, column: str) -> pd.Index:
    return pd.Index(frame[column].dropna().astype("str").to_numpy(dtype=object)).unique()


def _source_row(
    source: SourceSpec,
    frame: pd.DataFrame,
    imports_of_source: pd.DataFrame,
    resident_ids: pd.Index,
    household_ids: pd.Index,
    resident_source_id: str,
    reference_date: dt.date,
) -> dict:
    current = imports_of_source[imports_of_source["current"]]
    notes: list[str] = []
    extract = current["extract_date"].max() if len(current) else None
    last = imports_of_source["imported_at"].max() if len(imports_of_source) else None
    if current.empty:
        notes.append("まだ取り込まれていません")
    read = int(current["rows_read"].sum())
    bad = int(current["rows_quarantined"].sum())
    validity = round(1.0 - bad / read, 3) if read else None
    if bad:
        notes.append(f"取込エラー {bad} 行")
    key = "resident_id" if source.source_id == resident_source_id else "record_hash"
    duplicates = int(frame[key].dropna().duplicated().sum()) if len(frame) else 0
    uniqueness = round(1.0 - duplicates / len(frame), 3) if len(frame) else None
    if duplicates:
        notes.append(f"重複 {duplicates} 件")
    age = _age_days(extract, reference_date)
    timeliness = _timeliness(age, source.update_rhythm)
    if timeliness is not None and timeliness < 1.0:
        notes.append(f"抽出日が {age} 日前です(更新頻度: {source.update_rhythm})")
    consistency = None
    if source.source_id != resident_source_id and len(resident_ids) and len(frame):
        for column, known, label in (
            ("resident_id", resident_ids, "宛名番号"),
            ("household_id", household_ids, "世帯番号"),
        ):
            values = frame[column].dropna().astype("str")
            if len(values):
                unknown = int((known.get_indexer(values.to_numpy(dtype=object)) < 0).sum())
                consistency = round(1.0 - unknown / len(values), 3)
                if unknown:
                    notes.append(f"住民記録にない{label} {unknown} 件")
                break
    return {
        "ソースID": source.source_id,
        "名称": source.name,
        "抽出日": "" if extract is None or pd.isna(extract) else pd.Timestamp(extract).date().isoformat(),
        "最終取込": "" if last is None or pd.isna(last) else pd.Timestamp(last).strftime("%Y-%m-%d %H:%M"),
        "件数": len(frame),
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
    residents = current_records(store, resident_source_id)
    resident_ids, household_ids = _ids(residents, "resident_id"), _ids(residents, "household_id")
    rows = []
    for source in config.sources:
        if not source.enabled:
            continue
        frame = (
            residents if source.source_id == resident_source_id else current_records(store, source.source_id)
        )
        row = _source_row(
            source,
            frame,
            history[history["source_id"] == source.source_id] if len(history) else history,
            resident_ids,
            household_ids,
            resident_source_id,
            reference_date,
        )
        row["完全性"] = _completeness(frame, config, source)
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
