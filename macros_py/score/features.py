"""Model features from items: hits as 0/1 and transformed numeric values.

Items read from a label source (教師データ: 要対協, consultation, SSW ...) never enter
the model: they are what the labels are made of, so using them would let the model
"predict" support from the support record itself (leakage).

Feature names: an item's hit is named by its item id (``欠席30日``); its numeric value,
for the numeric aggregations (件数, 合計, 最大, 最小, 最新, 前回差), by the item id
followed by :data:`VALUE_SUFFIX` (``欠席30日:値``). Values are transformed with a signed
``log1p`` (counts and days are skewed), a child without a record gets the median of the
children who have one (neutral rather than "zero absences"), and the result is clipped
to the 0.5–99.5 percentiles of the recorded values so that one extreme record cannot
dominate a coefficient.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "NUMERIC_AGGREGATIONS",
    "VALUE_SUFFIX",
    "feature_labels",
    "feature_presence",
    "hidden_features",
    "model_features",
    "model_rules",
]

logger = logging.getLogger(__name__)

VALUE_SUFFIX = ":値"
NUMERIC_AGGREGATIONS = frozenset({"count", "sum", "max", "min", "latest", "change"})
_CLIP_QUANTILES = (0.005, 0.995)


def _available_items(results) -> set[str]:
    status = getattr(results, "item_status", None)
    if status is None or len(status) == 0 or "available" not in status.columns:
        return set(results.hits.columns)
    available = status.loc[status["available"].astype(bool), "item_id"].astype(str)
    return set(available) & set(results.hits.columns)


def model_rules(results, *, rules: Sequence, label_source_ids: Iterable[str]) -> tuple:
    """The rules whose items feed the model: enabled, computed, available, not from a label source."""
    excluded = set(label_source_ids)
    available = _available_items(results)
    return tuple(
        rule
        for rule in rules
        if rule.enabled and rule.source_id not in excluded and rule.item_id in available
    )


def _transformed(values: pd.Series) -> pd.Series:
    raw = values.to_numpy(dtype=np.float64, na_value=np.nan).copy()
    transformed = np.sign(raw) * np.log1p(np.abs(raw))
    recorded = transformed[np.isfinite(transformed)]
    if recorded.size == 0:
        return pd.Series(0.0, index=values.index)
    low, high = np.quantile(recorded, _CLIP_QUANTILES)
    filled = np.where(np.isfinite(transformed), transformed, np.median(recorded))
    return pd.Series(np.clip(filled, low, high), index=values.index)


def model_features(results, *, rules: Sequence, label_source_ids: Iterable[str]) -> pd.DataFrame:
    """Feature matrix for the model, one row per child.

    Args:
        results: ``ItemResults`` of the run (``hits``, ``values``, ``item_status``).
        rules: The parsed 判定ルール rows (``ItemRule``).
        label_source_ids: Source ids of the 教師データ tab; their items are left out.

    Returns:
        Float frame, index = ``results.hits.index`` (resident_id), columns: the hit of
        every model rule (0/1, rule order) followed by the transformed values of the
        rules with numeric aggregations.
    """
    chosen = model_rules(results, rules=rules, label_source_ids=label_source_ids)
    index = results.hits.index
    columns: dict[str, pd.Series] = {}
    for rule in chosen:
        columns[rule.item_id] = results.hits[rule.item_id].fillna(False).astype(np.float64)
    for rule in chosen:
        if rule.aggregation in NUMERIC_AGGREGATIONS and rule.item_id in results.values.columns:
            columns[rule.item_id + VALUE_SUFFIX] = _transformed(results.values[rule.item_id])
    frame = pd.DataFrame(columns, index=index) if columns else pd.DataFrame(index=index)
    logger.info("モデルの入力: %d 項目(教師データのソースの項目を除く)", frame.shape[1])
    return frame.astype(np.float64)


def feature_presence(results, features: pd.DataFrame) -> pd.DataFrame:
    """True where the child "has" the feature, so that it may be named as a reason.

    A hit feature: the child hits the item. A value feature: the child has a record and
    its value is above the average child's, so "few absences" is never listed as a
    protective factor of the absence item, while a high value of an item the model finds
    protective (say a fitness score) is.
    """
    # One alignment for all columns: reindexing each column by a city's 50,000 text ids cost 4 s.
    values = (
        results.values
        if results.values.index.equals(features.index)
        else results.values.reindex(features.index)
    )
    hits = results.hits if results.hits.index.equals(features.index) else results.hits.reindex(features.index)
    present = {}
    for name in features.columns:
        if name.endswith(VALUE_SUFFIX):
            recorded = values[name[: -len(VALUE_SUFFIX)]].notna().to_numpy()
            column = features[name].to_numpy(dtype=np.float64)
            present[name] = recorded & (column > np.nanmean(column))
        else:
            present[name] = hits[name].fillna(False).to_numpy(dtype=bool)
    return pd.DataFrame(present, index=features.index, columns=features.columns)


def feature_labels(feature_names: Iterable[str], rules: Sequence) -> dict[str, str]:
    """Japanese name per feature: the item name, with 「(値)」 for a value feature."""
    names = {rule.item_id: rule.name for rule in rules}
    labels = {}
    for feature in feature_names:
        if feature.endswith(VALUE_SUFFIX):
            item = feature[: -len(VALUE_SUFFIX)]
            labels[feature] = f"{names.get(item, item)}(値)"
        else:
            labels[feature] = names.get(feature, feature)
    return labels


def hidden_features(feature_names: Iterable[str], rules: Sequence) -> tuple[str, ...]:
    """Features of items not shown in review (検討会議に表示 = いいえ): they count, unnamed."""
    hidden_items = {rule.item_id for rule in rules if not rule.shown_in_review}
    return tuple(
        feature
        for feature in feature_names
        if (feature[: -len(VALUE_SUFFIX)] if feature.endswith(VALUE_SUFFIX) else feature) in hidden_items
    )
