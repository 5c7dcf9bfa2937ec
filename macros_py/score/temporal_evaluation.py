"""Temporal validation: fit on the earlier extract, test on the current one (SCORING.md §4).

Definitions (the モデル評価 rows and the JSON use the same words):

- **Earlier model**: the same model (``score.model.fit_model``, same seed) fitted on the
  earlier extract's features and labels (:class:`~macros_py.score.evaluation.EarlierExtract`).
- **Newly known** (新たに支援につながった児童): children present in both extracts who had no
  support status at the earlier extract and have one now. Children who were not in the
  earlier extract (born or moved in since) are counted apart and are not newly known.
- **Earlier list** (前回の候補): the earlier model's probabilities on the earlier features,
  top k % within each age at the earlier reference date (``ceil(k % × n_age)``, ties by
  resident id), as the candidate list ranks. "Found before services" = a newly known
  child who was on that list. This is the figure staff ask for: did the list find them
  before services did.
- **On current data** (今回のデータ): the earlier model applied to the current features,
  top k % within each current age; AUC, precision, recall and Brier against the
  current labels (all current children), and AUC among the children in both extracts
  who were not known earlier (newly known vs still unknown).

Nothing here reads synthetic truth; every figure is on the 教師データ labels.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from macros_py.score.evaluation import (
    TOP_PERCENTS,
    EarlierExtract,
    auc,
    brier_score,
    precision_recall,
    ranked_within_age,
)
from macros_py.score.model import ModelNotFittable, fit_model, predict_probability

__all__ = ["NO_EARLIER", "temporal_figures", "temporal_rows"]

logger = logging.getLogger(__name__)

CATEGORY = "時系列検証"
NO_EARLIER = "前回の抽出がまだないため行っていません。"


def _unavailable(reason: str, earlier: EarlierExtract | None = None) -> dict:
    figures: dict = {"available": False, "reason": reason}
    if earlier is not None and earlier.reference_date is not None:
        figures["earlier_reference_date"] = f"{pd.Timestamp(earlier.reference_date):%Y-%m-%d}"
        figures["extract_dates"] = {key: dict(value) for key, value in earlier.extract_dates.items()}
    return figures


def _when(earlier: EarlierExtract) -> str:
    if earlier.reference_date is None:
        return "前回の抽出"
    return f"前回の抽出({pd.Timestamp(earlier.reference_date):%Y-%m-%d}時点)"


def _found(selected: np.ndarray, newly: np.ndarray) -> tuple[int, float | None]:
    found = int((selected & newly).sum())
    total = int(newly.sum())
    return found, (found / total if total else None)


def temporal_figures(
    earlier: EarlierExtract,
    features: pd.DataFrame,
    labels: pd.Series,
    ages: pd.Series,
    *,
    seed: int = 0,
) -> dict:
    """Fit on the earlier extract and measure on the current children (JSON-able dict).

    Args:
        earlier: The earlier extract's features, labels and (optionally) ages.
        features: The current features (index resident_id).
        labels: True for children known to services now.
        ages: Age in years now.
        seed: Seed of the earlier model's cross-validation.

    Returns:
        ``available`` false with a Japanese ``reason`` (no children in common, or the
        earlier labels cannot make a model), else the figures named in the module
        docstring: ``auc``, ``brier``, ``precision_at``/``recall_at`` (k → share),
        ``newly_labelled``, ``newly_found_earlier_list`` / ``newly_found`` (k → count),
        their shares ``recall_newly_labelled_earlier_list`` / ``recall_newly_labelled``,
        ``auc_newly_labelled`` and the counts behind them.
    """
    current_ids = features.index
    earlier_ids = earlier.features.index
    common = current_ids.intersection(earlier_ids)
    when = _when(earlier)
    if len(earlier_ids) == 0:
        return _unavailable(f"{when}の対象の児童がいないため、前回の抽出で学習できません。", earlier)
    if len(common) == 0:
        return _unavailable(
            f"{when}の児童と今回の児童に共通する人(同じ宛名番号)がいないため、比べられません。"
            "住民記録の宛名番号の付け方が変わっていないか確認してください。",
            earlier,
        )
    try:
        model = fit_model(earlier.features, earlier.labels, seed=seed)
    except ModelNotFittable as error:
        return _unavailable(f"{when}のデータでは統計モデルを作れません。{error.message}", earlier)
    target = labels.reindex(current_ids).fillna(False).astype(bool).to_numpy()
    earlier_target = earlier.labels.reindex(earlier_ids).fillna(False).astype(bool)
    probability = predict_probability(model, features)
    earlier_probability = predict_probability(model, earlier.features)
    earlier_ages = earlier.ages if earlier.ages is not None else pd.Series(0, index=earlier_ids)
    in_common = current_ids.isin(common)
    known_before = earlier_target.reindex(current_ids).fillna(False).to_numpy(dtype=bool)
    newly = target & in_common & ~known_before
    not_known_before = in_common & ~known_before
    newly_earlier = (
        pd.Series(newly, index=current_ids).reindex(earlier_ids).fillna(False).to_numpy(dtype=bool)
    )
    figures: dict = {
        "available": True,
        "earlier_reference_date": None
        if earlier.reference_date is None
        else f"{pd.Timestamp(earlier.reference_date):%Y-%m-%d}",
        "extract_dates": {key: dict(value) for key, value in earlier.extract_dates.items()},
        "earlier_children": int(len(earlier_ids)),
        "earlier_labelled": int(earlier_target.sum()),
        "children": int(len(target)),
        "labelled": int(target.sum()),
        "children_in_common": int(in_common.sum()),
        "newly_labelled": int(newly.sum()),
        "labelled_not_in_earlier": int((target & ~in_common).sum()),
        "auc": auc(target, probability.to_numpy()),
        "brier": brier_score(probability.to_numpy(), target),
        "auc_newly_labelled": auc(newly[not_known_before], probability.to_numpy()[not_known_before]),
        "precision_at": {},
        "recall_at": {},
        "newly_found": {},
        "recall_newly_labelled": {},
        "newly_found_earlier_list": {},
        "recall_newly_labelled_earlier_list": {},
    }
    for percent in TOP_PERCENTS:
        key = str(percent)
        now = ranked_within_age(probability, ages.reindex(current_ids), percent).to_numpy()
        before = ranked_within_age(earlier_probability, earlier_ages.reindex(earlier_ids), percent).to_numpy()
        figures["precision_at"][key], figures["recall_at"][key] = precision_recall(now, target)
        figures["newly_found"][key], figures["recall_newly_labelled"][key] = _found(now, newly)
        found_before = _found(before, newly_earlier)
        figures["newly_found_earlier_list"][key] = found_before[0]
        figures["recall_newly_labelled_earlier_list"][key] = found_before[1]
    # the figures the モデル評価 tab has always shown, under their earlier names
    figures["precision_at_10"] = figures["precision_at"]["10"]
    figures["recall_at_10"] = figures["recall_at"]["10"]
    figures["recall_at_10_newly_labelled"] = figures["recall_newly_labelled"]["10"]
    logger.info(
        "時系列検証: 前回 %d 人(教師データ %d)、今回 %d 人、新たに支援につながった児童 %d 人",
        figures["earlier_children"],
        figures["earlier_labelled"],
        figures["children"],
        figures["newly_labelled"],
    )
    return figures


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _dates_text(temporal: dict) -> str:
    dates = temporal.get("extract_dates") or {}
    changed = [
        f"{pair.get('name', source)} {pair['earlier']}(今回 {pair['current']})"
        for source, pair in dates.items()
        if pair.get("earlier") != pair.get("current")
    ]
    reference = temporal.get("earlier_reference_date")
    later_only = [
        f"{pair.get('name', source)} {pair['current']}"
        for source, pair in dates.items()
        if reference
        and pair.get("earlier") == pair.get("current")
        and (pair.get("current") or "") > reference
    ]
    text = f"前回の抽出を使ったソース: {'、'.join(changed)}。" if changed else ""
    if later_only:
        text += f"前回の抽出がなく、基準より後の抽出を使ったソース: {'、'.join(later_only)}。"
    return text


def temporal_rows(temporal: dict | None) -> list[tuple[str, str, str, str]]:
    """The モデル評価 rows (区分, 指標, 値, 説明) of the temporal figures, in Japanese."""
    title = "前回の抽出で学習し今回で検証"
    if temporal is None:
        return [(CATEGORY, title, "—", NO_EARLIER)]
    if not temporal["available"]:
        return [(CATEGORY, title, "できません", temporal["reason"])]
    newly = temporal["newly_labelled"]
    rows = [
        (
            CATEGORY,
            "前回の抽出",
            f"{temporal['earlier_reference_date'] or '—'}時点 / 児童 {temporal['earlier_children']}人"
            f"(教師データ {temporal['earlier_labelled']}人)",
            "教師データのソースの一つ前の抽出の時点に戻って統計モデルを作り直し、今回の児童で当たり具合を確かめました。"
            + _dates_text(temporal),
        ),
        (
            CATEGORY,
            "新たに支援につながった児童",
            f"{newly}人",
            f"前回も今回も対象の児童({temporal['children_in_common']}人)のうち、前回は支援状況がなく今回ある児童。"
            f"前回いなかった(転入・出生など)で今回支援状況のある児童 {temporal['labelled_not_in_earlier']}人は含みません。",
        ),
    ]
    for percent in (5, 10, 20):
        key = str(percent)
        rows.append(
            (
                CATEGORY,
                f"前回の候補(各年齢の上位{percent}%)に入っていた人数",
                f"{temporal['newly_found_earlier_list'][key]} / {newly}人"
                f"({_share(temporal['recall_newly_labelled_earlier_list'][key])})",
                f"新たに支援につながった児童のうち、前回のデータと前回のモデルで各年齢の上位{percent}%に入っていた人数。"
                "支援につながる前に、このリストで見つけられていた人数です。",
            )
        )
    for percent in (5, 10, 20):
        key = str(percent)
        rows.append(
            (
                CATEGORY,
                f"今回のデータで上位{percent}%に入った人数",
                f"{temporal['newly_found'][key]} / {newly}人({_share(temporal['recall_newly_labelled'][key])})",
                f"前回のモデルで今回のデータを評価したとき、新たに支援につながった児童のうち各年齢の上位{percent}%に入った人数。",
            )
        )
    rows += [
        (
            CATEGORY,
            "AUC",
            _number(temporal["auc"]),
            "前回の抽出で作ったモデルで今回の全児童を評価したAUC(0.5は当てずっぽう、1は完全)。",
        ),
        (
            CATEGORY,
            "AUC(前回支援状況のなかった児童)",
            _number(temporal["auc_newly_labelled"]),
            "前回も今回もいて前回は支援状況のなかった児童のうち、新たに支援につながった児童とそうでない児童を見分けられる度合い。",
        ),
        (
            CATEGORY,
            "適合率 / 再現率(各年齢の上位10%)",
            f"{_share(temporal['precision_at']['10'])} / {_share(temporal['recall_at']['10'])}",
            f"前回のモデルによる今回の各年齢上位10%のうち教師データの児童の割合 / 教師データの児童(今回 {temporal['labelled']}人)のうち上位10%に入った割合。",
        ),
        (
            CATEGORY,
            "Brierスコア",
            f"{temporal['brier']:.4f}",
            "前回のモデルの確率と今回の支援状況の差の2乗の平均(小さいほど確率が当たっている)。",
        ),
    ]
    return rows
