"""The model evaluation: metrics agree with sklearn.metrics, hand-checked bins and warnings."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, precision_score, recall_score, roc_auc_score

from macros_py.score.evaluation import (
    EarlierExtract,
    calibration_bins,
    dominance,
    evaluate,
    group_gaps,
    out_of_fold_probability,
    ranked_within_age,
    top_selection,
)
from macros_py.score.model import fit_model


def planted(count: int = 3000, seed: int = 5) -> tuple[pd.DataFrame, pd.Series, pd.Series, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    index = pd.Index([f"{number:08d}" for number in range(count)], name="resident_id")
    features = pd.DataFrame(
        {
            "absence": (rng.random(count) < 0.2).astype(float),
            "assistance": (rng.random(count) < 0.1).astype(float),
            "fitness": (rng.random(count) < 0.4).astype(float),
            "noise": rng.normal(size=count),
        },
        index=index,
    )
    logit = -3.0 + 1.8 * features["absence"] + 1.4 * features["assistance"] - 0.8 * features["fitness"]
    labels = pd.Series(rng.random(count) < 1 / (1 + np.exp(-logit)), index=index)
    ages = pd.Series(rng.integers(0, 19, count), index=index)
    groups = pd.DataFrame(
        {
            "foreign": rng.random(count) < 0.05,
            "single_parent": rng.random(count) < 0.15,
            "disability_household": rng.random(count) < 0.05,
            "school": np.where(ages >= 6, np.where(rng.random(count) < 0.5, "北小学校", "南小学校"), ""),
        },
        index=index,
    )
    return features, labels, ages, groups


@pytest.fixture(scope="module")
def evaluated():
    features, labels, ages, groups = planted()
    return features, labels, ages, groups, evaluate(features, labels, ages, groups, seed=0)


def test_summary_metrics_agree_with_sklearn_on_the_out_of_fold_probabilities(evaluated):
    features, labels, ages, _, evaluation = evaluated
    summary = evaluation.summary
    out_of_fold = out_of_fold_probability(features, labels.to_numpy(), seed=0, folds=5)
    assert summary["auc_cv"] == pytest.approx(roc_auc_score(labels, out_of_fold))
    assert summary["brier"] == pytest.approx(brier_score_loss(labels, out_of_fold))
    for percent in (5, 10, 20):
        within = ranked_within_age(out_of_fold, ages, percent)
        overall = top_selection(out_of_fold, percent)
        key = str(percent)
        assert summary["precision_at"][key] == pytest.approx(precision_score(labels, within))
        assert summary["recall_at"][key] == pytest.approx(recall_score(labels, within))
        assert summary["precision_at_overall"][key] == pytest.approx(precision_score(labels, overall))
        assert summary["recall_at_overall"][key] == pytest.approx(recall_score(labels, overall))
    assert 0.7 < summary["auc_cv"] < 0.95
    json.dumps(summary, ensure_ascii=False)


def test_rows_are_the_model_evaluation_columns_in_japanese(evaluated):
    *_, evaluation = evaluated
    rows = evaluation.rows
    assert list(rows.columns) == ["区分", "指標", "値", "説明"]
    auc_row = rows[(rows["区分"] == "交差検証") & (rows["指標"] == "AUC")]
    assert auc_row["値"].iloc[0] == f"{evaluation.summary['auc_cv']:.3f}"
    assert {"上位10%", "較正", "時系列検証", "偏り(統計モデル)", "グループ差"} <= set(rows["区分"])
    assert rows.map(lambda value: isinstance(value, str)).all().all()


def test_selection_within_age_takes_the_ceiling_share_of_each_age_with_ties_by_id():
    scores = pd.Series([0.9, 0.1, 0.5, 0.5, 0.2, 0.8, 0.3], index=list("abcdefg"))
    ages = pd.Series([5, 5, 5, 5, 6, 6, 7], index=scores.index)
    chosen = ranked_within_age(scores, ages, 50)
    # age 5: ceil(2.0) = 2 → a and c (c before d on the tie); age 6: 1 → f; age 7: ceil(0.5) = 1 → g.
    assert chosen[chosen].index.tolist() == ["a", "c", "f", "g"]
    overall = top_selection(scores, 30)  # ceil(2.1) = 3
    assert overall[overall].index.tolist() == ["a", "c", "f"]


def test_calibration_bins_by_hand():
    probability = pd.Series([0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 0.95], index=list("abcdefghij"))
    labels = pd.Series([0, 0, 0, 1, 0, 1, 0, 1, 1, 1], index=probability.index).astype(bool)
    bins = calibration_bins(probability, labels, bins=4)  # sizes 3, 3, 2, 2
    assert [part["count"] for part in bins] == [3, 3, 2, 2]
    assert bins[0]["predicted"] == pytest.approx((0.05 + 0.1 + 0.2) / 3)
    assert bins[0]["observed"] == 0.0
    assert bins[1]["predicted"] == pytest.approx((0.3 + 0.4 + 0.6) / 3)
    assert bins[1]["observed"] == pytest.approx(2 / 3)
    assert bins[2]["observed"] == 0.5
    assert bins[3]["predicted"] == pytest.approx(0.925) and bins[3]["observed"] == 1.0
    assert (bins[3]["low"], bins[3]["high"]) == (0.9, 0.95)


def test_dominance_warns_when_one_item_holds_most_of_the_listed_push():
    pushes = pd.DataFrame(
        {
            "absence": [2.0, 1.5, 0.0, 3.0],
            "assistance": [0.5, 0.5, 1.0, 0.0],
            "fitness": [-1.0, 0.0, 0.0, -0.5],
        },
        index=list("abcd"),
    )
    listed = pd.Series([True, True, True, False], index=pushes.index)
    result = dominance(pushes, listed, names={"absence": "欠席30日以上"})
    # listed positive push: absence 3.5, assistance 2.0 → share 3.5 / 5.5
    assert result["item"] == "absence"
    assert result["share"] == pytest.approx(3.5 / 5.5)
    assert result["top_reason_share"] == pytest.approx(2 / 3)
    assert "欠席30日以上" in result["warning"] and "64%" in result["warning"]
    balanced = pushes.assign(fitness=[1.0, 1.0, 1.0, 0.0])  # absence 3.5 of 8.5
    assert dominance(balanced, listed)["warning"] is None
    assert dominance(pushes, listed & False)["item"] is None


def _group_case():
    index = pd.Index([f"{number:03d}" for number in range(200)])
    foreign = pd.Series(np.arange(200) < 100, index=index)
    labels = pd.Series((np.arange(200) % 5) == 0, index=index)  # 20 labelled in each half
    listed = pd.Series(False, index=index)
    listed[labels & foreign] = True  # every labelled foreign child listed ...
    listed[index[(np.arange(200) >= 100) & ((np.arange(200) % 5) == 0)][:5]] = True  # ... 5 of 20 others
    school = pd.Series(np.where(np.arange(200) < 100, "北小学校", "南小学校"), index=index)
    groups = pd.DataFrame({"foreign": foreign, "single_parent": False, "school": school})
    return listed, labels, groups


def test_group_gaps_by_hand_warn_on_recall_and_flag_rate():
    listed, labels, groups = _group_case()
    gaps, messages = group_gaps(listed, labels, groups)
    assert gaps["foreign"]["in"] == {"children": 100, "labelled": 20, "flag_rate": 0.2, "recall": 1.0}
    assert gaps["foreign"]["out"] == {"children": 100, "labelled": 20, "flag_rate": 0.05, "recall": 0.25}
    assert gaps["school"]["highest"]["school"] == "北小学校"
    assert gaps["school"]["lowest"]["school"] == "南小学校"
    assert any("外国籍" in message and "再現率" in message for message in messages)
    assert any("外国籍" in message and "3倍以上" in message for message in messages)
    assert any("学校" in message for message in messages)
    assert not any("ひとり親" in message for message in messages)  # nobody in the group


def test_group_gaps_quiet_when_groups_are_treated_alike():
    listed, labels, groups = _group_case()
    even = labels.copy()  # list exactly the labelled children: recall 1 and flag rate 0.2 everywhere
    gaps, messages = group_gaps(even, labels, groups)
    assert messages == []
    assert gaps["foreign"]["in"]["recall"] == gaps["foreign"]["out"]["recall"] == 1.0


def test_no_labels_gives_an_unavailable_evaluation_in_japanese():
    features, labels, ages, groups = planted(300)
    evaluation = evaluate(features, labels & False, ages, groups)
    assert evaluation.summary["available"] is False
    assert "教師データ" in evaluation.summary["reason"]
    assert evaluation.rows["値"].tolist() == ["できません"]
    json.dumps(evaluation.summary)


def test_temporal_validation_trains_on_the_earlier_extract():
    features, labels, ages, groups = planted(3000, seed=5)
    earlier_features, earlier_labels, _, _ = planted(3000, seed=6)
    evaluation = evaluate(
        features, labels, ages, groups, earlier=EarlierExtract(earlier_features, earlier_labels)
    )
    temporal = evaluation.summary["temporal"]
    model = fit_model(earlier_features, earlier_labels)
    from macros_py.score.model import predict_probability

    assert temporal["auc"] == pytest.approx(roc_auc_score(labels, predict_probability(model, features)))
    assert temporal["auc"] > 0.7
    rows = evaluation.rows
    assert "AUC" in rows.loc[rows["区分"] == "時系列検証", "指標"].tolist()


def test_given_list_and_model_are_used_for_dominance_and_gaps():
    features, labels, ages, groups = planted(2000)
    model = fit_model(features, labels)
    listed = features["absence"] > 0  # a list made by one item only
    evaluation = evaluate(features, labels, ages, groups, model=model, listed=listed)
    assert evaluation.summary["dominance"]["item"] == "absence"
    assert evaluation.summary["dominance"]["warning"] is not None
    assert evaluation.warnings[0] == evaluation.summary["dominance"]["warning"]


def test_rule_points_dominance_is_reported_with_and_without_a_model():
    features, labels, ages, groups = planted(2000)
    points = pd.DataFrame(
        {"absence": 3.0 * features["absence"], "assistance": 1.0 * features["assistance"]},
        index=features.index,
    )
    listed = (points.sum(axis=1) > 0) & (features["absence"] > 0)
    evaluation = evaluate(
        features, labels, ages, groups, listed=listed, rule_points=points, names={"absence": "欠席"}
    )
    rules = evaluation.summary["dominance_rules"]
    assert rules["item"] == "absence" and rules["share"] > 0.5
    assert "判定ルールの点数" in rules["warning"] and "「欠席」" in rules["warning"]
    assert evaluation.warnings[0] == rules["warning"]
    assert "偏り(判定ルール)" in evaluation.rows["区分"].tolist()
    without = evaluate(features, labels & False, ages, groups, listed=listed, rule_points=points)
    assert without.summary["available"] is False
    assert without.summary["dominance_rules"]["item"] == "absence"
    assert without.rows["区分"].tolist() == ["モデル", "偏り(判定ルール)", "警告"]
    json.dumps(without.summary, ensure_ascii=False)


def test_only_constant_features_give_an_unavailable_evaluation():
    features, labels, ages, groups = planted(300)
    constant = pd.DataFrame({"a": 1.0, "b": 0.0}, index=features.index)
    evaluation = evaluate(constant, labels, ages, groups)
    assert evaluation.summary["available"] is False
    assert "同じ値" in evaluation.summary["reason"]
    assert evaluation.warnings == (evaluation.summary["reason"],)
