"""The 候補リスト: who is listed, in which order, and why (pure functions over frames).

Inputs are the per-type rule scores and selections (``score.types``), the model's
probabilities and pushes (``score.model``), the support status (``score.labels``) and
the children of ``ItemResults``. Opted-out children never reach this module.

Listing, per child:
1. listed in a hardship type by that type's ranking (基準点数以上 / 上位N人 / 年齢内上位% / 等級);
2. きょうだい加点: a child whose sibling (same 世帯番号) is listed in a type gets the
   setting's points added to that type's score, and the types are selected again;
   a child listed only then is listed for 「きょうだい」;
3. a model probability at or above the child's age-band threshold lists the child too (確率);
4. 支援中の児童の扱い: 除外 drops children now supported or on 要対協 (not 支援歴あり), 順位を下げる
   puts them after everyone else, そのまま leaves them where they rank.
Order: by 点数 (sum of the rule scores over types) or by 確率 (setting 候補リストの並び);
ties by the other figure, then by 宛名番号, so the list is deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from macros_py.sheets import CANDIDATES

__all__ = [
    "RANKING_REASONS",
    "CandidateOptions",
    "candidate_rows",
    "listing_reasons",
    "rank_children",
    "sibling_listed",
]

# Ranking method of a hardship type -> 掲載理由 shown for a child listed by it.
RANKING_REASONS: dict[str, str] = {
    "threshold": "基準点数以上",
    "top_n": "上位N人",
    "top_percent_by_age": "年齢内上位%",
    "grades": "等級",
}
# Statuses the setting 支援中の児童の扱い applies to; a closed case (支援歴あり) is shown, not moved.
CURRENTLY_SUPPORTED = ("要対協", "支援中")
SIBLING_REASON = "きょうだい"
PROBABILITY_REASON = "確率"
MAX_REASONS = 5  # item names per child in 主な理由 / 保護的要因


@dataclass(frozen=True)
class CandidateOptions:
    """The 設定 values that shape the list."""

    supported_children: str = "順位を下げる"  # 除外 / 順位を下げる / そのまま
    sibling_points: float = 0.0
    order: str = "点数"  # 点数 / 確率

    @classmethod
    def from_settings(cls, settings) -> CandidateOptions:
        """Read the options from a :class:`macros_py.config.settings.Settings`."""
        return cls(
            supported_children=settings.supported_children,
            sibling_points=float(settings.sibling_points),
            order=settings.candidate_order,
        )


def sibling_listed(listed: pd.DataFrame, households: pd.Series) -> pd.DataFrame:
    """True where another child of the same household is listed in that type.

    Args:
        listed: Bool per child (index resident_id) and type (columns).
        households: 世帯番号 per child (blank: no siblings known).
    """
    household = households.reindex(listed.index).fillna("").astype(str)
    counts = listed.astype(np.int64).groupby(household.to_numpy()).transform("sum")
    others = counts.to_numpy() - listed.astype(np.int64).to_numpy()
    others[household.to_numpy() == ""] = 0
    return pd.DataFrame(others > 0, index=listed.index, columns=listed.columns)


def listing_reasons(
    first: pd.DataFrame, final: pd.DataFrame, by_model: pd.Series, ranking_of: Mapping[str, str]
) -> pd.Series:
    """掲載理由 per child: the ranking methods that listed it, きょうだい, 確率.

    Each reason once, in the order the types first give it. Which reasons a child already
    has is kept as one boolean column per reason (a substring search of the texts per type
    took 0.7 s on a city).
    """
    parts = np.full(len(final), "", dtype=object)
    given: dict[str, np.ndarray] = {}

    def add(reason: str, where: np.ndarray) -> None:
        new = where & ~given.get(reason, np.zeros(len(parts), dtype=bool))
        parts[new] = parts[new] + ("・" + reason)
        given[reason] = given.get(reason, np.zeros(len(parts), dtype=bool)) | where

    for type_name in final.columns:
        own = first[type_name].to_numpy(dtype=bool)
        add(RANKING_REASONS.get(ranking_of.get(type_name, "threshold"), "基準点数以上"), own)
        add(SIBLING_REASON, final[type_name].to_numpy(dtype=bool) & ~own)
    by_probability = by_model.reindex(final.index).fillna(False).to_numpy(bool)
    parts[by_probability] = parts[by_probability] + ("・" + PROBABILITY_REASON)
    return pd.Series([text.lstrip("・") for text in parts], index=final.index, dtype=object)


def _best_grade(grades: pd.DataFrame, listed: pd.DataFrame) -> pd.Series:
    """The best (alphabetically first) grade among the child's listed types."""
    cells = grades.reindex_like(listed).fillna("").astype(str).where(listed.to_numpy(bool), "")
    matrix = cells.to_numpy(dtype=object)
    matrix = np.where(matrix == "", "\uffff", matrix)
    best = matrix.min(axis=1) if matrix.shape[1] else np.full(len(cells), "\uffff", dtype=object)
    return pd.Series(np.where(best == "\uffff", "", best), index=listed.index, dtype=object)


def _listed_types(listed: pd.DataFrame) -> pd.Series:
    """The listed types of each child joined with ・ (each distinct combination joined once)."""
    names = np.asarray(listed.columns, dtype=object)
    matrix = listed.to_numpy(bool)
    if matrix.size == 0:
        return pd.Series([""] * len(listed), index=listed.index, dtype=object)
    combinations, codes = np.unique(matrix, axis=0, return_inverse=True)
    texts = np.array(["・".join(names[row]) for row in combinations] + [""], dtype=object)
    return pd.Series(texts[np.asarray(codes, dtype=np.int64).reshape(-1)], index=listed.index, dtype=object)


def rank_children(
    *,
    totals: pd.Series,
    priority: pd.Series | None = None,
    probability: pd.Series | None,
    first: pd.DataFrame,
    final: pd.DataFrame,
    grades: pd.DataFrame,
    by_model: pd.Series,
    support: pd.Series,
    ranking_of: Mapping[str, str],
    options: CandidateOptions,
) -> pd.DataFrame:
    """Rank every child; listed children get 順位 1..n.

    Args:
        totals: 点数 per child (rule scores summed over types, after きょうだい加点).
        priority: The rule order per child (:func:`macros_py.score.points.rule_priority`:
            types listed, then the strongest type against its bar); ``None`` orders by
            ``totals``. 点数 stays the displayed figure; this only decides the order.
        probability: Model probability per child, or None without a model.
        first: Listed per type before きょうだい加点; ``final``: after it.
        grades: Grade per type (blank when none).
        by_model: True where the probability reaches the child's age-band threshold.
        support: 支援状況 per child (要対協 / 支援中 / 支援歴あり / blank); the setting
            applies to 要対協 and 支援中 only.
        ranking_of: Type name -> ranking method (for 掲載理由).
        options: The 設定 values.

    Returns:
        Frame indexed by resident_id (sorted) with ``rank`` (Int64, NA when not listed),
        ``listed``, ``total``, ``priority``, ``grade``, ``probability``, ``types``,
        ``support_status``, ``reason``.
    """
    index = totals.index
    status = support.reindex(index).fillna("").astype(str)
    chance = probability.reindex(index) if probability is not None else pd.Series(np.nan, index=index)
    listed = final.any(axis=1).to_numpy(bool) | by_model.reindex(index).fillna(False).to_numpy(bool)
    supported = status.isin(CURRENTLY_SUPPORTED).to_numpy()
    if options.supported_children == "除外":
        listed &= ~supported
    frame = pd.DataFrame(
        {
            "listed": listed,
            "total": totals.astype(float).round(6),
            "priority": (totals if priority is None else priority.reindex(index)).astype(float).round(6),
            "grade": _best_grade(grades, final),
            "probability": chance.astype(float).round(6),
            "types": _listed_types(final),
            "support_status": status,
            "reason": listing_reasons(first, final, by_model, ranking_of),
        },
        index=index,
    )
    frame.loc[~frame["listed"], "reason"] = ""
    demoted = supported.astype(int) if options.supported_children == "順位を下げる" else 0
    keys = ("probability", "priority") if options.order == "確率" else ("priority", "probability")
    order = pd.DataFrame(
        {
            "demoted": demoted,
            "first": -frame[keys[0]].fillna(-np.inf),
            "second": -frame[keys[1]].fillna(-np.inf),
            "id": index.astype(str),
        },
        index=index,
    )
    ranked = order[frame["listed"]].sort_values(["demoted", "first", "second", "id"], kind="stable").index
    frame["rank"] = pd.Series(pd.NA, index=index, dtype="Int64")
    frame.loc[ranked, "rank"] = np.arange(1, len(ranked) + 1)
    return frame


def _freshness(
    hit_matrix: np.ndarray, items: Sequence[str], item_status: pd.DataFrame, source_names
) -> list[str]:
    """Oldest extract date (and source name) behind each row's hits."""
    status = item_status.drop_duplicates("item_id").set_index("item_id") if len(item_status) else None
    dates = []
    for item in items:
        if status is None or item not in status.index:
            dates.append((pd.NaT, ""))
            continue
        dates.append((pd.to_datetime(status.at[item, "extract_date"]), str(status.at[item, "source_id"])))
    # Items with a date, oldest first (then by source): a row's text is its first hit in this order.
    dated = sorted(
        (column for column, (when, _) in enumerate(dates) if not pd.isna(when)),
        key=lambda column: dates[column],
    )
    labels = np.array(
        [f"{dates[c][0]:%Y-%m-%d}({source_names.get(dates[c][1], dates[c][1])})" for c in dated] + [""],
        dtype=object,
    )
    if not dated:
        return [""] * len(hit_matrix)
    ordered = np.asarray(hit_matrix, dtype=bool)[:, dated]
    first = np.where(ordered.any(axis=1), ordered.argmax(axis=1), len(dated))
    return labels[first].tolist()


def _item_reasons(
    hits: pd.DataFrame, rules: Sequence, model_up: pd.Series | None, model_down: pd.Series | None
) -> tuple[list[str], list[str]]:
    """主な理由 and 保護的要因 of each row: hit items by their points, then the model's.

    Rows with the same hits and model texts get the same lists, so each distinct
    combination is worked out once (a city's 6,800 listed children have far fewer).
    """
    shown = [rule for rule in rules if rule.enabled and rule.shown_in_review and rule.item_id in hits.columns]
    points = np.array([sum(float(value) for value in rule.points.values()) for rule in shown], dtype=float)
    names = [rule.name for rule in shown]
    # The items raising the score, strongest first (then in rule order); lowering: most negative first.
    up_order = sorted(np.flatnonzero(points > 0), key=lambda i: (-points[i], i))
    down_order = sorted(np.flatnonzero(points < 0), key=lambda i: (points[i], i))
    matrix = hits[[rule.item_id for rule in shown]].fillna(False).to_numpy(bool) if shown else None
    empty = np.zeros(0, dtype=bool)
    blank = [""] * len(hits)
    model_ups = [str(text) for text in model_up.to_numpy(dtype=object)] if model_up is not None else blank
    model_downs = (
        [str(text) for text in model_down.to_numpy(dtype=object)] if model_down is not None else blank
    )
    known: dict[tuple[bytes, str, str], tuple[str, str]] = {}
    ups, downs = [], []
    for position in range(len(hits)):
        row = matrix[position] if matrix is not None else empty
        key = (row.tobytes(), model_ups[position], model_downs[position])
        if key not in known:
            up = [names[i] for i in up_order if row[i]]
            down = [names[i] for i in down_order if row[i]]
            if model_up is not None:
                up += [name for name in key[1].split("、") if name and name not in up]
                down += [name for name in key[2].split("、") if name and name not in down and name not in up]
            known[key] = ("、".join(up[:MAX_REASONS]), "、".join(down[:MAX_REASONS]))
        ups.append(known[key][0])
        downs.append(known[key][1])
    return ups, downs


def _siblings_text(listed_ids: pd.Index, children: pd.DataFrame, ranks: pd.Series) -> list[str]:
    """Siblings (same 世帯番号) of each listed child: 氏名, with 順位 when listed.

    Ranked siblings come first by rank, then the others by 宛名番号. Column-wise (one merge
    per run): a loop over the listed children took 5 s on a city.
    """
    people = pd.DataFrame(
        {
            "other": children.index.astype(str),
            "household": children["household_id"].fillna("").astype(str).to_numpy(dtype=object),
            "name": children["name"].fillna("").astype(str).to_numpy(dtype=object),
        }
    )
    people = people[people["household"] != ""]
    listed = pd.Index(listed_ids.astype(str), dtype=object)
    wanted = people.loc[people["other"].isin(listed), ["other", "household"]].rename(
        columns={"other": "resident"}
    )
    pairs = wanted.merge(people, on="household")
    pairs = pairs[pairs["resident"] != pairs["other"]]
    rank_by_id = pd.Series(ranks.to_numpy(), index=ranks.index.astype(str))
    rank = pd.to_numeric(rank_by_id.reindex(pairs["other"].to_numpy()), errors="coerce").to_numpy(dtype=float)
    pairs = pairs.assign(unranked=np.isnan(rank), rank=np.nan_to_num(rank, nan=0.0))
    pairs = pairs.sort_values(["resident", "unranked", "rank", "other"], kind="stable")
    rank_text = pairs["rank"].astype(np.int64).astype(str)
    pairs["text"] = np.where(pairs["unranked"], pairs["name"], pairs["name"] + "(" + rank_text + "位)")
    # The pairs are sorted by resident: each resident's texts are one run of rows, joined as a
    # slice (groupby(...).agg("、".join) made a Series per child: 1.3 s of 1.7 on a city).
    residents = pairs["resident"].to_numpy(dtype=object)
    if len(residents) == 0:
        return [""] * len(listed)
    texts = pairs["text"].to_numpy(dtype=object).tolist()
    starts = np.flatnonzero(np.r_[True, residents[1:] != residents[:-1]])
    ends = [*starts[1:], len(residents)]
    joined = pd.Series(
        ["、".join(texts[start:end]) for start, end in zip(starts, ends, strict=True)],
        index=pd.Index(residents[starts], dtype=object),
        dtype=object,
    )
    return joined.reindex(listed).fillna("").tolist()


def _age_text(value) -> object:
    return int(value) if value is not None and not pd.isna(value) else None


def candidate_rows(
    ranking: pd.DataFrame,
    *,
    children: pd.DataFrame,
    hits: pd.DataFrame,
    rules: Sequence,
    item_status: pd.DataFrame,
    source_names: Mapping[str, str],
    model_reasons: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The 候補リスト table: one row per listed child, in 順位 order.

    Args:
        ranking: Output of :func:`rank_children`.
        children: ``ItemResults.children`` (name, age, school, grade, household_id).
        hits: Item hits per child.
        rules: The parsed 判定ルール rows.
        item_status: ``ItemResults.item_status`` (extract date per item).
        source_names: ソースID -> 名称, for データの鮮度.
        model_reasons: Model 主な理由 / 保護的要因 per child (``score.model.reason_texts``).
    """
    listed = ranking[ranking["listed"]].sort_values("rank")
    ids = listed.index
    listed_hits = hits.reindex(ids).fillna(False).astype(bool)
    model_up = model_reasons["主な理由"].reindex(ids).fillna("") if model_reasons is not None else None
    model_down = model_reasons["保護的要因"].reindex(ids).fillna("") if model_reasons is not None else None
    ups, downs = _item_reasons(listed_hits, rules, model_up, model_down)
    attributes = children.reindex(ids)
    table = pd.DataFrame(
        {
            "順位": listed["rank"].astype(int).to_numpy(),
            "宛名番号": ids.astype(str),
            "氏名": attributes["name"].fillna("").astype(str).to_numpy(),
            "年齢": [_age_text(value) for value in attributes["age"]],
            "学校": attributes["school"].fillna("").astype(str).to_numpy(),
            "学年": [_grade_text(value) for value in attributes["grade"]],
            "困難類型": listed["types"].to_numpy(),
            "点数": listed["total"].to_numpy(float),
            "等級": listed["grade"].to_numpy(),
            "確率": [None if pd.isna(value) else round(float(value), 3) for value in listed["probability"]],
            "主な理由": ups,
            "保護的要因": downs,
            "きょうだい": _siblings_text(ids, children, ranking["rank"]),
            "支援状況": listed["support_status"].to_numpy(),
            "データの鮮度": _freshness(
                listed_hits.to_numpy(), list(listed_hits.columns), item_status, source_names
            ),
            "掲載理由": listed["reason"].to_numpy(),
        },
        columns=CANDIDATES.headers,
    )
    return table.reset_index(drop=True)


def _grade_text(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
