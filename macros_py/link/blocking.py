"""Blocking: candidate pairs from several keys, so that true pairs survive comparison.

A blocking rule is a tuple of column names; two records are candidates when every column
of at least one rule is non-empty and equal on both sides. The union of all rules is
returned, each pair once. :func:`blocking_recall` measures how many known true pairs a
set of rules keeps.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from macros_py.link.arrays import ColumnCodes, column_codes, isin_codes, unique_codes

__all__ = ["block_pairs", "blocking_recall"]

logger = logging.getLogger(__name__)


def _key_codes(
    left: pd.DataFrame, right: pd.DataFrame, rule: tuple[str, ...], right_codes: ColumnCodes | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a rule's key on both sides; -1 where any part is empty."""
    n_left = len(left)
    combined = np.zeros(n_left + len(right), dtype=np.int64)
    empty = np.zeros(n_left + len(right), dtype=bool)
    for column in rule:
        code_left, code_right, uniques = column_codes(left, right, column, right_codes)
        codes = np.concatenate([code_left, code_right])
        empty |= codes < 0
        # Mixed-radix code of the parts, re-factorised so it never overflows.
        combined = pd.factorize(combined * (len(uniques) + 1) + codes)[0].astype(np.int64)
    combined[empty] = -1
    return combined[:n_left], combined[n_left:]


def block_pairs(
    left: pd.DataFrame,
    right: pd.DataFrame | None,
    rules: tuple[tuple[str, ...], ...],
    max_block_size: int = 5000,
    max_partners: int | None = None,
    right_codes: ColumnCodes | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (positions) from the union of blocking rules.

    Args:
        left: records to link (positional rows).
        right: records to link to; ``None`` for deduplication within ``left``
            (then only pairs with ``left < right`` are returned).
        rules: blocking rules, each a tuple of column names.
        max_block_size: blocks with more pairs than ``max_block_size ** 2`` are skipped
            (logged): a key that common carries no blocking power.
        max_partners: when set, a block is also skipped when more than this many
            ``right`` records share its key. This keeps each record's candidate count
            bounded as the population grows (a city's 佐藤 born in one school year are
            dozens, a metropolis's hundreds); the other rules still pair such records.
        right_codes: the columns of ``right`` already coded (re-used across calls).

    Returns:
        ``(left_index, right_index)`` int64 arrays, sorted, without duplicates.
    """
    dedupe = right is None
    other = left if dedupe else right
    n_right = len(other)
    found: list[np.ndarray] = []
    for rule in rules:
        code_left, code_right = _key_codes(left, other, rule, None if dedupe else right_codes)
        frame_left = pd.DataFrame({"k": code_left, "i": np.arange(len(left))})
        frame_right = pd.DataFrame({"k": code_right, "j": np.arange(n_right)})
        frame_left = frame_left[frame_left["k"] >= 0]
        frame_right = frame_right[frame_right["k"] >= 0]
        sizes = frame_left["k"].value_counts().mul(frame_right["k"].value_counts(), fill_value=0)
        oversized = sizes > max_block_size**2
        if max_partners is not None:
            partners = frame_right["k"].value_counts().reindex(sizes.index, fill_value=0)
            oversized |= partners > max_partners
        too_big = sizes[oversized].index
        if len(too_big):
            logger.info("blocking rule %s: %d oversized blocks skipped", rule, len(too_big))
            frame_left = frame_left[~frame_left["k"].isin(too_big)]
        merged = frame_left.merge(frame_right, on="k", how="inner")
        i = merged["i"].to_numpy(np.int64)
        j = merged["j"].to_numpy(np.int64)
        if dedupe:
            keep = i < j
            i, j = i[keep], j[keep]
        found.append(i * n_right + j)
        logger.debug("blocking rule %s: %d pairs", rule, len(i))
    if not found:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    codes = unique_codes(np.concatenate(found))
    return codes // n_right, codes % n_right


def blocking_recall(
    left_index: np.ndarray,
    right_index: np.ndarray,
    true_left: np.ndarray,
    true_right: np.ndarray,
    n_right: int,
) -> float:
    """Share of true pairs that are among the candidates (1.0 when there are none)."""
    if len(true_left) == 0:
        return 1.0
    candidates = left_index.astype(np.int64) * n_right + right_index
    truth = np.asarray(true_left, np.int64) * n_right + np.asarray(true_right, np.int64)
    return float(isin_codes(truth, candidates).mean())
