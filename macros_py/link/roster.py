"""Roster chaining: school exports share the class roster key (学校, 学年, 組, 出席番号).

Within one school year a child keeps one seat number in one class, and every school
system export (出欠, 健康診断, 体力テスト, 心の健康観察 …) writes it. The richest school
source (the *anchor*: birth dates, readings and student numbers; normally 出欠) is linked
first. A record of another school source whose roster key equals a linked anchor
record's key inherits that record's resident (outcome ``roster``) **only if the names
agree**: rosters change during the year (transfers in and out), so the key alone is
never enough. Records whose key is unknown, ambiguous or whose name disagrees fall back
to probabilistic matching.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from macros_py.link.prepare import text_values

__all__ = ["NAME_AGREEMENT", "choose_anchor_source", "roster_keys", "roster_links", "school_name_keys"]

logger = logging.getLogger(__name__)

# Minimum normalised edit similarity of the folded full names (氏+名) for a roster link,
# unless the given name agrees exactly (a surname change) in writing or reading.
NAME_AGREEMENT = 0.75


def _rows_with(records: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """Positions of the records where every one of ``columns`` holds a value."""
    if any(column not in records.columns for column in columns):
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.logical_and.reduce([records[column].notna().to_numpy() for column in columns]))


def roster_keys(records: pd.DataFrame) -> np.ndarray:
    """``学校|学年|組|出席番号`` per record ("" when any part is missing).

    Grade, class and number are compared as written after trimming; numbers written
    ``01`` and ``1`` are the same. Only records holding all four parts are keyed (in a
    city, a fifth of the records).
    """
    out = np.full(len(records), "", dtype=object)
    rows = _rows_with(records, ("school", "grade", "class_name", "roster_number"))
    if len(rows) == 0:
        return out
    subset = records.iloc[rows]
    school = text_values(subset, "school")
    grade = text_values(subset, "grade")
    klass = text_values(subset, "class_name")
    number = text_values(subset, "roster_number")
    parts = [school, _numeric_text(grade), _numeric_text(klass), _numeric_text(number)]
    complete = np.logical_and.reduce([part != "" for part in parts])
    key = parts[0] + "|" + parts[1] + "|" + parts[2] + "|" + parts[3]
    out[rows] = np.where(complete, key, "")
    return out


def school_name_keys(records: pd.DataFrame, prepared: pd.DataFrame) -> np.ndarray:
    """``学校|学年|氏名`` (folded full name) per record for school lists without a class roster."""
    out = np.full(len(records), "", dtype=object)
    rows = _rows_with(records, ("school", "grade"))
    if len(rows) == 0:
        return out
    subset = records.iloc[rows]
    school = text_values(subset, "school")
    grade = _numeric_text(text_values(subset, "grade"))
    surname = prepared["surname_loose"].to_numpy(dtype=object)[rows]
    given = prepared["given_loose"].to_numpy(dtype=object)[rows]
    complete = (school != "") & (grade != "") & (surname != "") & (given != "")
    out[rows] = np.where(complete, school + "|" + grade + "|" + surname + given, "")
    return out


def _numeric_text(values: np.ndarray) -> np.ndarray:
    codes, uniques = pd.factorize(values)
    cleaned = []
    for value in uniques:
        text = str(value).strip()
        try:
            number = float(text)
            text = str(int(number)) if number.is_integer() else text
        except ValueError:
            pass
        cleaned.append(text)
    return np.array([*cleaned, ""], dtype=object)[codes]


def choose_anchor_source(records: pd.DataFrame, keys: np.ndarray) -> str:
    """The roster source linked first: most records with birth date, reading and student number.

    Only sources with roster keys count; ``""`` when there is none.
    """
    frame = pd.DataFrame(
        {
            "source_id": text_values(records, "source_id"),
            "keyed": keys != "",
            "birth": text_values(records, "birth_date") != "",
            "kana": text_values(records, "name_kana") != "",
            "number": text_values(records, "student_number") != "",
        }
    )
    shares = frame.groupby("source_id")[["keyed", "birth", "kana", "number"]].mean()
    shares = shares[shares["keyed"] >= 0.5]
    if shares.empty:
        return ""
    richness = shares["birth"] + shares["kana"] + shares["number"]
    return str(richness.sort_values(ascending=False, kind="stable").index[0])


def _full_names(prepared: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
    surname = prepared["surname_loose"].to_numpy(dtype=object)[positions]
    given = prepared["given_loose"].to_numpy(dtype=object)[positions]
    return surname + given


def roster_links(
    keys: np.ndarray,
    candidates: np.ndarray,
    anchor_keys: np.ndarray,
    anchor_master: np.ndarray,
    prepared: pd.DataFrame,
    master: pd.DataFrame,
    groups: np.ndarray,
) -> pd.DataFrame:
    """Roster links for candidate records.

    Args:
        keys: roster key of every record (``""`` when unknown).
        candidates: positions of records that may inherit a link.
        anchor_keys: roster keys of linked anchor records.
        anchor_master: master position each anchor record is linked to (aligned).
        prepared: prepared records (positions as ``keys``).
        master: prepared master.
        groups: source code of every record (a resident is taken once per source).

    Returns:
        One row per roster link: ``position`` (record), ``master`` and ``score`` (name
        similarity 0–1).
    """
    empty = pd.DataFrame({"position": [], "master": [], "score": []})
    anchors = pd.DataFrame({"key": anchor_keys, "master": anchor_master})
    anchors = anchors[anchors["key"] != ""]
    # A key held by two linked anchor records (a seat reused after a transfer) is ambiguous.
    anchors = anchors.drop_duplicates("key", keep=False)
    wanted = pd.DataFrame({"position": candidates, "key": keys[candidates]})
    joined = wanted[wanted["key"] != ""].merge(anchors, on="key", how="inner")
    if joined.empty:
        return empty
    position = joined["position"].to_numpy(np.int64)
    target = joined["master"].to_numpy(np.int64)
    record_name = _full_names(prepared, position)
    resident_name = _full_names(master, target)
    similarity = np.asarray(
        process.cpdist(
            list(record_name), list(resident_name), scorer=Levenshtein.normalized_similarity, workers=-1
        )
    )
    given_written = (
        prepared["given_loose"].to_numpy(dtype=object)[position]
        == master["given_loose"].to_numpy(dtype=object)[target]
    )
    kana_record = prepared["kana_given"].to_numpy(dtype=object)[position]
    given_reading = (kana_record != "") & (kana_record == master["kana_given"].to_numpy(dtype=object)[target])
    named = (record_name != "") & ((similarity >= NAME_AGREEMENT) | given_written | given_reading)
    sex_record = prepared["sex"].to_numpy(dtype=object)[position]
    sex_master = master["sex"].to_numpy(dtype=object)[target]
    sex_ok = (sex_record == "") | (sex_master == "") | (sex_record == sex_master)
    birth_record = prepared["birth"].to_numpy(dtype=object)[position]
    birth_master = master["birth"].to_numpy(dtype=object)[target]
    birth_ok = (birth_record == "") | (birth_master == "") | (birth_record == birth_master)
    joined["name"] = record_name
    joined["score"] = np.where(given_written | given_reading, np.maximum(similarity, 0.9), similarity)
    joined = joined[named & sex_ok & birth_ok]
    # One resident per source: a second claimant falls back (duplicate rows of the same
    # roster line and name share the link).
    joined = joined.assign(group=groups[joined["position"].to_numpy(np.int64)])
    joined = joined.sort_values(["score", "position"], ascending=[False, True], kind="stable")
    first = joined.drop_duplicates(["group", "master"], keep="first")[["group", "master", "key", "name"]]
    joined = joined.merge(first, on=["group", "master", "key", "name"], how="inner")
    logger.info("roster chaining: %d of %d candidate records linked", len(joined), len(candidates))
    return pd.DataFrame(
        {
            "position": joined["position"].to_numpy(np.int64),
            "master": joined["master"].to_numpy(np.int64),
            "score": joined["score"].to_numpy(float),
        }
    )
