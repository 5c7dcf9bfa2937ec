"""A Fellegi–Sunter model configured as data, trained without labels.

* :class:`ModelConfig` holds comparisons, blocking rules and training options, and
  round-trips to JSON.
* :func:`train` estimates u from random pairs (the chance that two unrelated records
  agree), then m (the chance that two records of one person agree) and the match
  prior λ by expectation–maximisation over the blocked candidate pairs. No labels.
* :class:`LinkModel` holds config and parameters, scores pairs (match weight in bits and
  probability), explains each comparison's contribution, and round-trips to JSON so a
  model can be saved, inspected and re-used (``link_models`` table).

EM runs over distinct comparison patterns with their counts, so training cost does not
grow with the number of pairs once the comparisons are computed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from macros_py.link.arrays import ColumnCodes
from macros_py.link.blocking import block_pairs
from macros_py.link.compare import ComparisonSpec, compare_pairs, level_labels

__all__ = ["LinkModel", "ModelConfig", "pattern_counts", "shared_probability", "train"]

logger = logging.getLogger(__name__)

_EPS = 1e-6


@dataclass(frozen=True)
class ModelConfig:
    """Comparisons, blocking and training options of one linkage model.

    Attributes:
        comparisons: the compared fields.
        blocking: rules for candidate pairs (tuples of column names), unioned.
        u_sample_pairs: random pairs drawn to estimate u.
        max_iterations: EM iterations at most.
        tolerance: EM stops when no parameter moves more than this.
        fix_u: keep u from random sampling during EM (recommended).
        seed: random seed for u sampling (deterministic training).
        max_block_size: blocks larger than this squared are skipped.
        max_partners: blocks whose key more than this many right-side records share are
            skipped (bounded candidates per record at any population size).
        matches_per_record: when set (linking to a master where each left record has
            at most one true partner), the prior λ is fixed at this many matches per
            left record over the candidate pairs instead of being estimated. This keeps
            EM from explaining common names as "matches".
        em_sample_pairs: EM runs over the candidate pairs of a random sample of left
            records holding about this many pairs (all pairs when fewer): the parameters
            are shares, so a large sample estimates them as well as every pair, and
            training time stops growing with the population.
        one_match_per_record: each left record matches at most one right record. The
            E-step and the returned probability then share each record's probability of
            a match among its candidates: P(i↔j) = odds_ij / (1 + Σ_k odds_ik), so a
            pair that only agrees on a common name loses to the record's true partner.
    """

    comparisons: tuple[ComparisonSpec, ...]
    blocking: tuple[tuple[str, ...], ...]
    u_sample_pairs: int = 200_000
    max_iterations: int = 60
    tolerance: float = 1e-5
    fix_u: bool = True
    seed: int = 42
    max_block_size: int = 5000
    max_partners: int | None = None
    matches_per_record: float | None = None
    one_match_per_record: bool = False
    em_sample_pairs: int = 2_000_000

    def to_dict(self) -> dict[str, Any]:
        return {
            "comparisons": [c.to_dict() for c in self.comparisons],
            "blocking": [list(rule) for rule in self.blocking],
            "u_sample_pairs": self.u_sample_pairs,
            "max_iterations": self.max_iterations,
            "tolerance": self.tolerance,
            "fix_u": self.fix_u,
            "seed": self.seed,
            "max_block_size": self.max_block_size,
            "max_partners": self.max_partners,
            "matches_per_record": self.matches_per_record,
            "one_match_per_record": self.one_match_per_record,
            "em_sample_pairs": self.em_sample_pairs,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        values = dict(data)
        values["comparisons"] = tuple(ComparisonSpec.from_dict(c) for c in values["comparisons"])
        values["blocking"] = tuple(tuple(rule) for rule in values["blocking"])
        return cls(**values)


@dataclass
class LinkModel:
    """A trained model: config, λ, and m/u per comparison level."""

    config: ModelConfig
    prior: float = 1e-4
    m: list[list[float]] = field(default_factory=list)
    u: list[list[float]] = field(default_factory=list)
    term_frequencies: dict[str, dict[str, float]] = field(default_factory=dict)
    iterations: int = 0

    # ---- persistence -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Inspectable parameters: per comparison, level labels with m, u and weight."""
        comparisons = []
        for k, spec in enumerate(self.config.comparisons):
            labels = level_labels(spec)
            comparisons.append(
                {
                    "name": spec.name,
                    "levels": [
                        {
                            "level": level,
                            "label": labels[level],
                            "m": self.m[k][level],
                            "u": self.u[k][level],
                            "weight": float(
                                np.log2(max(self.m[k][level], _EPS) / max(self.u[k][level], _EPS))
                            ),
                        }
                        for level in range(spec.n_levels)
                    ],
                }
            )
        return {
            "config": self.config.to_dict(),
            "prior": self.prior,
            "iterations": self.iterations,
            "parameters": comparisons,
            "term_frequencies": self.term_frequencies,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1, sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkModel:
        config = ModelConfig.from_dict(data["config"])
        m = [[level["m"] for level in comp["levels"]] for comp in data["parameters"]]
        u = [[level["u"] for level in comp["levels"]] for comp in data["parameters"]]
        return cls(
            config=config,
            prior=float(data["prior"]),
            m=m,
            u=u,
            term_frequencies=data.get("term_frequencies", {}),
            iterations=int(data.get("iterations", 0)),
        )

    @classmethod
    def from_json(cls, text: str) -> LinkModel:
        return cls.from_dict(json.loads(text))

    # ---- scoring -----------------------------------------------------------------
    def weight_tables(self) -> list[np.ndarray]:
        """log2(m/u) per comparison; index ``-1`` (missing) maps to weight 0."""
        tables = []
        for m_levels, u_levels in zip(self.m, self.u, strict=True):
            m_arr = np.maximum(np.asarray(m_levels, float), _EPS)
            u_arr = np.maximum(np.asarray(u_levels, float), _EPS)
            tables.append(np.append(np.log2(m_arr / u_arr), 0.0))  # position -1 → 0
        return tables

    def contributions(self, gammas: np.ndarray, tf_values: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Bits contributed by each comparison (pairs × comparisons)."""
        out = np.zeros(gammas.shape, dtype=float)
        for k, (spec, table) in enumerate(zip(self.config.comparisons, self.weight_tables(), strict=True)):
            out[:, k] = table[gammas[:, k]]
            if spec.tf_adjust and tf_values and spec.name in tf_values:
                top = spec.n_levels - 1
                exact = gammas[:, k] == top
                u_exact = max(self.u[k][top], _EPS)
                tf = np.maximum(tf_values[spec.name][exact], _EPS)
                # Replace the average u of exact agreement by the value's own frequency.
                out[exact, k] += np.log2(u_exact / tf)
        return out

    def weights(self, gammas: np.ndarray, tf_values: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Total match weight in bits (prior included) of each pair.

        Same as ``match_weight(contributions(gammas, tf_values))`` without the
        pairs × comparisons matrix of floats (gigabytes for tens of millions of pairs).
        """
        prior = min(max(self.prior, _EPS), 1 - _EPS)
        total = np.full(len(gammas), np.log2(prior / (1 - prior)))
        for k, (spec, table) in enumerate(zip(self.config.comparisons, self.weight_tables(), strict=True)):
            level = gammas[:, k]
            total += table[level]
            if spec.tf_adjust and tf_values and spec.name in tf_values:
                top = spec.n_levels - 1
                exact = level == top
                u_exact = max(self.u[k][top], _EPS)
                tf = np.maximum(tf_values[spec.name][exact], _EPS)
                total[exact] += np.log2(u_exact / tf)
        return total

    def match_weight(self, contributions: np.ndarray) -> np.ndarray:
        """Total match weight in bits, prior included."""
        prior = min(max(self.prior, _EPS), 1 - _EPS)
        return contributions.sum(axis=1) + np.log2(prior / (1 - prior))

    @staticmethod
    def probability(weight: np.ndarray) -> np.ndarray:
        """Posterior match probability from a match weight."""
        return 1.0 / (1.0 + np.power(2.0, -np.clip(weight, -60, 60)))

    def tf_values(
        self, right: pd.DataFrame, right_index: np.ndarray, right_codes: ColumnCodes | None = None
    ) -> dict[str, np.ndarray]:
        """Term frequency of the right-hand value of each pair for tf-adjusted comparisons."""
        out = {}
        for spec in self.config.comparisons:
            if spec.tf_adjust and spec.name in self.term_frequencies:
                table = self.term_frequencies[spec.name]
                if right_codes is not None and right_codes.frame is right:
                    codes, index = right_codes.codes(spec.column)
                    uniques = np.append(index.to_numpy(), "")  # code -1 → ""
                else:
                    values = right[spec.column].to_numpy(dtype=object)
                    codes, uniques = pd.factorize(np.where(pd.isna(values), "", values))
                frequency = np.array([table.get(str(value), 0.0) for value in uniques], dtype=float)
                out[spec.name] = frequency[codes[right_index]] if len(codes) else np.zeros(len(right_index))
        return out

    def score(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        left_index: np.ndarray,
        right_index: np.ndarray,
        right_codes: ColumnCodes | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Compare and score pairs (``right_codes``: the columns of ``right`` already coded).

        Returns:
            ``(gammas, contributions, probability)``.
        """
        gammas = compare_pairs(left, right, left_index, right_index, self.config.comparisons, right_codes)
        contributions = self.contributions(gammas, self.tf_values(right, right_index, right_codes))
        return gammas, contributions, self.probability(self.match_weight(contributions))


def shared_probability(weight: np.ndarray, left_index: np.ndarray) -> np.ndarray:
    """P(i↔j) = odds_ij / (1 + Σ_k odds_ik) over each left record's candidates (log-safe)."""
    if len(weight) == 0:
        return np.zeros(0)
    finite = np.where(np.isfinite(weight), weight, -1e9)
    n = int(left_index.max()) + 1
    top = np.zeros(n)
    np.maximum.at(top, left_index, finite)
    scaled = np.power(2.0, np.clip(finite - top[left_index], -200, 0))
    denominator = np.power(2.0, np.clip(-top, -200, 200)) + np.bincount(left_index, scaled, minlength=n)
    return scaled / denominator[left_index]


def pattern_counts(gammas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct comparison patterns and how often each occurs."""
    if len(gammas) == 0:
        return gammas, np.empty(0, dtype=np.int64)
    if gammas.shape[1] > 15:  # too many comparisons for one int64 code
        patterns, counts = np.unique(gammas, axis=0, return_counts=True)
        return patterns, counts
    code = np.zeros(len(gammas), dtype=np.int64)
    for k in range(gammas.shape[1]):
        code = code * 16 + (gammas[:, k].astype(np.int64) + 1)
    _, first, counts = np.unique(code, return_index=True, return_counts=True)
    return gammas[first], counts


def _patterns_with_inverse(gammas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(gammas) == 0:
        return gammas, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    if gammas.shape[1] > 15:
        patterns, inverse, counts = np.unique(gammas, axis=0, return_inverse=True, return_counts=True)
        return patterns, counts, inverse.ravel()
    code = np.zeros(len(gammas), dtype=np.int64)
    for k in range(gammas.shape[1]):
        code = code * 16 + (gammas[:, k].astype(np.int64) + 1)
    _, first, inverse, counts = np.unique(code, return_index=True, return_inverse=True, return_counts=True)
    return gammas[first], counts, inverse


def _level_frequencies(gammas: np.ndarray, weights: np.ndarray, n_levels: list[int]) -> list[list[float]]:
    out = []
    for k, levels in enumerate(n_levels):
        column = gammas[:, k]
        present = column >= 0
        total = weights[present].sum()
        freq = np.bincount(column[present], weights=weights[present], minlength=levels)[:levels]
        freq = (freq + _EPS) / (total + _EPS * levels) if total > 0 else np.full(levels, 1.0 / levels)
        out.append([float(x) for x in freq])
    return out


def _random_pairs(
    n_left: int, n_right: int, count: int, dedupe: bool, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n_left, count)
    j = rng.integers(0, n_right, count)
    if dedupe:
        keep = i != j
        i, j = i[keep], j[keep]
    return i, j


def _term_frequencies(model_config: ModelConfig, right: pd.DataFrame) -> dict[str, dict[str, float]]:
    out = {}
    for spec in model_config.comparisons:
        if spec.tf_adjust:
            raw = right[spec.column].to_numpy(dtype=object)
            values = pd.Series(np.where(pd.isna(raw), "", raw), dtype=object)
            values = values[values != ""]
            if len(values):
                out[spec.name] = {str(k): float(v) for k, v in values.value_counts(normalize=True).items()}
    return out


def _training_sample(
    left_index: np.ndarray, gammas: np.ndarray, model_config: ModelConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(left positions, comparison levels) of the pairs EM trains on.

    Whole left records are sampled (all their candidates kept), so that sharing a record's
    match probability among its candidates works as on the full set.
    """
    if len(gammas) <= model_config.em_sample_pairs:
        return left_index, gammas
    records, per_record = np.unique(left_index, return_counts=True)
    order = np.random.default_rng(model_config.seed).permutation(len(records))
    kept = records[
        order[: int(np.searchsorted(np.cumsum(per_record[order]), model_config.em_sample_pairs)) + 1]
    ]
    chosen = np.isin(left_index, kept)
    logger.info("EM on %d of %d candidate pairs (%d records)", int(chosen.sum()), len(gammas), len(kept))
    return left_index[chosen], gammas[chosen]


def train(
    model_config: ModelConfig,
    left: pd.DataFrame,
    right: pd.DataFrame | None = None,
    candidates: tuple[np.ndarray, np.ndarray] | None = None,
    right_codes: ColumnCodes | None = None,
) -> tuple[LinkModel, tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Estimate u by random sampling and m and λ by EM, without labels.

    Args:
        model_config: comparisons, blocking and options.
        left: prepared records to link.
        right: prepared records to link to; ``None`` to deduplicate ``left``.
        candidates: blocked pairs if already computed.
        right_codes: the columns of ``right`` already coded (re-used across calls).

    Returns:
        ``(model, candidates, gammas)``: the trained model, the candidate pairs and their
        comparison levels (so callers can score without comparing twice).
    """
    dedupe = right is None
    other = left if dedupe else right
    specs = model_config.comparisons
    n_levels = [spec.n_levels for spec in specs]

    sample_i, sample_j = _random_pairs(
        len(left), len(other), model_config.u_sample_pairs, dedupe, model_config.seed
    )
    u = _level_frequencies(
        compare_pairs(left, other, sample_i, sample_j, specs, right_codes), np.ones(len(sample_i)), n_levels
    )

    if candidates is None:
        candidates = block_pairs(
            left,
            right,
            model_config.blocking,
            model_config.max_block_size,
            model_config.max_partners,
            right_codes,
        )
    gammas = compare_pairs(left, other, candidates[0], candidates[1], specs, right_codes)
    training_left, training_gammas = _training_sample(candidates[0], gammas, model_config)
    patterns, counts, inverse = _patterns_with_inverse(training_gammas)
    counts = counts.astype(float)

    # Initial m: records of one person mostly agree exactly (0.9 on the top level, the
    # rest halving downwards), which starts EM at the "same person" class rather than at
    # a "same common name" class.
    m = []
    for levels in n_levels:
        lower = np.array([0.5 ** (levels - 2 - level) for level in range(levels - 1)])
        m.append([*(0.1 * lower / lower.sum()), 0.9])
    fixed_prior = None
    if model_config.matches_per_record and len(gammas):
        fixed_prior = min(0.5, model_config.matches_per_record * len(left) / len(gammas))
    prior = fixed_prior or (0.1 if len(patterns) else 1e-4)
    model = LinkModel(
        config=model_config, prior=prior, m=m, u=u, term_frequencies=_term_frequencies(model_config, other)
    )
    for iteration in range(1, model_config.max_iterations + 1):
        weights = model.match_weight(model.contributions(patterns))
        if model_config.one_match_per_record and len(gammas):
            pair_posterior = shared_probability(weights[inverse], training_left)
            mass = np.bincount(inverse, pair_posterior, minlength=len(patterns))
        else:
            mass = model.probability(weights) * counts
        new_prior = fixed_prior or float(mass.sum() / max(counts.sum(), 1.0))
        new_m = _level_frequencies(patterns, mass, n_levels)
        new_u = u if model_config.fix_u else _level_frequencies(patterns, counts - mass, n_levels)
        change = max(
            abs(new_prior - model.prior),
            max(
                (
                    abs(a - b)
                    for row_a, row_b in zip(new_m, model.m, strict=True)
                    for a, b in zip(row_a, row_b, strict=True)
                ),
                default=0.0,
            ),
        )
        model.prior, model.m, model.u, model.iterations = new_prior, new_m, new_u, iteration
        if change < model_config.tolerance:
            break
    logger.info(
        "EM converged after %d iterations, prior %.5f, %d candidate pairs",
        model.iterations,
        model.prior,
        len(gammas),
    )
    return model, candidates, gammas
