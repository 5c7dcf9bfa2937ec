"""One source against the resident master: exact joins, crosswalk, then fuzzy matching.

Steps, in order (the first that decides wins):

1. ``exact``/``conflict``: the record's 宛名番号 is in the master (consistency checked);
2. ``crosswalk``: staff decided earlier (or a confirmed link) that this record key is
   this resident; a 別人 decision removes that resident from the record's candidates;
3. ``auto``/``review``/``none``: the Fellegi–Sunter match (:mod:`macros_py.link.match`).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from macros_py.link.fellegi_sunter import LinkModel
from macros_py.link.match import MatchOptions, birth_cohort, grade_cohort, match_people
from macros_py.link.rules import exact_resident_join

__all__ = ["OUTCOMES", "link_source"]

logger = logging.getLogger(__name__)

OUTCOMES = ("exact", "crosswalk", "auto", "review", "none", "conflict")


def _with_cohorts(
    source: pd.DataFrame, master: pd.DataFrame, extra: pd.DataFrame | None, options: MatchOptions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add ``cohort``: from the birth date on the master; from the grade on source records
    without a birth date (so a school list with names only still tells the children apart)."""
    master = master.copy()
    cohort = birth_cohort(master["birth"])
    master["cohort"] = [str(int(c)) if np.isfinite(c) else "" for c in cohort]
    source = source.copy()
    source["cohort"] = ""
    if extra is not None and "grade" in extra.columns and options.reference_date is not None:
        school = extra["school"] if "school" in extra.columns else pd.Series([""] * len(extra))
        from_grade = grade_cohort(
            extra["grade"].reset_index(drop=True), school.reset_index(drop=True), options.reference_date
        )
        source["cohort"] = np.where(source["birth"].to_numpy() == "", from_grade.to_numpy(), "")
    return source, master


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
    """Link prepared source records to the prepared master.

    Args:
        source: prepared source records (:func:`~macros_py.link.prepare.prepare_people`).
        master: prepared master records (``resident_id`` filled).
        options: thresholds.
        keys: record keys aligned with ``source`` (for the crosswalk), or ``None``.
        same: crosswalk 同一 decisions, record key → resident number.
        different: crosswalk 別人 decisions, (record key, resident number).
        extra: ``school``/``grade`` aligned with ``source`` for the grade check.
        model: a trained model to re-use.

    Returns:
        ``(links, model)``; links has one row per source record: ``master`` (position or
        -1), ``resident_id``, ``outcome``, ``method``, ``score`` (0–1), ``reason``, ``detail``.
    """
    n = len(source)
    source, master = _with_cohorts(source, master, extra, options)
    links = pd.DataFrame(
        {"master": -1, "outcome": "none", "method": "", "score": 0.0, "reason": "", "detail": ""},
        index=pd.RangeIndex(n),
    )
    exact = exact_resident_join(source, master)
    decided = exact["outcome"] != ""
    links.loc[decided, ["master", "outcome", "reason"]] = exact.loc[decided, ["master", "outcome", "reason"]]
    links.loc[decided, "method"] = "宛名番号"
    links.loc[exact["outcome"] == "exact", "score"] = 1.0
    master_position = pd.Series(np.arange(len(master)), index=master["resident_id"].astype(str))
    master_position = master_position[~master_position.index.duplicated()]

    if keys is not None and same:
        key_values = keys.reset_index(drop=True).astype(str)
        resident = key_values.map(same)
        position = resident.map(master_position)
        use = ~decided & position.notna()
        links.loc[use, "master"] = position[use].astype(np.int64)
        links.loc[use, "outcome"] = "crosswalk"
        links.loc[use, "method"] = "対応表"
        links.loc[use, "score"] = 1.0
        decided |= use

    rest = np.flatnonzero(~decided.to_numpy())
    if len(rest) and len(master):
        forbidden: set[tuple[int, int]] = set()
        if keys is not None and different:
            key_values = keys.reset_index(drop=True).astype(str).to_numpy()
            local = {key: i for i, key in enumerate(key_values[rest])}
            for key, resident_id in different:
                if key in local and resident_id in master_position.index:
                    forbidden.add((local[key], int(master_position[resident_id])))
        sub_extra = extra.iloc[rest].reset_index(drop=True) if extra is not None else None
        result, model = match_people(
            source.iloc[rest].reset_index(drop=True), master, options, model, sub_extra, forbidden
        )
        links.loc[rest, "master"] = result["master"].to_numpy()
        links.loc[rest, "outcome"] = result["outcome"].to_numpy()
        links.loc[rest, "score"] = result["probability"].to_numpy()
        links.loc[rest, "reason"] = result["reason"].to_numpy()
        links.loc[rest, "detail"] = result["detail"].to_numpy()
        links.loc[rest, "method"] = "確率的照合"
    links["master"] = links["master"].astype(np.int64)
    resident_ids = master["resident_id"].astype(str).to_numpy()
    links["resident_id"] = np.where(links["master"] >= 0, resident_ids[links["master"].clip(lower=0)], "")
    links.loc[links["outcome"] == "none", "resident_id"] = ""
    return links, model
