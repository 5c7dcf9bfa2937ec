"""The 係数 tab shows the calibrated effect of having an item, in odds, not the raw fitted number."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from macros_py.score.model import fit_model
from macros_py.score.pipeline import coefficient_rows


def test_odds_ratio_of_an_item_is_its_calibrated_effect_per_child_who_has_it():
    rng = np.random.default_rng(7)
    count = 20_000
    strong = rng.random(count) < 0.1  # planted: having it multiplies the odds by e^2 (about 7.4)
    noise = rng.random(count) < 0.3  # planted: no effect
    log_odds = -3.0 + 2.0 * strong
    labels = pd.Series(rng.random(count) < 1 / (1 + np.exp(-log_odds)))
    features = pd.DataFrame({"strong": strong.astype(float), "noise": noise.astype(float)})
    model = fit_model(features, labels, seed=0)
    table = coefficient_rows(model, features, rules=()).set_index("項目ID")
    assert table.loc["strong", "オッズ比"] == pytest.approx(np.exp(2.0), rel=0.25)
    assert table.loc["strong", "係数"] == pytest.approx(model.per_unit_effects()[0], abs=1e-3)
    assert abs(np.log(table.loc["noise", "オッズ比"])) < 0.2
    assert table.loc["strong", "該当者数"] == int(strong.sum())
    assert table.index[0] == "strong"  # strongest effect first
