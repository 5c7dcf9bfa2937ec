"""Honest evaluation of the model against the labels (children known to services).

Everything here is measured on the 教師データ labels, never on synthetic truth, and is
computed on every run (SCORING.md §4). Definitions, so that staff and developers read
the モデル評価 tab the same way:

- **AUC (交差検証)**: ROC AUC of out-of-fold probabilities from a stratified 5-fold
  cross-validation (shuffled with the run's seed): each child is scored by a model that
  never saw its label.
- **Precision and recall at the top k %** (k = 5, 10, 20), on the same out-of-fold
  probabilities. ``precision_at``/``recall_at`` rank **within each age (years)**: the
  ``ceil(k % × n_age)`` highest of each age are selected, as the candidate list does
  ("top 10 % within each age"). ``precision_at_overall``/``recall_at_overall`` rank all
  children together (``ceil(k % × n)``). Ties are broken by resident id.
- **Calibration**: children sorted by out-of-fold calibrated probability and cut into ten
  groups of (nearly) equal size (deciles); per group the mean predicted probability and
  the observed share of labelled children. Brier score = mean squared difference
  between probability and label.
- **Temporal validation** (when an earlier extract's features and labels are given):
  a model fitted on the earlier extract scores the earlier and the current children;
  how many children known to services only since then were on the earlier list, plus
  AUC, precision, recall and Brier against the current labels. Definitions in
  :mod:`macros_py.score.temporal_evaluation`; the earlier extract is rebuilt from the
  store by :mod:`macros_py.score.temporal`.
- **Dominance**: over the listed children, each item's share of the summed positive
  contributions (what pushed listed children up). The warning fires when one item's
  share exceeds 50 %. Also reported: the share of listed children whose strongest
  reason is that item.
- **Group gaps** (foreign, single_parent, disability_household: in vs out of the group;
  school: the highest vs the lowest school with at least 30 children): the flag rate
  (share listed) and the recall (share of labelled children listed). A recall gap of
  0.20 or more (each side with at least 10 labelled children) and a flag-rate ratio of
  3 or more (each side with at least 30 children) are warned.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from macros_py.score.model import (
    FOLDS,
    FittedModel,
    ModelNotFittable,
    check_fittable,
    contributions,
    cross_validated_logits,
    fit_model,
    platt_scaling,
    predict_probability,
)

__all__ = [
    "DOMINANCE_SHARE",
    "TOP_PERCENTS",
    "EarlierExtract",
    "Evaluation",
    "auc",
    "brier_score",
    "calibration_bins",
    "dominance",
    "evaluate",
    "evaluation_rows",
    "group_gaps",
    "out_of_fold_probability",
    "precision_recall",
    "ranked_within_age",
    "top_selection",
]

logger = logging.getLogger(__name__)

TOP_PERCENTS: tuple[int, ...] = (5, 10, 20)
DOMINANCE_SHARE = 0.5
RECALL_GAP = 0.20
FLAG_RATE_RATIO = 3.0
MIN_GROUP_CHILDREN = 30
MIN_GROUP_LABELLED = 10
CALIBRATION_BINS = 10
GROUP_NAMES: dict[str, str] = {
    "foreign": "外国籍の世帯",
    "single_parent": "ひとり親世帯",
    "disability_household": "障害のある人がいる世帯",
    "school": "学校",
}
ROW_COLUMNS = ("区分", "指標", "値", "説明")


@dataclass(frozen=True)
class EarlierExtract:
    """Features and labels of the earlier extract (for temporal validation).

    Built from the store by :func:`macros_py.score.temporal.earlier_extract`.

    Attributes:
        features: Model features per earlier child (index resident_id).
        labels: True for children known to services at the earlier extract.
        ages: Age in years at the earlier reference date (same index); ``None``: the
            earlier list is ranked over all children together.
        reference_date: The earlier reference date (``None`` when not from a store).
        extract_dates: Source id → ``{"name", "earlier", "current"}`` (ISO dates) of the
            sources the earlier state read.
    """

    features: pd.DataFrame
    labels: pd.Series
    ages: pd.Series | None = None
    reference_date: pd.Timestamp | None = None
    extract_dates: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    """The evaluation of one run: JSON-able ``summary``, モデル評価 ``rows``, ``warnings``."""

    summary: dict
    rows: pd.DataFrame
    warnings: tuple[str, ...] = field(default=())


def _order(scores: np.ndarray) -> np.ndarray:
    # Highest first; the index is sorted by resident id, so a stable sort breaks ties by id.
    return np.argsort(-scores, kind="stable")


def top_selection(scores: pd.Series, percent: float) -> pd.Series:
    """True for the ``ceil(percent % × n)`` highest scores overall (ties by position)."""
    values = scores.to_numpy(dtype=np.float64)
    chosen = np.zeros(len(values), dtype=bool)
    chosen[_order(values)[: math.ceil(len(values) * percent / 100.0)]] = True
    return pd.Series(chosen, index=scores.index)


def ranked_within_age(scores: pd.Series, ages: pd.Series, percent: float) -> pd.Series:
    """True for the ``ceil(percent % × n_age)`` highest scores of each age (years)."""
    values = scores.to_numpy(dtype=np.float64)
    age = pd.to_numeric(ages.reindex(scores.index), errors="coerce").fillna(-1).to_numpy(np.int64)
    order = np.lexsort((np.arange(len(values)), -values, age))  # by age, score desc, position
    sorted_age = age[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_age)) + 1]
    sizes = np.diff(np.r_[starts, len(order)])
    position_in_age = np.arange(len(order)) - np.repeat(starts, sizes)
    quota = np.repeat(np.ceil(sizes * percent / 100.0).astype(np.int64), sizes)
    chosen = np.zeros(len(values), dtype=bool)
    chosen[order[position_in_age < quota]] = True
    return pd.Series(chosen, index=scores.index)


def precision_recall(selected: np.ndarray, labels: np.ndarray) -> tuple[float | None, float | None]:
    """Precision and recall of a selection (``None`` when nothing is selected / labelled)."""
    chosen = int(selected.sum())
    positives = int(labels.sum())
    hits = int((selected & labels).sum())
    precision = hits / chosen if chosen else None
    recall = hits / positives if positives else None
    return precision, recall


def auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC (``sklearn.metrics.roc_auc_score``); ``None`` for a single class."""
    from sklearn.metrics import roc_auc_score

    if labels.all() or not labels.any():
        return None
    return float(roc_auc_score(labels, scores))


def calibration_bins(
    probability: pd.Series, labels: pd.Series, *, bins: int = CALIBRATION_BINS
) -> list[dict]:
    """Deciles (by default) of the predicted probability: count, mean predicted, observed share.

    Children are ordered by probability (ties by position) and split into ``bins`` groups
    whose sizes differ by at most one (``numpy.array_split``); empty groups are left out.
    """
    values = probability.to_numpy(dtype=np.float64)
    target = labels.reindex(probability.index).fillna(False).astype(bool).to_numpy()
    order = np.argsort(values, kind="stable")
    rows = []
    for number, part in enumerate(np.array_split(order, bins), start=1):
        if len(part) == 0:
            continue
        rows.append(
            {
                "bin": number,
                "count": int(len(part)),
                "predicted": float(values[part].mean()),
                "observed": float(target[part].mean()),
                "low": float(values[part].min()),
                "high": float(values[part].max()),
            }
        )
    return rows


def dominance(
    pushes: pd.DataFrame,
    listed: pd.Series,
    *,
    names: Mapping[str, str] | None = None,
    what: str = "統計モデルの確率",
) -> dict:
    """Whether one item drives the ranking of the listed children.

    Args:
        pushes: Contribution of each item to each child's score (model: logit units from
            :func:`macros_py.score.model.contributions`; rules: points of the hit items).
        listed: True for the children on the list.
        names: Item id → Japanese name for the message.
        what: What was pushed, for the message (統計モデルの確率 / 判定ルールの点数).

    Returns:
        ``{"item", "name", "share", "top_reason_share", "listed", "warning"}``; ``share`` is the
        item's part of the summed positive contributions of listed children, ``warning`` is
        a Japanese sentence when ``share`` > 50 %, else ``None``.
    """
    chosen = listed.reindex(pushes.index).fillna(False).astype(bool).to_numpy()
    positive = np.clip(pushes.to_numpy(dtype=np.float64)[chosen], 0.0, None)
    result = {
        "item": None,
        "name": None,
        "share": None,
        "top_reason_share": None,
        "listed": int(chosen.sum()),
        "warning": None,
    }
    total = positive.sum()
    if positive.size == 0 or total <= 0:
        return result
    per_item = positive.sum(axis=0)
    best = int(np.argmax(per_item))
    item = str(pushes.columns[best])
    strongest = np.argmax(positive, axis=1)[positive.max(axis=1) > 0]
    name = (names or {}).get(item, item)
    share = float(per_item[best] / total)
    result.update(
        item=item,
        name=name,
        share=share,
        top_reason_share=float((strongest == best).sum() / max(len(strongest), 1)),
    )
    if share > DOMINANCE_SHARE:
        result["warning"] = (
            f"候補の児童の{what}を押し上げた分の{share:.0%}が「{name}」1項目によるものです。"
            "1つの項目が候補を決めてしまっていないか、配点や項目を見直してください。"
        )
    return result


def _rates(listed: np.ndarray, labels: np.ndarray, members: np.ndarray) -> dict:
    count = int(members.sum())
    labelled = int((labels & members).sum())
    return {
        "children": count,
        "labelled": labelled,
        "flag_rate": float(listed[members].mean()) if count else None,
        "recall": float((listed & labels & members).sum() / labelled) if labelled else None,
    }


def _gap_warnings(name: str, first: dict, second: dict, first_name: str, second_name: str) -> list[str]:
    messages = []
    if (
        first["recall"] is not None
        and second["recall"] is not None
        and min(first["labelled"], second["labelled"]) >= MIN_GROUP_LABELLED
        and abs(first["recall"] - second["recall"]) >= RECALL_GAP
    ):
        messages.append(
            f"{name}: 教師データの児童が候補に入る割合(再現率)が{first_name} {first['recall']:.0%}、"
            f"{second_name} {second['recall']:.0%}と大きく違います。"
        )
    rates = (first["flag_rate"], second["flag_rate"])
    if (
        None not in rates
        and min(first["children"], second["children"]) >= MIN_GROUP_CHILDREN
        and max(rates) > 0
        and (min(rates) == 0 or max(rates) / min(rates) >= FLAG_RATE_RATIO)
    ):
        messages.append(
            f"{name}: 候補になる割合が{first_name} {rates[0]:.1%}、{second_name} {rates[1]:.1%}で"
            f"{FLAG_RATE_RATIO:g}倍以上違います。項目が特定のグループに偏っていないか確認してください。"
        )
    return messages


def group_gaps(listed: pd.Series, labels: pd.Series, groups: pd.DataFrame) -> tuple[dict, list[str]]:
    """Flag rate and recall per group, with Japanese warnings for large gaps.

    Args:
        listed: True for listed children (index = children).
        labels: True for labelled children.
        groups: Boolean columns ``foreign``, ``single_parent``, ``disability_household`` and a
            text column ``school`` (blank: not at school); missing columns are skipped.

    Returns:
        ``(gaps, warnings)``: ``gaps[group]`` holds ``in``/``out`` rates for boolean groups,
        and for ``school`` the ``highest``/``lowest`` flag-rate school (≥ 30 children,
        named) with their rates.
    """
    index = listed.index
    chosen = listed.astype(bool).to_numpy()
    target = labels.reindex(index).fillna(False).astype(bool).to_numpy()
    gaps: dict = {}
    messages: list[str] = []
    for column in ("foreign", "single_parent", "disability_household"):
        if column not in groups.columns:
            continue
        member = groups[column].reindex(index).fillna(False).astype(bool).to_numpy()
        inside, outside = _rates(chosen, target, member), _rates(chosen, target, ~member)
        gaps[column] = {"in": inside, "out": outside}
        messages += _gap_warnings(GROUP_NAMES[column], inside, outside, "該当", "非該当")
    if "school" in groups.columns:
        codes, names = pd.factorize(groups["school"].reindex(index).fillna("").astype(str), sort=True)
        children = np.bincount(codes, minlength=len(names))
        large = {
            str(names[code]): _rates(chosen, target, codes == code)
            for code in np.flatnonzero(children >= MIN_GROUP_CHILDREN)
            if str(names[code]) != ""
        }
        if len(large) >= 2:
            high = max(large, key=lambda name: (large[name]["flag_rate"], name))
            low = min(large, key=lambda name: (large[name]["flag_rate"], name))
            gaps["school"] = {
                "highest": {"school": high, **large[high]},
                "lowest": {"school": low, **large[low]},
            }
            messages += _gap_warnings(GROUP_NAMES["school"], large[high], large[low], high, low)
    return gaps, messages


def _top_metrics(probability: pd.Series, labels: np.ndarray, ages: pd.Series) -> dict:
    metrics: dict = {"precision_at": {}, "recall_at": {}, "precision_at_overall": {}, "recall_at_overall": {}}
    for percent in TOP_PERCENTS:
        within = ranked_within_age(probability, ages, percent).to_numpy()
        overall = top_selection(probability, percent).to_numpy()
        key = str(percent)
        metrics["precision_at"][key], metrics["recall_at"][key] = precision_recall(within, labels)
        metrics["precision_at_overall"][key], metrics["recall_at_overall"][key] = precision_recall(
            overall, labels
        )
    return metrics


def brier_score(probability: np.ndarray, labels: np.ndarray) -> float:
    """Mean squared difference between probability and the 0/1 label."""
    return float(np.mean((probability - labels.astype(np.float64)) ** 2))


def out_of_fold_probability(
    features: pd.DataFrame, labels: np.ndarray, *, seed: int = 0, folds: int = FOLDS
) -> pd.Series:
    """Calibrated out-of-fold probability per child (what the cross-validated metrics use)."""
    logits = cross_validated_logits(features, labels, seed=seed, folds=folds)
    a, b = platt_scaling(logits, labels, seed)
    return pd.Series(1.0 / (1.0 + np.exp(-(a * logits + b))), index=features.index)


def _unavailable(reason: str, labels: np.ndarray, rules_dominance: dict | None) -> Evaluation:
    summary = {
        "available": False,
        "reason": reason,
        "children": int(len(labels)),
        "labelled": int(labels.sum()),
        "dominance_rules": rules_dominance,
    }
    extra = [rules_dominance["warning"]] if rules_dominance and rules_dominance["warning"] else []
    rows = [("モデル", "評価", "できません", reason), *_dominance_rows(rules_dominance, "判定ルール")]
    rows += [("警告", "確認してください", "", message) for message in extra]
    return Evaluation(
        summary=summary, rows=pd.DataFrame(rows, columns=list(ROW_COLUMNS)), warnings=(reason, *extra)
    )


def _temporal(earlier, reason, features, labels, ages, seed) -> dict | None:
    from macros_py.score.temporal_evaluation import temporal_figures

    if earlier is not None:
        return temporal_figures(earlier, features, labels, ages, seed=seed)
    return {"available": False, "reason": reason} if reason else None


def _dominance_rows(dominant: dict | None, label: str) -> list[tuple[str, str, str, str]]:
    if dominant is None or dominant["item"] is None:
        return []
    return [
        (
            f"偏り({label})",
            f"最も効いている項目: {dominant['name']}",
            _share(dominant["share"]),
            f"候補の児童({dominant['listed']}人)の{label}の点数を押し上げた分のうち、この項目の割合"
            f"(50%を超えると警告)。{_share(dominant['top_reason_share'])}の児童でいちばん大きな理由です。",
        )
    ]


def evaluate(
    features: pd.DataFrame,
    labels: pd.Series,
    ages: pd.Series,
    groups: pd.DataFrame,
    *,
    seed: int = 0,
    earlier: EarlierExtract | None = None,
    listed: pd.Series | None = None,
    model: FittedModel | None = None,
    names: Mapping[str, str] | None = None,
    rule_points: pd.DataFrame | None = None,
    earlier_reason: str | None = None,
) -> Evaluation:
    """Evaluate the model on the labels (see the module docstring for every definition).

    Args:
        features: Model features, one row per child (index resident_id, sorted).
        labels: True for children known to services (same index).
        ages: Age in years per child.
        groups: Group columns (``foreign``, ``single_parent``, ``disability_household``,
            ``school``) per child, e.g. ``ItemResults.children``.
        seed: Seed of the cross-validation split.
        earlier: The earlier extract's features and labels, for temporal validation
            (:mod:`macros_py.score.temporal_evaluation`).
        listed: True for the children on the candidate list; default: the top 10 %
            within each age by the model's probability.
        model: The run's fitted model (fitted here when not given).
        names: Feature name (item id) → Japanese name for rows and warnings.
        rule_points: Points each item gave each child under the 判定ルール (summed over
            hardship types); with ``listed``, the dominance of the rule ranking is
            reported too (``summary["dominance_rules"]``), even without a model.
        earlier_reason: Why there is no earlier extract (Japanese; shown when
            ``earlier`` is ``None``).

    Returns:
        The evaluation; when no model can be fitted, ``summary["available"]`` is false and
        ``rows`` hold the Japanese reason (the run goes on without a model).
    """
    target = labels.reindex(features.index).fillna(False).astype(bool).to_numpy()
    rules_dominance = None
    if rule_points is not None and listed is not None:
        rules_dominance = dominance(rule_points, listed, names=names, what="判定ルールの点数")
    try:
        positives, negatives = check_fittable(features, target)
        model = model if model is not None else fit_model(features, labels, seed=seed)
    except ModelNotFittable as error:
        return _unavailable(error.message, target, rules_dominance)
    ages = ages.reindex(features.index)
    folds = int(min(FOLDS, positives, negatives))
    out_of_fold = out_of_fold_probability(features, target, seed=seed, folds=folds)
    probability = predict_probability(model, features)
    if listed is None:
        listed = ranked_within_age(probability, ages, 10)
    listed = listed.reindex(features.index).fillna(False).astype(bool)
    pushes = contributions(model, features)
    gaps, gap_warnings = group_gaps(listed, labels, groups)
    summary = {
        "available": True,
        "children": int(len(target)),
        "labelled": positives,
        "folds": folds,
        "seed": seed,
        "auc_cv": auc(target, out_of_fold.to_numpy()),
        **_top_metrics(out_of_fold, target, ages),
        "brier": brier_score(out_of_fold.to_numpy(), target),
        "calibration": calibration_bins(out_of_fold, pd.Series(target, index=features.index)),
        "temporal": _temporal(earlier, earlier_reason, features, labels, ages, seed),
        "dominance": dominance(pushes, listed, names=names),
        "dominance_rules": rules_dominance,
        "group_gaps": gaps,
    }
    messages = [
        part["warning"]
        for part in (rules_dominance, summary["dominance"])
        if part is not None and part["warning"]
    ] + gap_warnings
    summary["warnings"] = messages
    return Evaluation(summary=summary, rows=evaluation_rows(summary), warnings=tuple(messages))


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _number(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _top_rows(summary: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    for percent in TOP_PERCENTS:
        key = str(percent)
        rows += [
            (
                f"上位{percent}%",
                "適合率(年齢内)",
                _share(summary["precision_at"][key]),
                f"各年齢で確率の高い上位{percent}%のうち、教師データの児童の割合(交差検証)。",
            ),
            (
                f"上位{percent}%",
                "再現率(年齢内)",
                _share(summary["recall_at"][key]),
                f"教師データの児童のうち、各年齢の上位{percent}%に入った割合(交差検証)。",
            ),
            (
                f"上位{percent}%",
                "適合率(全体)",
                _share(summary["precision_at_overall"][key]),
                f"年齢を分けずに全体の上位{percent}%をとった場合の適合率。",
            ),
            (
                f"上位{percent}%",
                "再現率(全体)",
                _share(summary["recall_at_overall"][key]),
                f"年齢を分けずに全体の上位{percent}%をとった場合の再現率。",
            ),
        ]
    return rows


def _calibration_rows(summary: dict) -> list[tuple[str, str, str, str]]:
    rows = [
        (
            "較正",
            "Brierスコア",
            _number(summary["brier"], 4),
            "確率と実際(支援状況あり=1、それ以外=0)の差の2乗の平均。小さいほど確率が当たっています。",
        )
    ]
    for part in summary["calibration"]:
        rows.append(
            (
                "較正",
                f"第{part['bin']}十分位({part['count']}人)",
                f"予測 {part['predicted']:.1%} / 実際 {part['observed']:.1%}",
                "確率の低い順に10等分した組ごとの、予測確率の平均と教師データの児童の実際の割合。",
            )
        )
    return rows


def _temporal_rows(temporal: dict | None) -> list[tuple[str, str, str, str]]:
    from macros_py.score.temporal_evaluation import temporal_rows

    return temporal_rows(temporal)


def _group_rows(gaps: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    for column in ("foreign", "single_parent", "disability_household"):
        if column not in gaps:
            continue
        inside, outside = gaps[column]["in"], gaps[column]["out"]
        rows += [
            (
                "グループ差",
                f"{GROUP_NAMES[column]}: 候補率",
                f"{_share(inside['flag_rate'])} / {_share(outside['flag_rate'])}",
                f"該当({inside['children']}人)/非該当({outside['children']}人)の児童のうち候補になった割合。",
            ),
            (
                "グループ差",
                f"{GROUP_NAMES[column]}: 再現率",
                f"{_share(inside['recall'])} / {_share(outside['recall'])}",
                f"該当/非該当の教師データの児童({inside['labelled']}人/{outside['labelled']}人)のうち候補になった割合。",
            ),
        ]
    if "school" in gaps:
        high, low = gaps["school"]["highest"], gaps["school"]["lowest"]
        rows.append(
            (
                "グループ差",
                "学校: 候補率の最大/最小",
                f"{_share(high['flag_rate'])} / {_share(low['flag_rate'])}",
                f"児童{MIN_GROUP_CHILDREN}人以上の学校で、候補になる割合が最も高い{high['school']}と最も低い{low['school']}。",
            )
        )
    return rows


def evaluation_rows(summary: dict) -> pd.DataFrame:
    """The モデル評価 rows (区分, 指標, 値, 説明) of an evaluation summary."""
    rows = [
        (
            "交差検証",
            "AUC",
            _number(summary["auc_cv"]),
            f"{summary['folds']}分割の交差検証で、教師データの児童とそうでない児童を確率で見分けられる度合い"
            "(0.5は当てずっぽう、1は完全)。学習に使っていない児童で測っています。",
        ),
        (
            "交差検証",
            "児童数 / 教師データの児童",
            f"{summary['children']} / {summary['labelled']}",
            "評価に使った児童と、教師データ(要対協・支援中・支援歴あり)の児童の人数。",
        ),
        *_top_rows(summary),
        *_calibration_rows(summary),
        *_temporal_rows(summary["temporal"]),
    ]
    rows += _dominance_rows(summary.get("dominance_rules"), "判定ルール")
    rows += _dominance_rows(summary["dominance"], "統計モデル")
    rows += _group_rows(summary["group_gaps"])
    rows += [("警告", "確認してください", "", message) for message in summary.get("warnings", [])]
    return pd.DataFrame(rows, columns=list(ROW_COLUMNS))
