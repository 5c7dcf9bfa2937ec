"""Deterministic rules: exact joins on 宛名番号 / 世帯番号 with consistency checks.

A record that carries a resident number joins the master exactly, but it is not
linked silently when the master disagrees: a birth date or sex that differs makes the
outcome ``conflict`` (shown for review with the reason). A number that the master does
not know gives ``none`` with a reason, and the record is then matched like any record
without a number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.link.arrays import object_frame

__all__ = ["exact_resident_join"]


def _prepared(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A prepared (clean text, "" for missing) column as an object array; "" when absent."""
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[column].to_numpy(dtype=object)


def exact_resident_join(source: pd.DataFrame, master: pd.DataFrame) -> pd.DataFrame:
    """Join prepared records on ``resident_id``.

    Args:
        source: prepared source records (``resident_id``, ``birth``, ``sex`` …).
        master: prepared master records.

    Returns:
        One row per source record: ``master`` (position or -1), ``outcome``
        (``exact``/``conflict``/"" when the record has no usable number) and ``reason``.
    """
    master_ids = _prepared(master, "resident_id")
    rid = _prepared(source, "resident_id")
    # Position of the first master row with each number; "" never matches. One hash pass
    # codes both sides.
    codes, numbers = pd.factorize(np.concatenate([master_ids, rid]))
    master_codes, source_codes = codes[: len(master_ids)], codes[len(master_ids) :]
    first = np.full(len(numbers), -1, dtype=np.int64)
    first[master_codes[::-1]] = np.arange(len(master_ids) - 1, -1, -1)  # the last write (first row) wins
    found = first[source_codes]
    found[(rid == "") | (source_codes < 0)] = -1
    has_number = rid != ""
    hit = found >= 0
    safe = np.where(hit, found, 0)
    birth_source = _prepared(source, "birth")
    birth_master = _prepared(master, "birth")[safe]
    sex_source = _prepared(source, "sex")
    sex_master = _prepared(master, "sex")[safe]
    birth_conflict = hit & (birth_source != "") & (birth_master != "") & (birth_source != birth_master)
    sex_conflict = hit & (sex_source != "") & (sex_master != "") & (sex_source != sex_master)
    conflict = birth_conflict | sex_conflict
    # Object arrays filled by mask: no fixed-width text array per record.
    outcome = np.full(len(rid), "", dtype=object)
    outcome[hit] = "exact"
    outcome[conflict] = "conflict"
    reason = np.full(len(rid), "", dtype=object)
    reason[has_number & ~hit] = "宛名番号が住民記録にない"
    reason[sex_conflict] = "宛名番号は一致するが性別が住民記録と異なる"
    reason[birth_conflict] = "宛名番号は一致するが生年月日が住民記録と異なる"
    reason[birth_conflict & sex_conflict] = "宛名番号は一致するが生年月日と性別が住民記録と異なる"
    return object_frame({"master": found, "outcome": outcome, "reason": reason})
