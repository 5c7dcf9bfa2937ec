"""Example model plugin: a plain additive points model (weights of evidence).

How an administrator or vendor adds a model
-------------------------------------------
1. Put a ``.py`` file like this one in the plugins folder (設定タブ「プラグインフォルダ」).
2. Import only from ``macros_py.plugin_api`` and define one function decorated with
   ``@hookimpl`` named exactly ``register_models`` returning a list of
   ``ModelSpec(name, fit, predict, description)``.
3. ``fit(features, labels)`` receives the same features as the built-in model (one
   float column per item, indexed by 宛名番号, no missing values) and the labels (True =
   already known to services, from the 教師データ tab) and returns anything;
   ``predict(fitted, features)`` returns a score in [0, 1] per child (higher = more
   concern). Press 「判定」: the model is fitted and evaluated (cross-validated, like the
   built-in one) on the モデル評価 tab, rows 「プラグインモデル(加点モデル(例))」; the
   候補リスト stays the built-in one's. A model that fails is named on the ログ tab.

This model is the additive score some municipalities build by hand, learnt from the
labels: each feature that is present (value > 0) adds its weight of evidence
``log(P(present | known) / P(present | not known))`` (with +1 smoothing), features
whose weight is small are dropped, and the sum is turned into a probability with the
logistic function around the base rate. Every weight is visible (``fitted.weights``),
so the points can be explained to staff. It needs nothing beyond numpy and pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from macros_py.plugin_api import ModelSpec, hookimpl

MIN_ABS_WEIGHT = 0.1  # weights closer to zero than this are dropped (noise)


@dataclass(frozen=True)
class AdditivePoints:
    """The fitted model: one weight per feature and the base log-odds."""

    weights: pd.Series
    base_log_odds: float


def fit_additive(features: pd.DataFrame, labels: pd.Series) -> AdditivePoints:
    """Weights of evidence of each feature's presence, learnt from the labels."""
    present = features.to_numpy(dtype="float64") > 0
    known = labels.reindex(features.index).fillna(False).to_numpy(dtype=bool)
    positives, negatives = int(known.sum()), int((~known).sum())
    rate_known = (present[known].sum(axis=0) + 1) / (positives + 2)
    rate_other = (present[~known].sum(axis=0) + 1) / (negatives + 2)
    weights = pd.Series(np.log(rate_known / rate_other), index=features.columns)
    weights = weights[weights.abs() >= MIN_ABS_WEIGHT]
    base = float(np.log((positives + 1) / (negatives + 1)))
    return AdditivePoints(weights=weights, base_log_odds=base)


def predict_additive(fitted: AdditivePoints, features: pd.DataFrame) -> pd.Series:
    """Probability-like score: logistic of the base log-odds plus the weights present."""
    columns = [name for name in fitted.weights.index if name in features.columns]
    present = features[columns].to_numpy(dtype="float64") > 0
    logit = fitted.base_log_odds + present @ fitted.weights[columns].to_numpy()
    return pd.Series(1.0 / (1.0 + np.exp(-logit)), index=features.index)


@hookimpl
def register_models() -> list[ModelSpec]:
    """The example model."""
    return [
        ModelSpec(
            name="加点モデル(例)",
            fit=fit_additive,
            predict=predict_additive,
            description="項目ごとの重み(支援中の児童での出現率の比の対数)を足し合わせる、説明しやすいモデル",
        )
    ]
