"""Each source's prior is estimated from its own pairs, not assumed."""

from __future__ import annotations

import numpy as np

from macros_py.link.fellegi_sunter import shared_probability
from macros_py.link.match import estimate_group_priors


def _pairs(records: int, per_record: int, true_weight: float | None, rng) -> tuple[np.ndarray, np.ndarray]:
    """(left, weight) of ``records`` records with ``per_record`` candidates each."""
    left = np.repeat(np.arange(records), per_record)
    weight = rng.normal(-12.0, 2.0, len(left))  # strangers: mostly disagreeing
    if true_weight is not None:
        weight[::per_record] = rng.normal(true_weight, 1.0, records)  # one true partner each
    return left, weight


def test_a_source_of_strangers_gets_a_low_prior_and_a_roster_a_high_one():
    rng = np.random.default_rng(3)
    roster_left, roster_weight = _pairs(400, 20, 25.0, rng)
    strangers_left, strangers_weight = _pairs(100, 20, None, rng)
    # A few strangers have a look-alike resident (same name, birth one digit off).
    strangers_weight[::20][:30] = rng.normal(6.0, 1.0, 30)
    left = np.concatenate([roster_left, strangers_left + 400])
    weight = np.concatenate([roster_weight, strangers_weight])
    group = np.concatenate([np.zeros(len(roster_left), int), np.ones(len(strangers_left), int)])
    start = np.array([0.95 / 20, 0.95 / 20])  # the old fixed "0.95 matches per record"
    prior = estimate_group_priors(weight, left, group, start)
    assert abs(prior[0] - 1 / 20) < 0.005  # one match per roster record
    assert prior[1] < 30 / 2000  # at most the look-alikes look like matches
    logit = np.log2(prior / (1 - prior))
    fixed = np.log2(start / (1 - start))
    strangers = group == 1
    estimated = shared_probability(weight + logit[group], left)[strangers]
    assumed = shared_probability(weight + fixed[group], left)[strangers]
    assert estimated.sum() < assumed.sum() * 0.6  # fewer strangers taken for residents


def test_large_groups_are_estimated_on_a_sample():
    rng = np.random.default_rng(4)
    left, weight = _pairs(5000, 30, 20.0, rng)
    group = np.zeros(len(left), int)
    full = estimate_group_priors(weight, left, group, np.array([0.03]), sample_pairs=10**9)
    sampled = estimate_group_priors(weight, left, group, np.array([0.03]), sample_pairs=20_000)
    assert abs(full[0] - sampled[0]) < 0.003
