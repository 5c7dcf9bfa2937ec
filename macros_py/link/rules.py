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
from macros_py.link.prepare import text_values

__all__ = ["exact_resident_join"]


def exact_resident_join(source: pd.DataFrame, master: pd.DataFrame) -> pd.DataFrame:
    """Join prepared records on ``resident_id``.

    Args:
        source: prepared source records (``resident_id``, ``birth``, ``sex`` …).
        master: prepared master records.

    Returns:
        One row per source record: ``master`` (position or -1), ``outcome``
        (``exact``/``conflict``/"" when the record has no usable number) and ``reason``.
    """
    master_ids = text_values(master, "resident_id")
    rid = text_values(source, "resident_id")
    # Position of the first master row with each number; "" never matches.
    index = pd.Index(master_ids, dtype=object)
    first = ~index.duplicated(keep="first") & (master_ids != "")
    found = pd.Index(master_ids[first], dtype=object).get_indexer(pd.Index(rid, dtype=object))
    found = np.where(found >= 0, np.flatnonzero(first)[np.clip(found, 0, None)], -1).astype(np.int64)
    found[rid == ""] = -1
    has_number = rid != ""
    hit = found >= 0
    safe = np.where(hit, found, 0)
    birth_source = text_values(source, "birth")
    birth_master = text_values(master, "birth")[safe]
    sex_source = text_values(source, "sex")
    sex_master = text_values(master, "sex")[safe]
    birth_conflict = hit & (birth_source != "") & (birth_master != "") & (birth_source != birth_master)
    sex_conflict = hit & (sex_source != "") & (sex_master != "") & (sex_source != sex_master)
    conflict = birth_conflict | sex_conflict
    outcome = np.where(conflict, "conflict", np.where(hit, "exact", "")).astype(object)
    reasons = np.where(
        birth_conflict & sex_conflict,
        "宛名番号は一致するが生年月日と性別が住民記録と異なる",
        np.where(
            birth_conflict,
            "宛名番号は一致するが生年月日が住民記録と異なる",
            "宛名番号は一致するが性別が住民記録と異なる",
        ),
    )
    unknown = has_number & ~hit
    reason = np.where(conflict, reasons, np.where(unknown, "宛名番号が住民記録にない", "")).astype(object)
    return object_frame({"master": found, "outcome": outcome, "reason": reason})
