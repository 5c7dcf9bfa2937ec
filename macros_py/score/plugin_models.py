"""Plugin models (hook ``register_models``) evaluated beside the built-in model.

Each :class:`~macros_py.plugin_api.ModelSpec` is fitted and evaluated on the same
features and labels as the built-in model, with out-of-fold predictions of the same
stratified k-fold split size, so the figures on the モデル評価 tab are comparable:
cross-validated AUC and precision / recall at the top 5, 10 and 20 % of each age (as
:mod:`macros_py.score.evaluation` defines them). Plugin models do not change the
candidate list; they are compared, and an administrator decides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from macros_py.plugins import Plugins, plugin_model_scores
from macros_py.score.evaluation import (
    FOLDS,
    ROW_COLUMNS,
    TOP_PERCENTS,
    auc,
    precision_recall,
    ranked_within_age,
)

__all__ = ["PluginModelEvaluation", "evaluate_plugin_models"]


@dataclass(frozen=True)
class PluginModelEvaluation:
    """Figures per plugin model: JSON-able ``summary`` (by model name) and モデル評価 ``rows``."""

    summary: dict
    rows: pd.DataFrame


def _figures(scores: pd.Series, target: np.ndarray, ages: pd.Series) -> dict:
    figures: dict = {"auc_cv": auc(target, scores.to_numpy()), "precision_at": {}, "recall_at": {}}
    for percent in TOP_PERCENTS:
        selected = ranked_within_age(scores, ages, percent).to_numpy()
        precision, recall = precision_recall(selected, target)
        figures["precision_at"][str(percent)] = precision
        figures["recall_at"][str(percent)] = recall
    return figures


def _rows(name: str, figures: dict) -> list[tuple[str, str, str, str]]:
    section = f"プラグインモデル({name})"

    def shown(value: float | None, digits: str = ".3f") -> str:
        return "—" if value is None else format(value, digits)

    rows = [
        (
            section,
            "AUC(交差検証)",
            shown(figures["auc_cv"]),
            "支援につながっている児童(教師データ)をどれだけ上位に並べられるか。0.5 は偶然と同じ、1 は完全。標準のモデルと同じ分割で計算",
        )
    ]
    for percent in TOP_PERCENTS:
        key = str(percent)
        rows.append(
            (
                section,
                f"上位{percent}%の適合率・再現率",
                f"{shown(figures['precision_at'][key], '.1%')} / {shown(figures['recall_at'][key], '.1%')}",
                f"年齢ごとの上位{percent}%に入った児童のうち支援につながっている割合 / 支援につながっている児童のうち上位に入った割合",
            )
        )
    return rows


def evaluate_plugin_models(
    plugins: Plugins | None, features: pd.DataFrame, labels: pd.Series, ages: pd.Series, *, seed: int = 0
) -> PluginModelEvaluation:
    """Fit and evaluate every plugin model (out-of-fold) on the built-in model's inputs.

    Args:
        plugins: Loaded plugins (``None`` or no ``register_models``: nothing to do).
        features: The built-in model's features (index resident_id).
        labels: True for children known to services.
        ages: Age in years per child.
        seed: Seed of the split.

    Returns:
        ``summary`` by model name (``auc_cv``, ``precision_at``/``recall_at`` by percent)
        and the モデル評価 rows. A failing model is left out; its problem is in
        ``plugins.problems`` (the ログ tab).
    """
    empty = PluginModelEvaluation(summary={}, rows=pd.DataFrame(columns=list(ROW_COLUMNS)))
    if plugins is None or not plugins.manager.hook.register_models.get_hookimpls():
        return empty
    target = labels.reindex(features.index).fillna(False).astype(bool)
    positives, negatives = int(target.sum()), int((~target).sum())
    folds = int(min(FOLDS, positives, negatives))
    if folds < 2:
        row = (
            "プラグインモデル",
            "評価",
            "できません",
            "教師データの児童が少なすぎるため、プラグインモデルを評価できません",
        )
        return PluginModelEvaluation(summary={}, rows=pd.DataFrame([row], columns=list(ROW_COLUMNS)))
    scores = plugin_model_scores(plugins, features, target, folds=folds, seed=seed)
    ages = ages.reindex(features.index)
    summary: dict = {}
    rows: list[tuple[str, str, str, str]] = []
    for name in scores.columns:
        summary[name] = _figures(scores[name], target.to_numpy(), ages)
        rows += _rows(name, summary[name])
    return PluginModelEvaluation(summary=summary, rows=pd.DataFrame(rows, columns=list(ROW_COLUMNS)))
