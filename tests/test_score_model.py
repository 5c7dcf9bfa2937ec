"""The statistical model: planted effects recovered, JSON round trip, degenerate inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from macros_py.score.model import (
    DEFAULT_AGE_THRESHOLDS,
    REGULARISATION_GRID,
    AgeThresholdError,
    FittedModel,
    ModelNotFittable,
    contributions,
    fit_model,
    format_age_thresholds,
    parse_age_thresholds,
    predict_probability,
    probability_thresholds,
    reason_lists,
    reason_texts,
)
from macros_py.score.types import AgeBand

# Planted log-odds per feature (binary features unless named *_value).
PLANTED = {"risk": 1.5, "protective": -1.2, "null": 0.0, "risk_value": 0.8, "null_value": 0.0}


def planted_data(count: int = 6000, seed: int = 11) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    features = pd.DataFrame(
        {
            "risk": (rng.random(count) < 0.3).astype(float),
            "protective": (rng.random(count) < 0.3).astype(float),
            "null": (rng.random(count) < 0.3).astype(float),
            "risk_value": rng.normal(size=count),
            "null_value": rng.normal(size=count),
        },
        index=pd.Index([f"{number:08d}" for number in range(count)], name="resident_id"),
    )
    logit = -2.5 + sum(weight * features[name].to_numpy() for name, weight in PLANTED.items())
    labels = pd.Series(rng.random(count) < 1.0 / (1.0 + np.exp(-logit)), index=features.index)
    return features, labels


@pytest.fixture(scope="module")
def planted():
    features, labels = planted_data()
    return features, labels, fit_model(features, labels, seed=0)


def test_model_recovers_the_signs_of_planted_effects(planted):
    features, labels, model = planted
    coefficient = dict(zip(model.feature_names, model.coefficients, strict=True))
    assert coefficient["risk"] > 0.3
    assert coefficient["risk_value"] > 0.3
    assert coefficient["protective"] < -0.3
    assert abs(coefficient["null"]) < 0.1
    assert abs(coefficient["null_value"]) < 0.1
    # On the calibrated log-odds scale, per unit, the planted effects come back
    # (the shrinkage chosen by cross-validation is undone by the Platt slope).
    effect = dict(zip(model.feature_names, model.per_unit_effects(), strict=True))
    assert effect["risk"] == pytest.approx(1.5, abs=0.25)
    assert effect["protective"] == pytest.approx(-1.2, abs=0.25)
    assert effect["risk_value"] == pytest.approx(0.8, abs=0.15)
    assert model.regularisation in REGULARISATION_GRID


def test_a_fixed_regularisation_is_used_as_given():
    features, labels = planted_data(3000)
    model = fit_model(features, labels, regularisation=1.0)
    assert model.regularisation == 1.0
    effect = dict(zip(model.feature_names, model.per_unit_effects(), strict=True))
    assert effect["risk"] == pytest.approx(1.5, abs=0.3)


def test_calibrated_probabilities_match_the_base_rate_and_the_planted_model(planted):
    features, labels, model = planted
    probability = predict_probability(model, features)
    assert probability.between(0, 1).all()
    assert probability.mean() == pytest.approx(labels.mean(), abs=0.01)
    logit = -2.5 + sum(weight * features[name].to_numpy() for name, weight in PLANTED.items())
    true_probability = 1.0 / (1.0 + np.exp(-logit))
    assert np.abs(probability.to_numpy() - true_probability).mean() < 0.02


def test_json_round_trip_gives_an_equal_model_and_identical_predictions(planted):
    features, _, model = planted
    text = model.to_json()
    json.loads(text)  # plain JSON, no pickle
    again = FittedModel.from_json(text)
    assert again == model
    assert np.array_equal(
        predict_probability(again, features).to_numpy(), predict_probability(model, features).to_numpy()
    )
    assert again.age_thresholds == model.age_thresholds
    assert isinstance(again.age_thresholds[0], AgeBand)


def test_fit_is_deterministic_for_a_seed(planted):
    features, labels, model = planted
    assert fit_model(features, labels, seed=0) == model


def test_contributions_sum_to_the_calibrated_logit_and_are_zero_for_the_mean_child(planted):
    features, _, model = planted
    pushes = contributions(model, features.iloc[:50])
    probability = predict_probability(model, features.iloc[:50]).to_numpy()
    logit = pushes.sum(axis=1).to_numpy() + model.calibration_a * model.intercept + model.calibration_b
    assert np.allclose(logit, np.log(probability / (1 - probability)))
    mean_child = pd.DataFrame([model.means], columns=list(model.feature_names))
    assert np.allclose(contributions(model, mean_child).to_numpy(), 0.0)
    assert list(pushes.columns) == list(model.feature_names)


def test_a_missing_feature_column_counts_as_the_average_child(planted):
    features, _, model = planted
    without = features.drop(columns=["risk"])
    pushes = contributions(model, without)
    assert (pushes["risk"] == 0).all()


def test_no_positive_labels_refused_in_japanese():
    features, labels = planted_data(200)
    with pytest.raises(ModelNotFittable) as caught:
        fit_model(features, labels & False)
    assert "教師データ" in caught.value.message and "1人もいない" in caught.value.message


def test_a_single_class_of_all_positives_refused():
    features, labels = planted_data(200)
    with pytest.raises(ModelNotFittable) as caught:
        fit_model(features, labels | True)
    assert "すべての児童" in caught.value.message


def test_too_few_positive_labels_refused():
    features, _ = planted_data(200)
    labels = pd.Series(False, index=features.index)
    labels.iloc[:3] = True
    with pytest.raises(ModelNotFittable) as caught:
        fit_model(features, labels)
    assert "3人" in caught.value.message


def test_only_constant_features_refused():
    features, labels = planted_data(300)
    constant = pd.DataFrame({"a": 1.0, "b": 0.0}, index=features.index)
    with pytest.raises(ModelNotFittable) as caught:
        fit_model(constant, labels)
    assert "同じ値" in caught.value.message
    with pytest.raises(ModelNotFittable):
        fit_model(features.iloc[:, :0], labels)


def test_no_children_refused():
    features, labels = planted_data(100)
    with pytest.raises(ModelNotFittable) as caught:
        fit_model(features.iloc[:0], labels.iloc[:0])
    assert "児童がいない" in caught.value.message


def test_a_constant_column_gets_a_zero_coefficient_and_the_rest_still_fit():
    features, labels = planted_data(3000)
    features = features.assign(constant=1.0)
    model = fit_model(features, labels)
    coefficient = dict(zip(model.feature_names, model.coefficients, strict=True))
    assert coefficient["constant"] == 0.0
    assert coefficient["risk"] > 0.3
    assert np.isfinite(predict_probability(model, features)).all()


def test_five_labels_of_each_class_are_enough():
    features, _ = planted_data(400, seed=3)
    labels = pd.Series(False, index=features.index)
    labels.iloc[[0, 50, 100, 150, 200]] = True
    model = fit_model(features, labels)
    assert model.positives == 5 and model.folds == 5
    assert np.isfinite(predict_probability(model, features)).all()


def test_reasons_name_present_items_strongest_first_and_skip_hidden():
    pushes = pd.DataFrame(
        {"a": [0.9, 0.2, -0.5], "b": [0.3, 0.8, 0.0], "c": [-0.7, -0.1, 0.6], "d": [0.5, 0.02, -0.9]},
        index=["1", "2", "3"],
    )
    present = pd.DataFrame(True, index=pushes.index, columns=pushes.columns)
    present.loc["3", "d"] = False  # child 3 does not have item d: never a protective factor
    up, down = reason_lists(pushes, present=present, hidden=("b",), top=2)
    assert up.tolist() == [[("a", 0.9), ("d", 0.5)], [("a", 0.2)], [("c", 0.6)]]
    assert down.tolist() == [[("c", -0.7)], [("c", -0.1)], [("a", -0.5)]]
    texts = reason_texts(
        pushes, names={"a": "欠席30日以上", "c": "体力テスト良好", "d": "生活保護"}, present=present
    )
    assert texts.loc["1", "主な理由"] == "欠席30日以上、生活保護、b"
    assert texts.loc["1", "保護的要因"] == "体力テスト良好"
    assert texts.loc["3", "保護的要因"] == "欠席30日以上"


def test_age_thresholds_parse_shares_and_percentages():
    bands = parse_age_thresholds("6-18:40%, 0-5:0.3")
    assert bands == (AgeBand(0, 5, 0.3), AgeBand(6, 18, 0.4))
    assert parse_age_thresholds(format_age_thresholds(bands)) == bands
    assert parse_age_thresholds("0〜5:0.3、6〜18:0.4") == bands
    assert parse_age_thresholds("  ") == DEFAULT_AGE_THRESHOLDS == bands


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0-5", "読めません"),
        ("0-5:1.5", "確率"),
        ("5-0:0.3", "下限"),
        ("0-6:0.3, 5-18:0.4", "重なって"),
        ("a-b:0.3", "読めません"),
    ],
)
def test_bad_age_thresholds_refused_in_japanese(text, fragment):
    with pytest.raises(AgeThresholdError) as caught:
        parse_age_thresholds(text)
    assert fragment in caught.value.message


def test_thresholds_per_child_follow_the_age_bands():
    ages = pd.Series([0, 5, 6, 18, 19, None], index=list("abcdef"))
    thresholds = probability_thresholds(parse_age_thresholds("0-5:0.3, 6-18:0.4"), ages)
    assert thresholds.tolist() == [0.3, 0.3, 0.4, 0.4, 0.4, 0.4]
    assert np.isinf(probability_thresholds((), ages)).all()


def test_missing_values_count_as_the_column_average_in_fit_and_prediction():
    features, labels = planted_data(3000)
    holes = features.copy()
    holes.iloc[::7, holes.columns.get_loc("risk_value")] = np.nan
    holes.iloc[::11, holes.columns.get_loc("null")] = np.inf
    model = fit_model(holes, labels)
    probability = predict_probability(model, holes)
    assert np.isfinite(probability).all()
    filled = holes.replace(np.inf, np.nan).fillna(holes.replace(np.inf, np.nan).mean())
    assert np.allclose(predict_probability(model, filled), probability)


def test_value_features_are_reasons_up_only():
    pushes = pd.DataFrame(
        {"late": [0.6, -0.6], "late:値": [0.4, -0.9], "fitness": [0.0, -0.3]}, index=["1", "2"]
    )
    up, down = reason_lists(pushes)
    assert up.tolist() == [[("late", 0.6), ("late:値", 0.4)], []]
    assert down.tolist() == [[], [("late", -0.6), ("fitness", -0.3)]]
