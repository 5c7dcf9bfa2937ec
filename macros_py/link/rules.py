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
    positions = pd.Series(np.arange(len(master)), index=text_values(master, "resident_id"))
    positions = positions[positions.index != ""]
    positions = positions[~positions.index.duplicated(keep="first")]
    rid = text_values(source, "resident_id")
    found = pd.Series(rid).map(positions).fillna(-1).astype(np.int64).to_numpy()
    has_number = rid != ""
    result = pd.DataFrame({"master": np.where(found >= 0, found, -1), "outcome": "", "reason": ""})
    hit = found >= 0
    safe = np.where(hit, found, 0)
    birth_source = text_values(source, "birth")
    birth_master = text_values(master, "birth")[safe]
    sex_source = text_values(source, "sex")
    sex_master = text_values(master, "sex")[safe]
    birth_conflict = hit & (birth_source != "") & (birth_master != "") & (birth_source != birth_master)
    sex_conflict = hit & (sex_source != "") & (sex_master != "") & (sex_source != sex_master)
    result.loc[hit, "outcome"] = "exact"
    conflict = birth_conflict | sex_conflict
    result.loc[conflict, "outcome"] = "conflict"
    reasons = np.where(
        birth_conflict & sex_conflict,
        "宛名番号は一致するが生年月日と性別が住民記録と異なる",
        np.where(
            birth_conflict,
            "宛名番号は一致するが生年月日が住民記録と異なる",
            "宛名番号は一致するが性別が住民記録と異なる",
        ),
    )
    result.loc[conflict, "reason"] = reasons[conflict]
    unknown = has_number & ~hit
    result.loc[unknown, "reason"] = "宛名番号が住民記録にない"
    return result
