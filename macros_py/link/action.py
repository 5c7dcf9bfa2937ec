"""The ``link`` action (名寄せ): every current source linked to the 住民記録 source."""

from __future__ import annotations

import logging
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

import numpy as np
import pandas as pd

from macros_py.actions import ActionContext, ActionResult
from macros_py.config.errors import ConfigErrors
from macros_py.link.arrays import object_frame
from macros_py.link.crosswalk import AUTO_CONFIRMED_BY, crosswalk_rows, load_decisions
from macros_py.link.decision_rules import link_rules_from_tab
from macros_py.link.decisions_tab import decisions_table, harvest_revocations
from macros_py.link.match import MatchOptions
from macros_py.link.pipeline import OUTCOMES, LinkRun, link_records, prepare_master
from macros_py.link.prepare import start_people_keys, text_values
from macros_py.link.query import latest_run_id, linkable_records, records_by_id
from macros_py.link.review import harvest_review, review_rows, source_names
from macros_py.link.unmatched import resident_sources, unmatched_rows
from macros_py.sheets import LINK_DECISIONS, LINK_REVIEW, LINK_RULES, LINK_UNMATCHED, LOG, SOURCES
from macros_py.store import Store
from macros_py.store.bulk import bulk_insert
from macros_py.store.tables_link import crosswalk, link_models, links

__all__ = ["current_source_records", "link_action"]

logger = logging.getLogger(__name__)

_ROSTER_NUMBER = re.compile(r'"出席番号":\s*"?(\d+)')


def current_source_records(store: Store) -> pd.DataFrame:
    """Records of the latest non-superseded imports of every source (linkage columns)."""
    return linkable_records(store)


def _log_row(user: str, kind: str, text: str) -> dict:
    return {
        "日時": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "利用者": user,
        "操作": "link",
        "区分": kind,
        "内容": text,
    }


def _roster_numbers(frame: pd.DataFrame) -> pd.Series:
    """出席番号 from the value fields (``values_json``) of records that have a class."""
    out = pd.Series("", index=frame.index, dtype=object)
    if "values_json" not in frame.columns or "class_name" not in frame.columns:
        return out
    has_class = frame["class_name"].notna().to_numpy()
    search = _ROSTER_NUMBER.search
    found = [
        search(value) if isinstance(value, str) else None
        for value in frame["values_json"].to_numpy()[has_class]
    ]
    out[has_class] = np.array([match.group(1) if match else "" for match in found] + [""], dtype=object)[:-1]
    return out


def _links_rows(run_id: int, records: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Rows of the links table, built column-wise."""
    detail = links["detail"].to_numpy(dtype=object)
    reason = links["reason"].to_numpy(dtype=object)
    # Most links (宛名番号 joins) have neither reason nor detail: one shared text for them.
    detail_json = np.full(len(links), '{"理由": "", "項目": {}}', dtype=object)
    explained = (reason != "") | (detail != "")
    detail_json[explained] = (
        '{"理由": "'
        + reason[explained]
        + '", "項目": '
        + np.where(detail[explained] == "", "{}", detail[explained])
        + "}"
    )
    resident = links["resident_id"].to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "run_id": run_id,
            "record_id": records["record_id"].to_numpy(np.int64),
            "source_id": records["source_id"].to_numpy(dtype=object),
            "resident_id": np.where(resident == "", None, resident),
            "outcome": links["outcome"].to_numpy(dtype=object),
            "method": links["method"].to_numpy(dtype=object),
            "score": links["score"].to_numpy(float),
            "detail_json": detail_json,
        },
        dtype=object,
    )


# Links written per slice of records: a metropolis's two million rows would otherwise
# exist three times over (frame, value lists, statement grid).
LINKS_PER_SLICE = 250_000


class _LinksWriter:
    """Inserts a run's ``links`` rows (and its decisions and model) on a background thread, in one transaction.

    The 宛名番号 joins (most records) are final before matching starts; writing them
    while the records without a number are matched overlaps SQLite's work with
    matching. Nothing is visible to other readers until :meth:`finish` commits; on
    :meth:`abort` (or any error) the transaction is rolled back. The caller must not
    write to the store itself before :meth:`finish`: staff decisions, confirmed links
    and the model go through :meth:`put_rows`, so that a failing run stores none of them
    (a stored decision that broke every later run could not be undone by staff).
    """

    def __init__(self, store: Store, run_id: int) -> None:
        self._store = store
        self._run_id = run_id
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="links-writer")
        self._futures: list[Future] = []
        self._connection = None
        self._transaction = None

    def put(self, records: pd.DataFrame, result: pd.DataFrame) -> None:
        """Queue the links rows of ``records`` (their outcomes in ``result``, aligned)."""
        for start in range(0, len(records), LINKS_PER_SLICE):
            part = slice(start, start + LINKS_PER_SLICE)
            self._futures.append(self._executor.submit(self._insert, records.iloc[part], result.iloc[part]))

    def put_rows(self, table, frame: pd.DataFrame) -> None:
        """Queue rows of another table (decisions, the model) for the same transaction."""
        if not frame.empty:
            self._futures.append(self._executor.submit(self._insert_rows, table, frame))

    def _begin(self):
        if self._connection is None:
            self._connection = self._store.engine.connect()
            self._transaction = self._connection.begin()
        return self._connection

    def _insert(self, records: pd.DataFrame, result: pd.DataFrame) -> None:
        bulk_insert(self._begin(), links, _links_rows(self._run_id, records, result))

    def _insert_rows(self, table, frame: pd.DataFrame) -> None:
        bulk_insert(self._begin(), table, frame)

    def _end(self, commit: bool) -> None:
        if self._connection is None:
            return
        try:
            if commit:
                self._transaction.commit()
            else:
                self._transaction.rollback()
        finally:
            self._connection.close()
            self._connection = None

    def finish(self) -> None:
        """Wait for every queued row, then commit (roll back and raise on an error)."""
        try:
            for future in self._futures:
                future.result()
        except BaseException:
            self.abort()
            raise
        self._executor.submit(self._end, True).result()
        self._executor.shutdown()

    def abort(self) -> None:
        """Roll back whatever was written."""
        for future in self._futures:
            future.cancel()
        self._executor.submit(self._end, False).result()
        self._executor.shutdown()


def _exact_links(master_ids: np.ndarray, master_positions: np.ndarray) -> pd.DataFrame:
    """Links of 宛名番号 joins, in the shape of :attr:`LinkRun.links`."""
    count = len(master_positions)
    return object_frame(
        {
            "master": master_positions,
            "resident_id": master_ids[master_positions].astype(object),
            "outcome": np.full(count, "exact", dtype=object),
            "method": np.full(count, "宛名番号", dtype=object),
            "score": np.ones(count),
            "reason": np.full(count, "", dtype=object),
            "detail": np.full(count, "", dtype=object),
        }
    )


def link_action(context: ActionContext) -> ActionResult:
    """Link every current imported source to the resident master and write the links table.

    Staff decisions on the 名寄せ確認 tab (and revocations on the 名寄せ判定 tab) are
    applied in this very run and stored in the run's own transaction: a run that fails
    stores none of them. A 判定 or 取消 that does not fit the pair on its row stops the
    run before anything is stored. The master is prepared once, the model trained once
    for all sources (and saved in ``link_models``). Returns the new 名寄せ確認, 名寄せ判定
    and 名寄せ不一致 rows and a Japanese log.
    """
    started = time.perf_counter()
    settings = context.settings
    store = context.store
    user = context.user_name
    names = source_names(context.tables.get(SOURCES.key))
    staff = harvest_review(context.tables.get(LINK_REVIEW.key))
    revoked = harvest_revocations(context.tables.get(LINK_DECISIONS.key), store)
    if staff.problems or revoked.problems:
        return _refused(user, [*staff.problems, *revoked.problems])
    try:
        rules = link_rules_from_tab(context.tables.get(LINK_RULES.key))
    except ConfigErrors as error:
        return _refused(user, [problem.as_japanese() for problem in error.errors])
    resident_source = settings.resident_source_id
    stages: dict[str, float] = {}
    loaded = _load(store, resident_source, stages, started)
    if loaded is None:
        message = (
            f"住民記録(ソースID「{resident_source}」)が取り込まれていません。先に取込を実行してください。"
        )
        return _refused(user, [message], summary={"sources": {}})
    master, master_record_ids, raw = loaded
    options = MatchOptions(
        auto_threshold=settings.link_auto_threshold,
        review_threshold=settings.link_review_threshold,
        reference_date=context.reference_date(),
        rules=rules,
    )
    stored = load_decisions(store)
    fresh = crosswalk_rows(pd.concat([staff.decisions, revoked.decisions], ignore_index=True), user)
    # Staff decisions count in this run as the newest ones; they are stored with its links.
    decisions = pd.concat([stored, fresh[stored.columns]], ignore_index=True) if len(fresh) else stored
    run_id = (latest_run_id(store) or 0) + 1
    writer = _LinksWriter(store, run_id)
    writer.put_rows(crosswalk, fresh)
    run, written = _link(raw, master, options, decisions, writer)
    del master  # the prepared master is not needed for writing
    stages.update(run.stats["seconds"])
    step = time.perf_counter()
    keys = pd.Series(run.keys, dtype=object)
    _write_rest(writer, raw, keys, run, decisions, written)
    review = _review(store, raw, keys, run.links, master_record_ids, names, staff.memos)
    unmatched, unmatched_counts = unmatched_rows(
        store,
        raw,
        keys,
        run.links["outcome"],
        sources=resident_sources(context.tables.get(SOURCES.key)),
        source_names=names,
    )
    tables = {
        LINK_REVIEW.key: review,
        LINK_DECISIONS.key: decisions_table(store, names),
        LINK_UNMATCHED.key: unmatched,
    }
    stages["write"] = time.perf_counter() - step
    return _result(
        user,
        run_id=run_id,
        raw=raw,
        run=run,
        tables=tables,
        names=names,
        saved=len(staff.decisions),
        revoked=len(revoked.decisions),
        unmatched=unmatched_counts,
        notes=staff.warnings,
        seconds=time.perf_counter() - started,
        stages=stages,
    )


def _load(
    store: Store, resident_source: str, stages: dict[str, float], started: float
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame] | None:
    """(prepared master, its record ids, the other sources' records in order), or ``None`` without residents."""
    master_raw = linkable_records(store, source_id=resident_source)
    if master_raw.empty:
        return None
    # Names, readings and addresses of the master are normalised by a worker
    # while the other sources are read.
    master_keys = start_people_keys(master_raw)
    try:
        others = linkable_records(store, exclude_source_id=resident_source)
    except BaseException:
        master_keys()  # waits for the worker
        raise
    stages["load"] = time.perf_counter() - started
    step = time.perf_counter()
    master = prepare_master(master_raw, master_keys)
    master_record_ids = master_raw["record_id"].to_numpy(np.int64)
    # The residents' raw text is read again only for the rows shown for review.
    del master_raw
    stages["prepare_master"] = time.perf_counter() - step
    source_codes = pd.factorize(others["source_id"].to_numpy(dtype=object), sort=True)[0]
    order = np.lexsort((others["record_id"].to_numpy(np.int64), source_codes))
    raw = others.take(order).reset_index(drop=True)
    del others  # the rows live on in ``raw``: let a metropolis's copy go
    raw["roster_number"] = _roster_numbers(raw)
    return master, master_record_ids, raw


def _write_rest(
    writer: _LinksWriter,
    raw: pd.DataFrame,
    keys: pd.Series,
    run: LinkRun,
    decisions: pd.DataFrame,
    written: np.ndarray,
) -> None:
    """Queue the links not written yet, the confirmed automatic links and the model; commit."""
    try:
        rest = np.flatnonzero(~written)
        writer.put(raw[["record_id", "source_id"]].iloc[rest], run.links.iloc[rest])
        writer.put_rows(crosswalk, _confirmed_auto_links(raw, keys, run.links, decisions))
        if run.model is not None:
            model_row = {
                "created_at": datetime.now(),
                "source_id": None,
                "parameters_json": run.model.to_json(),
            }
            writer.put_rows(link_models, pd.DataFrame([model_row], dtype=object))
    except BaseException:
        writer.abort()
        raise
    writer.finish()


def _link(
    raw: pd.DataFrame,
    master: pd.DataFrame,
    options: MatchOptions,
    decisions: pd.DataFrame,
    writer: _LinksWriter,
) -> tuple[LinkRun, np.ndarray]:
    """Run the matching; the 宛名番号 joins are queued for writing as soon as they are known.

    Returns:
        The run and which records' links were already queued.
    """
    master_ids = master["resident_id"].to_numpy(dtype=object)
    written = np.zeros(len(raw), dtype=bool)
    identity = raw[["record_id", "source_id"]]  # all the links rows need of a record

    def write_exact(positions: np.ndarray, master_positions: np.ndarray) -> None:
        written[positions] = True
        writer.put(identity.iloc[positions], _exact_links(master_ids, master_positions))

    try:
        return link_records(raw, master, options, decisions, on_exact=write_exact), written
    except BaseException:
        writer.abort()
        raise


def _refused(user: str, messages: list[str], summary: dict | None = None) -> ActionResult:
    """A run that stopped before writing anything, with its reasons on the ログ tab."""
    log = pd.DataFrame([_log_row(user, "エラー", message) for message in messages], columns=LOG.headers)
    return ActionResult("link", False, summary=summary or {}, tables={LOG.key: log}, messages=list(messages))


# What the ログ tab and the summary call each outcome.
OUTCOME_LABELS = {
    "exact": "宛名番号",
    "crosswalk": "対応表",
    "roster": "名簿",
    "auto": "自動",
    "review": "要確認",
    "conflict": "不整合",
    "none": "不一致",
}


def _result(
    user: str,
    *,
    run_id: int,
    raw: pd.DataFrame,
    run: LinkRun,
    tables: dict[str, pd.DataFrame],
    names: dict[str, str],
    saved: int,
    revoked: int,
    unmatched: dict[str, int],
    notes: list[str],
    seconds: float,
    stages: dict[str, float],
) -> ActionResult:
    """Summary, Japanese log rows and the tables of a finished run."""
    result = run.links
    summary: dict[str, dict] = {}
    log_rows = [_log_row(user, "警告", note) for note in notes]
    if saved:
        log_rows.append(_log_row(user, "情報", f"名寄せ確認の判定 {saved} 件を対応表に記録しました。"))
    if revoked:
        log_rows.append(
            _log_row(user, "情報", f"名寄せ判定の取消 {revoked} 件を記録しました(元の判定は使われません)。")
        )
    counts = pd.crosstab(raw["source_id"], result["outcome"]) if len(raw) else pd.DataFrame()
    per_source = raw["source_id"].value_counts()
    for source_id in sorted(per_source.index):
        row = counts.loc[source_id] if source_id in counts.index else {}
        summary[source_id] = {
            "records": int(per_source[source_id]),
            **{o: int(row.get(o, 0)) for o in OUTCOMES},
            "pairs": int(run.stats["pairs"].get(source_id, 0)),
        }
        parts = "、".join(
            f"{OUTCOME_LABELS[o]} {summary[source_id][o]}" for o in OUTCOMES if summary[source_id][o]
        )
        compared = summary[source_id]["pairs"]
        log_rows.append(
            _log_row(
                user,
                "情報",
                f"{names.get(source_id, source_id)}: {summary[source_id]['records']}件({parts})"
                + (f"、照合候補 {compared} 組を比較" if compared else ""),
            )
        )
    totals = {o: sum(s[o] for s in summary.values()) for o in OUTCOMES}
    counts_text = (
        f"{len(summary)}ソース {sum(s['records'] for s in summary.values())}件: 宛名番号 {totals['exact']}、"
        f"対応表 {totals['crosswalk']}、名簿 {totals['roster']}、自動 {totals['auto']}、"
        f"要確認 {totals['review'] + totals['conflict']}、不一致 {totals['none']}"
    )
    if unmatched:
        listed = "、".join(f"{names.get(s, s)} {n}件" for s, n in unmatched.items())
        log_rows.append(
            _log_row(
                user, "警告", f"住民のはずの記録で住民記録と結び付かなかったもの: {listed}(名寄せ不一致タブ)"
            )
        )
    log_rows.append(_log_row(user, "情報", f"{counts_text}({seconds:.1f}秒)"))
    return ActionResult(
        "link",
        True,
        summary={
            "run_id": run_id,
            "sources": summary,
            "decisions_saved": saved,
            "decisions_revoked": revoked,
            "unmatched": unmatched,
            "seconds": round(seconds, 2),
            "stages": {k: round(v, 2) for k, v in stages.items()},
            "roster_anchor": run.stats["anchor"],
        },
        tables={**tables, LOG.key: pd.DataFrame(log_rows, columns=LOG.headers)},
        messages=[counts_text],
        counts=counts_text,
    )


def _review(
    store: Store,
    raw: pd.DataFrame,
    keys: pd.Series,
    result: pd.DataFrame,
    master_record_ids: np.ndarray,
    names: dict[str, str],
    memos: dict[str, str],
) -> pd.DataFrame:
    """名寄せ確認 rows, with the residents' text read back for the listed pairs only."""
    listed = np.flatnonzero(result["outcome"].isin(["review", "conflict"]).to_numpy())
    listed_links = result.iloc[listed].reset_index(drop=True)
    position = listed_links["master"].to_numpy(np.int64)
    shown = np.unique(position[position >= 0])
    residents = records_by_id(store, master_record_ids[shown])
    listed_links["master"] = np.where(position >= 0, np.searchsorted(shown, position), -1)
    return review_rows(
        raw.iloc[listed].reset_index(drop=True),
        keys.iloc[listed].reset_index(drop=True),
        listed_links,
        residents,
        source_names=names,
        memos=memos,
    )


def _confirmed_auto_links(
    raw: pd.DataFrame, keys: pd.Series, result: pd.DataFrame, decisions: pd.DataFrame
) -> pd.DataFrame:
    """Crosswalk rows keeping automatic links of records with a student number as confirmed."""
    has_number = text_values(raw, "student_number") != ""
    chosen = (result["outcome"] == "auto").to_numpy() & has_number
    if not chosen.any():
        return pd.DataFrame()
    fresh = pd.DataFrame(
        {
            "source_id": raw["source_id"].to_numpy(dtype=object)[chosen],
            "source_key": keys.to_numpy(dtype=object)[chosen],
            "resident_id": result["resident_id"].to_numpy(dtype=object)[chosen],
            "decision": "同一",
            "note": "自動照合で確定",
        }
    )
    known = decisions[decisions["decision"] == "同一"][["source_id", "source_key"]].drop_duplicates()
    fresh = fresh.merge(known, on=["source_id", "source_key"], how="left", indicator=True)
    fresh = fresh[fresh["_merge"] == "left_only"].drop(columns="_merge")
    return crosswalk_rows(fresh, AUTO_CONFIRMED_BY)
