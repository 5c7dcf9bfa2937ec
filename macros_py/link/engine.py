"""Generic linking and deduplication with a :class:`~macros_py.link.fellegi_sunter.ModelConfig`.

The Japanese resident matching (:mod:`macros_py.link.match`) and the FEBRL benchmark use
these same two functions; only the prepared columns and the config differ.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from macros_py.link.arrays import ColumnCodes
from macros_py.link.assign import one_to_one
from macros_py.link.compare import compare_pairs
from macros_py.link.fellegi_sunter import LinkModel, ModelConfig, train

__all__ = ["ScoredPairs", "dedupe_frame", "link_frames", "score_candidates"]

logger = logging.getLogger(__name__)


class ScoredPairs(pd.DataFrame):
    """Candidate pairs with ``left``, ``right``, ``weight``, ``probability`` (a DataFrame)."""


def score_candidates(
    model: LinkModel,
    left: pd.DataFrame,
    right: pd.DataFrame,
    candidates: tuple[np.ndarray, np.ndarray],
    gammas: np.ndarray | None = None,
    right_codes: ColumnCodes | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Score candidate pairs with a trained model (``right_codes``: ``right`` already coded).

    Returns:
        ``(pairs, gammas)``: pairs has columns left, right, weight, probability; gammas the
        comparison levels (pairs × comparisons).
    """
    left_index, right_index = candidates
    if gammas is None:
        gammas = compare_pairs(left, right, left_index, right_index, model.config.comparisons, right_codes)
    weight = model.weights(gammas, model.tf_values(right, right_index, right_codes))
    pairs = pd.DataFrame(
        {"left": left_index, "right": right_index, "weight": weight, "probability": model.probability(weight)}
    )
    return pairs, gammas


def link_frames(
    config: ModelConfig,
    left: pd.DataFrame,
    right: pd.DataFrame,
    threshold: float = 0.5,
    unique: bool = True,
) -> tuple[pd.DataFrame, LinkModel]:
    """Link two prepared frames without labels.

    Args:
        config: comparisons and blocking.
        left: records to link (positional rows).
        right: records to link to.
        threshold: minimum match probability of a returned pair.
        unique: keep at most one pair per left and per right record.

    Returns:
        ``(pairs, model)``: accepted pairs (left, right, weight, probability) and the model.
    """
    model, candidates, gammas = train(config, left, right)
    pairs, _ = score_candidates(model, left, right, candidates, gammas)
    if unique:
        keep = one_to_one(pairs["left"].to_numpy(), pairs["right"].to_numpy(), pairs["weight"].to_numpy())
        pairs = pairs[keep]
    return pairs[pairs["probability"] >= threshold].reset_index(drop=True), model


def dedupe_frame(
    config: ModelConfig, frame: pd.DataFrame, threshold: float = 0.5
) -> tuple[pd.DataFrame, LinkModel]:
    """Find duplicate pairs within one prepared frame (left < right), without labels."""
    model, candidates, gammas = train(config, frame, None)
    pairs, _ = score_candidates(model, frame, frame, candidates, gammas)
    return pairs[pairs["probability"] >= threshold].reset_index(drop=True), model
