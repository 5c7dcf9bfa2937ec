"""The ``link`` action (名寄せ): every current source linked to the 住民記録 source."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import and_, insert, select

from macros_py.actions import ActionContext, ActionResult
from macros_py.link.crosswalk import load_crosswalk, record_keys, save_decisions
from macros_py.link.match import MatchOptions
from macros_py.link.pipeline import OUTCOMES, link_source
from macros_py.link.prepare import prepare_people
from macros_py.link.query import latest_run_id
from macros_py.link.review import harvest_review, review_rows
from macros_py.sheets import LINK_REVIEW, LOG
from macros_py.store import Store
from macros_py.store.tables_ingest import imports, records
from macros_py.store.tables_link import link_models, links

__all__ = ["current_source_records", "link_action"]

logger = logging.getLogger(__name__)

_RECORD_COLUMNS = [
    "record_id",
    "source_id",
    "resident_id",
    "household_id",
    "name",
    "name_kana",
    "birth_date",
    "sex",
    "address",
    "relationship",
    "school",
    "grade",
    "student_number",
]


def current_source_records(store: Store) -> pd.DataFrame:
    """Records of the latest non-superseded imports of every source."""
    try:
        from macros_py.ingest.query import current_records
    except ImportError:
        current_records = None
    if current_records is not None:
        return current_records(store)
    query = (
        select(*[records.c[c] for c in _RECORD_COLUMNS])
        .select_from(records.join(imports, records.c.import_id == imports.c.import_id))
        .where(and_(imports.c.superseded_by.is_(None), imports.c.status == "stored"))
        .order_by(records.c.record_id)
    )
    with store.engine.connect() as connection:
        rows = connection.execute(query).all()
    return pd.DataFrame(rows, columns=_RECORD_COLUMNS)


def _log_row(user: str, kind: str, text: str) -> dict:
    return {
        "日時": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "利用者": user,
        "操作": "link",
        "区分": kind,
        "内容": text,
    }


def link_action(context: ActionContext) -> ActionResult:
    """Link every current imported source to the resident master and write the links table.

    Staff decisions on the 名寄せ確認 tab are first saved to the crosswalk, so they are
    used in this very run. Returns the new 名寄せ確認 rows and a log.
    """
    started = time.perf_counter()
    settings = context.settings
    store = context.store
    user = context.user_name
    saved = save_decisions(store, harvest_review(context.tables.get(LINK_REVIEW.key)), user)
    all_records = current_source_records(store)
    resident_source = settings.resident_source_id
    master_raw = all_records[all_records["source_id"] == resident_source].reset_index(drop=True)
    log_rows = []
    if master_raw.empty:
        message = (
            f"住民記録(ソースID「{resident_source}」)が取り込まれていません。先に取込を実行してください。"
        )
        return ActionResult(
            "link",
            False,
            summary={"sources": {}},
            tables={"log": pd.DataFrame([_log_row(user, "エラー", message)])},
            messages=[message],
        )
    master = prepare_people(master_raw)
    options = MatchOptions(
        auto_threshold=settings.link_auto_threshold,
        review_threshold=settings.link_review_threshold,
        reference_date=context.reference_date(),
    )
    run_id = (latest_run_id(store) or 0) + 1
    summary: dict[str, dict] = {}
    review_tables = []
    link_rows: list[dict] = []
    for source_id, raw in all_records[all_records["source_id"] != resident_source].groupby(
        "source_id", sort=True
    ):
        raw = raw.reset_index(drop=True)
        prepared = prepare_people(raw)
        keys = record_keys(raw, prepared)
        same, different = load_crosswalk(store, source_id)
        result, model = link_source(
            prepared,
            master,
            options,
            keys=keys,
            same=same,
            different=different,
            extra=raw[["school", "grade"]],
        )
        counts = result["outcome"].value_counts()
        summary[source_id] = {"records": len(raw), **{o: int(counts.get(o, 0)) for o in OUTCOMES}}
        review_tables.append(
            review_rows(
                source_id, raw, keys, result, master_raw, start=1 + sum(len(t) for t in review_tables)
            )
        )
        for record_id, row in zip(raw["record_id"].to_numpy(), result.itertuples(index=False), strict=True):
            link_rows.append(
                {
                    "run_id": run_id,
                    "record_id": int(record_id),
                    "source_id": source_id,
                    "resident_id": row.resident_id or None,
                    "outcome": row.outcome,
                    "method": row.method,
                    "score": float(row.score),
                    "detail_json": json.dumps(
                        {"理由": row.reason, "項目": json.loads(row.detail) if row.detail else {}},
                        ensure_ascii=False,
                    ),
                }
            )
        _remember_auto_links(store, source_id, raw, keys, result, same)
        if model is not None:
            with store.engine.begin() as connection:
                connection.execute(
                    insert(link_models).values(
                        created_at=datetime.now(), source_id=source_id, parameters_json=model.to_json()
                    )
                )
        log_rows.append(
            _log_row(
                user, "情報", f"{source_id}: " + "、".join(f"{k} {v}" for k, v in summary[source_id].items())
            )
        )
    if link_rows:
        with store.engine.begin() as connection:
            connection.execute(insert(links), link_rows)
    review = (
        pd.concat(review_tables, ignore_index=True)
        if review_tables
        else pd.DataFrame(columns=LINK_REVIEW.headers)
    )
    seconds = time.perf_counter() - started
    totals = {o: sum(s[o] for s in summary.values()) for o in OUTCOMES}
    counts_text = (
        f"{len(summary)}ソース {sum(s['records'] for s in summary.values())}件: 宛名番号 {totals['exact']}、対応表 {totals['crosswalk']}、"
        f"自動 {totals['auto']}、要確認 {totals['review'] + totals['conflict']}、不一致 {totals['none']}"
    )
    if saved:
        log_rows.insert(0, _log_row(user, "情報", f"名寄せ確認の判定 {saved} 件を対応表に記録しました。"))
    log_rows.append(_log_row(user, "情報", f"{counts_text}({seconds:.1f}秒)"))
    return ActionResult(
        "link",
        True,
        summary={
            "run_id": run_id,
            "sources": summary,
            "decisions_saved": saved,
            "seconds": round(seconds, 2),
        },
        tables={LINK_REVIEW.key: review, LOG.key: pd.DataFrame(log_rows, columns=LOG.headers)},
        messages=[counts_text],
        counts=counts_text,
    )


def _remember_auto_links(
    store: Store,
    source_id: str,
    raw: pd.DataFrame,
    keys: pd.Series,
    result: pd.DataFrame,
    same: dict[str, str],
) -> None:
    """Keep automatic links of records with a student number as confirmed crosswalk rows."""
    if "student_number" not in raw.columns:
        return
    has_number = raw["student_number"].fillna("").astype(str).str.strip() != ""
    chosen = (result["outcome"] == "auto").to_numpy() & has_number.to_numpy()
    fresh = [k not in same for k in keys.to_numpy()]
    chosen &= np.array(fresh, dtype=bool)
    if not chosen.any():
        return
    decisions = pd.DataFrame(
        {
            "source_id": source_id,
            "source_key": keys.to_numpy()[chosen],
            "resident_id": result["resident_id"].to_numpy()[chosen],
            "decision": "同一",
            "note": "自動照合で確定",
        }
    )
    save_decisions(store, decisions, "自動照合")
