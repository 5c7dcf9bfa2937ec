"""The 名寄せ不一致 tab: records that should be residents but were linked to nobody.

A source whose 取込設定 対象者 says its records are residents (全住民, 児童, 保護者,
世帯員) should have few records without a resident; those it has are a typing error,
someone who moved away, or a matching miss, and staff need to see them. The tab lists
them per source (capped), with the file and row they came from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import select

from macros_py.sheets import LINK_UNMATCHED
from macros_py.store import Store
from macros_py.store.tables_ingest import records as records_table

__all__ = ["RESIDENT_SUBJECTS", "UNMATCHED_ROWS_PER_SOURCE", "resident_sources", "unmatched_rows"]

# 対象者 values whose records should all be residents of the municipality.
RESIDENT_SUBJECTS = ("全住民", "児童", "保護者", "世帯員")
# Rows shown per source: enough to see a pattern, short enough for a meeting.
UNMATCHED_ROWS_PER_SOURCE = 300

_REASON = "住民記録に該当する人が見つかりませんでした"


def resident_sources(sources: pd.DataFrame | None) -> set[str]:
    """ソースIDs whose 対象者 (取込設定) says every record should be a resident."""
    if sources is None or sources.empty or "対象者" not in sources.columns:
        return set()
    frame = sources.fillna("").astype(str)
    chosen = frame["対象者"].str.strip().isin(RESIDENT_SUBJECTS)
    return set(frame.loc[chosen, "ソースID"].str.strip()) - {""}


def _locations(store: Store, record_ids: np.ndarray) -> pd.DataFrame:
    """file_name and row_number of the given records (indexed by record_id)."""
    wanted = [int(i) for i in record_ids]
    rows: list = []
    with store.engine.connect() as connection:
        for start in range(0, len(wanted), 5_000):
            part = wanted[start : start + 5_000]
            statement = select(
                records_table.c.record_id, records_table.c.file_name, records_table.c.row_number
            ).where(records_table.c.record_id.in_(part))
            rows.extend(tuple(row) for row in connection.execute(statement))
    return pd.DataFrame(rows, columns=["record_id", "file_name", "row_number"]).set_index("record_id")


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return np.array(["" if v is None or v != v else str(v) for v in frame[column]], dtype=object)


def unmatched_rows(
    store: Store,
    records: pd.DataFrame,
    keys: pd.Series,
    outcomes: pd.Series,
    *,
    sources: set[str],
    source_names: dict[str, str],
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Rows of the 名寄せ不一致 tab and the count of unmatched records per listed source.

    Args:
        store: to read each listed record's file and row.
        records: the linked records (``record_id``, ``source_id`` and the canonical
            identifiers), aligned with ``keys`` and ``outcomes``.
        keys: record keys.
        outcomes: each record's link outcome (``none`` = unmatched).
        sources: the sources whose records should all be residents.
        source_names: ソースID → 名称.
    """
    source = records["source_id"].to_numpy(dtype=object)
    # Hashed membership: numpy's isin would sort a million object values.
    listed = pd.Index(source, dtype=object).isin(list(sources))
    unmatched = (outcomes.to_numpy(dtype=object) == "none") & listed
    chosen = records[unmatched]
    counts = {str(k): int(v) for k, v in chosen["source_id"].value_counts().sort_index().items()}
    shown = chosen.groupby("source_id", sort=True, group_keys=False).head(UNMATCHED_ROWS_PER_SOURCE)
    shown = shown.sort_values(["source_id", "record_id"], kind="stable")
    where = _locations(store, shown["record_id"].to_numpy(np.int64)).reindex(shown["record_id"].to_numpy())
    birth = _text(shown, "birth_date")
    table = pd.DataFrame(
        {
            "ソース名": [source_names.get(s, s) for s in shown["source_id"]],
            "ソースID": shown["source_id"].to_numpy(dtype=object),
            "ファイル": where["file_name"].fillna("").to_numpy(dtype=object),
            "行": where["row_number"].to_numpy(dtype=object),
            "レコードキー": keys.to_numpy(dtype=object)[unmatched][_positions(chosen, shown)],
            "氏名": _text(shown, "name"),
            "カナ": _text(shown, "name_kana"),
            "生年月日": np.array([b[:10] for b in birth], dtype=object),
            "性別": _text(shown, "sex"),
            "住所": _text(shown, "address"),
            "学校": _text(shown, "school"),
            "学年": _text(shown, "grade"),
            "理由": _REASON,
        },
        columns=LINK_UNMATCHED.headers,
    )
    return table.reset_index(drop=True), counts


def _positions(chosen: pd.DataFrame, shown: pd.DataFrame) -> np.ndarray:
    """Positions in ``chosen`` of the rows of ``shown`` (both indexed like the records)."""
    return pd.Index(chosen.index).get_indexer(shown.index)
