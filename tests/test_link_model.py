"""Scoring shortcuts of the Fellegi–Sunter model agree with its explained form."""

from __future__ import annotations

import numpy as np
import pandas as pd

from macros_py.link.compare import CHUNK_PAIRS, compare_pairs
from macros_py.link.fellegi_sunter import train
from macros_py.link.match import resident_model_config
from macros_py.link.prepare import prepare_people


def _people(rows):
    frame = prepare_people(pd.DataFrame(rows, columns=["name", "name_kana", "birth_date", "sex", "address"]))
    frame["cohort"] = ""
    return frame


_MASTER = _people(
    [
        ("佐藤 花子", "サトウ ハナコ", "2015-04-02", "女", "本町1-2-3"),
        ("佐藤 花", "サトウ ハナ", "2015-04-02", "女", "本町1-2-3"),
        ("鈴木 次郎", "スズキ ジロウ", "2014-05-06", "男", "北町3-1-1"),
        ("高橋 一郎", "タカハシ イチロウ", "2014-06-05", "男", "本町1-2-4"),
    ]
)
_SOURCE = _people(
    [
        ("佐藤 花子", "サトウ ハナコ", "2015-04-02", "女", "本町1-2-3"),
        ("髙橋 一郎", "タカハシ イチロー", "2014-05-06", "男", ""),
        ("鈴木 二郎", "", "2014-05-06", "", "北町3-1-1"),
    ]
)


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
