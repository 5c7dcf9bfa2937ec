"""All sources against the resident master in one pass: the order of the matching rules.

Steps, in order (the first that decides a record wins; see ``docs/matching-rules.md``):

1. ``exact``/``conflict``: the record's 宛名番号 is in the master (birth date and sex
   checked). Only these two fields are prepared for such records.
2. ``crosswalk``: staff decided (or a confirmed link says) that this record key is this
   resident. A 同一 decision also settles a ``conflict``; a 別人 decision keeps a
   conflict unlinked and removes that resident from a record's candidates.
3. ``auto``/``review``/``none`` for every source except the roster-dependent school
   sources: Fellegi–Sunter matching of all those records in one pass, with one model
   trained once per run (one-to-one assignment and prior per source).
4. For the other school sources: a student number (学校+生徒番号) linked in step 1–3
   links the same key (``crosswalk``); then roster chaining (``roster``,
   :mod:`macros_py.link.roster`); then probabilistic matching with the same model.

A resident already linked to a record of a source is never a candidate for another
record of that source. :func:`link_records` runs these as named step functions
(:func:`join_resident_numbers`, :func:`prepare_records`, :func:`apply_staff_decisions`,
:func:`find_school_chains`, :func:`match_records`, :func:`chain_school_records`,
:func:`finish_links`) over one mutable :class:`_Run`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from macros_py.link.arrays import ColumnCodes, isin_codes, object_frame, unique_codes
from macros_py.link.crosswalk import DIFFERENT, SAME, record_keys
from macros_py.link.fellegi_sunter import LinkModel
from macros_py.link.match import (
    MatchOptions,
    birth_cohort,
    cohort_text,
    grade_cohort,
    match_people,
    twin_residents,
)
from macros_py.link.name_split import split_unspaced_names
from macros_py.link.prepare import parse_birth_dates, prepare_people, prepare_sex, text_values
from macros_py.link.roster import choose_anchor_source, roster_keys, roster_links, school_name_keys
from macros_py.link.rules import exact_resident_join

__all__ = ["LINKED", "OUTCOMES", "LinkRun", "link_records", "link_source", "prepare_master", "source_cohorts"]

logger = logging.getLogger(__name__)

OUTCOMES = ("exact", "crosswalk", "roster", "auto", "review", "none", "conflict")
LINKED = ("exact", "crosswalk", "roster", "auto")


@dataclass
class LinkRun:
    """Result of :func:`link_records`.

    Attributes:
        links: one row per record: ``master`` (position or -1), ``resident_id``,
            ``outcome``, ``method``, ``score`` (0–1), ``reason``, ``detail`` (JSON text).
        keys: record key of every record (crosswalk key; "" for exact joins).
        model: the model trained (or given) for probabilistic matching, if any ran.
        stats: ``pairs`` per source, ``seconds`` per stage, ``anchor`` source.
    """

    links: pd.DataFrame
    keys: np.ndarray
    model: LinkModel | None
    stats: dict = field(default_factory=dict)


def prepare_master(
    master_raw: pd.DataFrame, keys: Callable[[], dict[str, np.ndarray]] | None = None
) -> pd.DataFrame:
    """The prepared resident master with ``cohort`` (school year of birth) and ``twin``.

    Args:
        master_raw: the resident records (canonical columns).
        keys: :func:`~macros_py.link.prepare.start_people_keys` of these records, when
            started earlier (so that it ran while other work was done).
    """
    master = prepare_people(master_raw, keys=keys)
    split_unspaced_names(master, register=master)  # before the twins, which compare given names
    master["cohort"] = pd.Series(cohort_text(birth_cohort(master["birth"])), dtype=object)
    master["twin"] = twin_residents(master)
    return master


def source_cohorts(prepared: pd.DataFrame, records: pd.DataFrame, options: MatchOptions) -> np.ndarray:
    """Cohort from the grade for records without a birth date (names-only school lists)."""
    cohort = np.full(len(prepared), "", dtype=object)
    if "grade" not in records.columns or options.reference_date is None:
        return cohort
    school = pd.Series(text_values(records, "school"), dtype=object)
    from_grade = grade_cohort(records["grade"].reset_index(drop=True), school, options.reference_date)
    return np.where(prepared["birth"].to_numpy(dtype=object) == "", from_grade.to_numpy(dtype=object), "")


def _latest_decisions(decisions: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(同一 decisions: source_id, source_key, resident_id; 別人 decisions: same columns)."""
    columns = ["source_id", "source_key", "resident_id"]
    if decisions is None or decisions.empty:
        empty = pd.DataFrame(columns=columns)
        return empty, empty
    frame = decisions[[*columns, "decision"]].astype(object).fillna("")
    frame = frame.drop_duplicates(columns, keep="last")
    different = frame[frame["decision"] == DIFFERENT][columns]
    same = frame[frame["decision"] == SAME][columns]
    same = same.merge(different, on=columns, how="left", indicator=True)
    same = same[same["_merge"] == "left_only"][columns].drop_duplicates(
        ["source_id", "source_key"], keep="last"
    )
    return same.reset_index(drop=True), different.reset_index(drop=True)


class _Run:
    """Mutable state of one run: the links table filled step by step."""

    def __init__(self, records: pd.DataFrame, master: pd.DataFrame) -> None:
        n = len(records)
        self.master = master
        self.master_codes = ColumnCodes(master)  # coded once, used by both matching passes
        self.source = text_values(records, "source_id")
        self.group = pd.factorize(self.source)[0].astype(np.int64) if n else np.empty(0, np.int64)
        self.master_index = master["resident_id"].to_numpy(dtype=object)
        self.position_of = pd.Series(np.arange(len(master)), index=pd.Index(self.master_index, dtype=object))
        self.position_of = self.position_of[
            (self.position_of.index != "") & ~self.position_of.index.duplicated()
        ]
        self.m = np.full(n, -1, dtype=np.int64)
        self.outcome = np.full(n, "", dtype=object)
        self.method = np.full(n, "", dtype=object)
        self.score = np.zeros(n)
        self.reason = np.full(n, "", dtype=object)
        self.detail = np.full(n, "", dtype=object)

    def set(self, rows: np.ndarray, master: np.ndarray, outcome: str, method: str, score, reason="") -> None:
        self.m[rows] = master
        self.outcome[rows] = outcome
        self.method[rows] = method
        self.score[rows] = score
        self.reason[rows] = reason

    def taken(self) -> np.ndarray:
        """Codes ``group * len(master) + master`` of residents already linked per source."""
        linked = np.isin(self.outcome, LINKED) & (self.m >= 0)
        return unique_codes(self.group[linked] * len(self.master) + self.m[linked])

    def undecided(self) -> np.ndarray:
        return self.outcome == ""


def _apply_crosswalk(run: _Run, rows: np.ndarray, keys: np.ndarray, same: pd.DataFrame) -> np.ndarray:
    """同一 decisions on the given rows; returns the rows decided."""
    if same.empty or len(rows) == 0:
        return np.empty(0, np.int64)
    wanted = pd.DataFrame({"row": rows, "source_id": run.source[rows], "source_key": keys[rows]})
    hit = wanted.merge(same, on=["source_id", "source_key"], how="inner")
    hit["master"] = hit["resident_id"].map(run.position_of)
    hit = hit[hit["master"].notna()]
    decided = hit["row"].to_numpy(np.int64)
    run.set(decided, hit["master"].to_numpy(np.int64), "crosswalk", "対応表", 1.0, "")
    return decided


def _forbidden(run: _Run, rows: np.ndarray, keys: np.ndarray, different: pd.DataFrame):
    """(local position, master position) of 別人 decisions among ``rows``."""
    if different.empty or len(rows) == 0:
        return None
    wanted = pd.DataFrame(
        {"local": np.arange(len(rows)), "source_id": run.source[rows], "source_key": keys[rows]}
    )
    hit = wanted.merge(different, on=["source_id", "source_key"], how="inner")
    hit["master"] = hit["resident_id"].map(run.position_of)
    hit = hit[hit["master"].notna()]
    return hit["local"].to_numpy(np.int64), hit["master"].to_numpy(np.int64)


def match_records(
    run: _Run,
    selected: np.ndarray,
    *,
    prepared: pd.DataFrame,
    records: pd.DataFrame,
    keys: np.ndarray,
    different: pd.DataFrame,
    options: MatchOptions,
    model: LinkModel | None,
    pairs: dict[str, int],
) -> LinkModel | None:
    """Steps 5 and 7: probabilistic matching of the ``selected`` records, all sources at once.

    Returns:
        The model (trained on the first call of a run, re-used on the second).
    """
    rows = np.flatnonzero(selected)
    if len(rows) == 0 or len(run.master) == 0:
        return model
    groups, group_names = pd.factorize(run.source[rows])
    taken_codes = run.taken()
    taken_group, taken_master = taken_codes // len(run.master), taken_codes % len(run.master)
    # Re-code the taken residents to the local group codes of this pass.
    local_of = pd.Series(np.arange(len(group_names)), index=group_names)
    global_names = pd.factorize(run.source)[1]
    taken_local = pd.Series(global_names[taken_group]).map(local_of).to_numpy()
    keep = ~np.isnan(taken_local.astype(float))
    taken = taken_local[keep].astype(np.int64) * len(run.master) + taken_master[keep]
    sub = prepared.iloc[rows].reset_index(drop=True)
    extra = pd.DataFrame(
        {
            "school": text_values(records, "school")[rows],
            "grade": records["grade"].to_numpy(dtype=object)[rows]
            if "grade" in records.columns
            else np.full(len(rows), None),
        }
    )
    stats: dict = {}
    result, model = match_people(
        sub,
        run.master,
        options,
        model=model,
        extra=extra,
        forbidden=_forbidden(run, rows, keys, different),
        groups=groups.astype(np.int64),
        stats=stats,
        taken=taken,
        master_codes=run.master_codes,
    )
    for code, count in stats.get("pairs", {}).items():
        pairs[str(group_names[code])] = pairs.get(str(group_names[code]), 0) + count
    run.m[rows] = result["master"].to_numpy(np.int64)
    run.outcome[rows] = result["outcome"].to_numpy(dtype=object)
    run.score[rows] = result["probability"].to_numpy(float)
    run.reason[rows] = result["reason"].to_numpy(dtype=object)
    run.detail[rows] = result["detail"].to_numpy(dtype=object)
    run.method[rows] = "確率的照合"
    return model


@contextmanager
def _timed(seconds: dict[str, float], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - started


def join_resident_numbers(
    run: _Run,
    records: pd.DataFrame,
    *,
    on_exact: Callable[[np.ndarray, np.ndarray], None] | None = None,
) -> pd.DataFrame:
    """Step 1: records whose 宛名番号 is in the master: ``exact``, or ``conflict`` with a reason.

    Returns:
        The identity columns (``resident_id``, parsed ``birth``, ``sex``) of every record.
    """
    identity = pd.DataFrame(
        {
            "resident_id": text_values(records, "resident_id"),
            "birth": parse_birth_dates(
                records["birth_date"] if "birth_date" in records.columns else pd.Series([""] * len(records))
            ).to_numpy(dtype=object),
            "sex": prepare_sex(records),
        },
        dtype=object,
    )
    exact = exact_resident_join(identity, run.master)
    outcome = exact["outcome"].to_numpy(dtype=object)
    hit = outcome != ""
    run.set(np.flatnonzero(hit), exact["master"].to_numpy(np.int64)[hit], "", "宛名番号", 0.0)
    run.outcome[hit] = outcome[hit]
    run.score[outcome == "exact"] = 1.0
    run.reason[:] = exact["reason"].to_numpy(dtype=object)
    if on_exact is not None:
        final = np.flatnonzero(outcome == "exact")
        on_exact(final, run.m[final].copy())
    return identity


def prepare_records(
    run: _Run, records: pd.DataFrame, identity: pd.DataFrame, *, options: MatchOptions
) -> tuple[pd.DataFrame, np.ndarray]:
    """Step 2: prepared columns and record keys of every record not joined exactly ("" for those)."""
    rest = np.flatnonzero(run.outcome != "exact")
    prepared_rest = prepare_people(records.iloc[rest], identity["birth"].to_numpy(dtype=object)[rest])
    split_unspaced_names(prepared_rest, register=run.master)
    prepared_rest["cohort"] = pd.Series(
        source_cohorts(prepared_rest, records.iloc[rest], options), dtype=object
    )
    columns = {}
    for column in prepared_rest.columns:
        values = np.full(len(records), "", dtype=object)
        values[rest] = prepared_rest[column].to_numpy(dtype=object)
        columns[column] = values
    prepared = pd.DataFrame(columns, index=pd.RangeIndex(len(records)), dtype=object)
    keys = np.full(len(records), "", dtype=object)
    keys[rest] = record_keys(records.iloc[rest].reset_index(drop=True), prepared_rest).to_numpy(dtype=object)
    return prepared, keys


def apply_staff_decisions(
    run: _Run, keys: np.ndarray, *, same: pd.DataFrame, different: pd.DataFrame
) -> None:
    """Step 3: 同一 decisions link (also a number ``conflict``); 別人 keeps a conflict unlinked."""
    conflict = np.flatnonzero(run.outcome == "conflict")
    _apply_crosswalk(run, conflict, keys, same)
    if len(conflict) and not different.empty:
        wanted = pd.DataFrame(
            {
                "row": conflict,
                "source_id": run.source[conflict],
                "source_key": keys[conflict],
                "resident_id": run.master_index[np.clip(run.m[conflict], 0, None)],
            }
        )
        rejected = wanted.merge(different, on=["source_id", "source_key", "resident_id"])["row"].to_numpy(
            np.int64
        )
        run.set(rejected, -1, "none", "対応表", 0.0, "職員が別人と判定(宛名番号の不整合)")
    _apply_crosswalk(run, np.flatnonzero(run.undecided()), keys, same)


@dataclass(frozen=True)
class _SchoolChains:
    """Roster keys of every record, the anchor source, and which records depend on it."""

    roster: np.ndarray
    school_names: np.ndarray
    anchor: str
    dependent: np.ndarray


def find_school_chains(run: _Run, records: pd.DataFrame, *, prepared: pd.DataFrame) -> _SchoolChains:
    """Step 4: the anchor school source (出欠) and the school sources that chain onto it."""
    roster = roster_keys(records)
    school_names = school_name_keys(records, prepared)
    anchor = choose_anchor_source(records, roster)
    dependent_sources = set(pd.unique(run.source[(roster != "") | (school_names != "")])) - {anchor}
    dependent = np.isin(run.source, list(dependent_sources)) & (anchor != "")
    return _SchoolChains(roster, school_names, anchor, dependent)


def chain_school_records(
    run: _Run, records: pd.DataFrame, keys: np.ndarray, *, prepared: pd.DataFrame, chains: _SchoolChains
) -> None:
    """Step 6: school records linked through a student number or the anchor's roster."""
    _chain_student_numbers(run, records, keys, chains.dependent)
    anchor_rows = np.flatnonzero((run.source == chains.anchor) & np.isin(run.outcome, LINKED))
    for chain_keys, method, reason in (
        (
            chains.roster,
            "名簿(学校・学年・組・番号)",
            "学校・学年・組・出席番号と氏名が照合済みの出欠記録と一致",
        ),
        (
            chains.school_names,
            "名簿(学校・学年・氏名)",
            "学校・学年・氏名が照合済みの出欠記録と一致(同名なし)",
        ),
    ):
        chained = roster_links(
            chain_keys,
            np.flatnonzero(run.undecided() & chains.dependent),
            chain_keys[anchor_rows],
            run.m[anchor_rows],
            prepared,
            run.master,
            run.group,
        )
        if len(chained):
            position = chained["position"].to_numpy(np.int64)
            target = chained["master"].to_numpy(np.int64)
            free = ~isin_codes(run.group[position] * len(run.master) + target, run.taken())
            run.set(
                position[free], target[free], "roster", method, chained["score"].to_numpy(float)[free], reason
            )


def finish_links(run: _Run, *, keys: np.ndarray, model: LinkModel | None, stats: dict) -> LinkRun:
    """Step 8: undecided records become ``none``; the links table of the run."""
    run.outcome[run.outcome == ""] = "none"
    linked = run.outcome != "none"
    resident_id = np.where(linked & (run.m >= 0), run.master_index[np.clip(run.m, 0, None)], "")
    links = object_frame(
        {
            "master": np.where(linked, run.m, -1),
            "resident_id": resident_id.astype(object),
            "outcome": run.outcome,
            "method": run.method,
            "score": run.score,
            "reason": run.reason,
            "detail": run.detail,
        }
    )
    return LinkRun(links=links, keys=keys, model=model, stats=stats)


def link_records(
    records: pd.DataFrame,
    master: pd.DataFrame,
    options: MatchOptions,
    decisions: pd.DataFrame | None = None,
    model: LinkModel | None = None,
    on_exact: Callable[[np.ndarray, np.ndarray], None] | None = None,
) -> LinkRun:
    """Link the records of any number of sources to the prepared master.

    The steps, in order (the first that decides a record wins): :func:`join_resident_numbers`,
    :func:`prepare_records`, :func:`apply_staff_decisions`, :func:`find_school_chains`,
    probabilistic matching of every source but the chained school sources
    (:func:`match_records`), :func:`chain_school_records`, matching of the school records
    still undecided, :func:`finish_links`.

    Args:
        records: raw records with canonical columns and ``source_id`` (one source if
            absent); ``roster_number`` (出席番号) and ``class_name`` enable roster chaining.
        master: :func:`prepare_master` output (``resident_id`` filled).
        options: thresholds and decision rules.
        decisions: crosswalk rows ``source_id, source_key, resident_id, decision``
            (oldest first; the latest per key and resident counts).
        model: a trained model to re-use (trained once on the records otherwise).
        on_exact: called once the 宛名番号 joins are known, with the positions of the
            records linked ``exact`` and their master positions (final: no later step
            changes them), so that the caller can start writing them meanwhile.

    Returns:
        A :class:`LinkRun`.
    """
    records = records.reset_index(drop=True)
    if "source_id" not in records.columns:
        records = records.assign(source_id="source")
    run = _Run(records, master)
    seconds: dict[str, float] = {}
    pairs: dict[str, int] = {}
    with _timed(seconds, "exact"):
        identity = join_resident_numbers(run, records, on_exact=on_exact)
    with _timed(seconds, "prepare"):
        prepared, keys = prepare_records(run, records, identity, options=options)
    same, different = _latest_decisions(decisions)
    apply_staff_decisions(run, keys, same=same, different=different)
    chains = find_school_chains(run, records, prepared=prepared)
    matching = {"prepared": prepared, "records": records, "keys": keys, "different": different}
    with _timed(seconds, "match"):
        model = match_records(
            run, run.undecided() & ~chains.dependent, **matching, options=options, model=model, pairs=pairs
        )
    with _timed(seconds, "roster"):
        chain_school_records(run, records, keys, prepared=prepared, chains=chains)
    with _timed(seconds, "match_school"):
        model = match_records(
            run, run.undecided() & chains.dependent, **matching, options=options, model=model, pairs=pairs
        )
    stats = {
        "pairs": pairs,
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "anchor": chains.anchor,
    }
    return finish_links(run, keys=keys, model=model, stats=stats)


def _chain_student_numbers(run: _Run, records: pd.DataFrame, keys: np.ndarray, dependent: np.ndarray) -> None:
    """A 学校+生徒番号 key linked in one source links the same key in the roster-dependent sources."""
    if "student_number" not in records.columns:
        return
    numbered = text_values(records, "student_number") != ""
    known = numbered & np.isin(run.outcome, LINKED) & (run.m >= 0)
    if not known.any():
        return
    table = pd.DataFrame({"key": keys[known], "master": run.m[known]}).drop_duplicates()
    table = table.drop_duplicates("key", keep=False)  # a key linked to two residents is not used
    rows = np.flatnonzero(run.undecided() & dependent & numbered)
    hit = pd.DataFrame({"row": rows, "key": keys[rows]}).merge(table, on="key", how="inner")
    run.set(
        hit["row"].to_numpy(np.int64),
        hit["master"].to_numpy(np.int64),
        "crosswalk",
        "生徒番号(同じ実行で照合済み)",
        1.0,
        "同じ学校・生徒番号が他のソースで照合済み",
    )


def link_source(
    source: pd.DataFrame,
    master: pd.DataFrame,
    options: MatchOptions,
    keys: pd.Series | None = None,
    same: dict[str, str] | None = None,
    different: set[tuple[str, str]] | None = None,
    extra: pd.DataFrame | None = None,
    model: LinkModel | None = None,
) -> tuple[pd.DataFrame, LinkModel | None]:
    """Link one source's raw records to a raw master (the ``mimamori link`` CSV command).

    Args:
        source: raw source records (canonical columns).
        master: raw master records (``resident_id`` filled).
        options: thresholds.
        keys: unused, kept for callers passing record keys (keys are computed).
        same: crosswalk 同一 decisions, record key → resident number.
        different: crosswalk 別人 decisions, (record key, resident number).
        extra: ``school``/``grade`` aligned with ``source`` for the grade check.
        model: a trained model to re-use.

    Returns:
        ``(links, model)`` as :attr:`LinkRun.links`.
    """
    del keys
    records = source.reset_index(drop=True).copy()
    if extra is not None:
        for column in extra.columns:
            records[column] = extra[column].to_numpy()
    rows = [
        {"source_id": "source", "source_key": k, "resident_id": r, "decision": SAME}
        for k, r in (same or {}).items()
    ]
    rows += [
        {"source_id": "source", "source_key": k, "resident_id": r, "decision": DIFFERENT}
        for k, r in different or ()
    ]
    decisions = pd.DataFrame(rows, columns=["source_id", "source_key", "resident_id", "decision"])
    run = link_records(records.assign(source_id="source"), prepare_master(master), options, decisions, model)
    return run.links, run.model
