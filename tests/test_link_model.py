"""Scoring shortcuts of the Fellegi–Sunter model agree with its explained form."""

from __future__ import annotations

import numpy as np
from fixtures.people import MASTER_ROWS, SOURCE_ROWS, prepared_people

from macros_py.link.compare import CHUNK_PAIRS, compare_pairs
from macros_py.link.fellegi_sunter import train
from macros_py.link.match import resident_model_config

_MASTER = prepared_people(MASTER_ROWS)
_SOURCE = prepared_people(SOURCE_ROWS)


def test_weights_equal_the_sum_of_explained_contributions():
    model, (left, right), gammas = train(resident_model_config(), _SOURCE, _MASTER)
    tf = model.tf_values(_MASTER, right)
    assert np.allclose(model.weights(gammas, tf), model.match_weight(model.contributions(gammas, tf)))


def test_comparison_in_slices_equals_comparison_at_once(monkeypatch):
    config = resident_model_config()
    left, right = (a.ravel() for a in np.meshgrid(np.arange(3), np.arange(4), indexing="ij"))
    whole = compare_pairs(_SOURCE, _MASTER, left, right, config.comparisons)
    monkeypatch.setattr("macros_py.link.compare.CHUNK_PAIRS", 5)
    sliced = compare_pairs(_SOURCE, _MASTER, left, right, config.comparisons)
    assert CHUNK_PAIRS > 5
    assert np.array_equal(whole, sliced)
