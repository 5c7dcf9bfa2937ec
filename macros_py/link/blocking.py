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

from macros_py.link.arrays import ColumnCodes, isin_codes, unique_codes

__all__ = ["block_pairs", "blocking_recall"]

logger = logging.getLogger(__name__)


class _RuleIndex:
    """One blocking rule on the ``right`` frame: key codes and members grouped by key.

    Attributes:
        key: dense key code of each right row (-1 where a part is empty).
        steps: per column after the first, the index of the mixed values
            ``previous key * (values + 1) + code`` that maps them to the next key.
        radices: ``values + 1`` of each column after the first.
        members: right rows ordered by key; ``starts[k]:starts[k + 1]`` are key k's.
        starts: offsets into ``members`` (length keys + 1).
    """

    def __init__(self, coded: ColumnCodes, rule: tuple[str, ...]) -> None:
        key, index = coded.codes(rule[0])
        key = key.copy()
        self.steps: list[pd.Index] = []
        self.radices: list[int] = []
        for column in rule[1:]:
            codes, values = coded.codes(column)
            radix = len(values) + 1
            mixed = np.where((key >= 0) & (codes >= 0), key * radix + codes, -1)
            dense, distinct = pd.factorize(mixed, use_na_sentinel=True)
            self.steps.append(pd.Index(distinct))
            self.radices.append(radix)
            key = np.where(mixed >= 0, dense, -1).astype(np.int64)
        self.key = key
        present = np.flatnonzero(key >= 0)
        order = present[np.argsort(key[present], kind="stable")]
        keys = (len(self.steps[-1]) if self.steps else len(index)) if len(present) else 0
        self.members = order
        self.starts = np.concatenate([[0], np.cumsum(np.bincount(key[present], minlength=keys))]).astype(
            np.int64
        )

    def keys_of(self, coded: ColumnCodes, left: pd.DataFrame, rule: tuple[str, ...]) -> np.ndarray:
        """Key codes of ``left``'s rows on this rule (-1: a part empty or unknown on the right)."""
        key, _, _ = coded.shared(left[rule[0]], rule[0])
        key = np.where(key < len(coded.codes(rule[0])[1]), key, -1)
        for column, step, radix in zip(rule[1:], self.steps, self.radices, strict=True):
            codes, _, _ = coded.shared(left[column], column)
            codes = np.where(codes < radix - 1, codes, -1)  # values the right side lacks
            mixed = np.where((key >= 0) & (codes >= 0), key * radix + codes, -1)
            key = np.where(mixed >= 0, step.get_indexer(mixed), -1).astype(np.int64)
        return key


def block_pairs(
    left: pd.DataFrame,
    right: pd.DataFrame | None,
    rules: tuple[tuple[str, ...], ...],
    max_block_size: int = 5000,
    max_partners: int | None = None,
    right_codes: ColumnCodes | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (positions) from the union of blocking rules.

    Each rule's keys and members on the ``right`` frame are computed once per
    :class:`~macros_py.link.arrays.ColumnCodes` (so once per run for the resident
    master); the pairs of a rule are then expanded from the members of each left row's
    key without a hash join.

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
    coded = right_codes if right_codes is not None and right_codes.frame is other else ColumnCodes(other)
    found: list[np.ndarray] = []
    for rule in rules:
        rule = tuple(rule)
        index = coded.memo(("blocking rule", rule), lambda rule=rule: _RuleIndex(coded, rule))
        key_left = index.keys_of(coded, left, rule)
        partners = np.diff(index.starts)
        present = key_left >= 0
        left_sizes = np.bincount(key_left[present], minlength=len(partners))
        oversized = left_sizes * partners > max_block_size**2
        if max_partners is not None:
            oversized |= partners > max_partners
        skipped = int(np.count_nonzero(oversized & (left_sizes > 0)))
        if skipped:
            logger.info("blocking rule %s: %d oversized blocks skipped", rule, skipped)
        rows = np.flatnonzero(present)
        rows = rows[~oversized[key_left[rows]]]
        counts = partners[key_left[rows]]
        i = np.repeat(rows.astype(np.int64), counts)
        # Position of each pair within its left row's run of partners.
        offsets = np.arange(len(i), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        j = index.members[np.repeat(index.starts[key_left[rows]], counts) + offsets]
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
