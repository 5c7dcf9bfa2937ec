"""Truth evaluation: known answers on tiny hand-made truth and score frames."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from macros_py.score.truth_evaluation import (
    TruthFolderError,
    ages_in_years,
    area_under_curve,
    compare_methods,
    format_table,
    method_metrics,
    read_truth,
    top_by_age,
)

REFERENCE = pd.Timestamp("2025-12-01")


def _series(values: dict[str, float]) -> pd.Series:
    return pd.Series(values, dtype="float64")


def test_top_by_age_takes_ceil_share_of_each_age_and_breaks_ties_by_id():
    # Age 5: ten children; age 6: three children. 10 % -> 1 and 1 (ceil 0.3 = 1).
    ids = [f"A{i:02d}" for i in range(10)] + ["B02", "B01", "B00"]
    scores = pd.Series([1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 5, 5, 1], index=ids, dtype="float64")
    ages = pd.Series([5] * 10 + [6] * 3, index=ids)
    chosen = top_by_age(scores, ages, 10)
    # A08 and A09 tie at 9: the smaller id wins. B01 and B02 tie at 5: B01 wins.
    assert sorted(chosen[chosen].index) == ["A08", "B01"]
    assert list(chosen.index) == ids  # same order as the input
    twenty = top_by_age(scores, ages, 20)
    assert sorted(twenty[twenty].index) == ["A08", "A09", "B01"]  # ceil(2.0) = 2, ceil(0.6) = 1


def test_top_by_age_never_takes_a_zero_negative_or_missing_score():
    ids = ["C1", "C2", "C3", "C4", "C5"]
    scores = pd.Series([0.0, 0.0, -1.0, np.nan, 0.0], index=ids)
    ages = pd.Series([7] * 5, index=ids)
    assert not top_by_age(scores, ages, 100).any()
    scores["C4"] = 0.5
    chosen = top_by_age(scores, ages, 100)
    assert list(chosen[chosen].index) == ["C4"]


def test_method_metrics_known_answer():
    # Age 5: A00..A09 with scores 9, 8, 7, 0...; age 6: B00..B09 with 5, 5, 1, 0...
    a_ids = [f"A{i:02d}" for i in range(10)]
    b_ids = [f"B{i:02d}" for i in range(10)]
    scores = pd.Series([9, 8, 7] + [0] * 7 + [5, 5, 1] + [0] * 7, index=a_ids + b_ids, dtype="float64")
    ages = pd.Series([5] * 10 + [6] * 10, index=scores.index)
    hardship = pd.Series(False, index=scores.index)
    hardship[["A01", "A09", "B01", "B02"]] = True
    known = pd.Series(False, index=scores.index)
    known["A01"] = True
    figures = method_metrics(scores, ages, hardship, known)
    # top 10 % (1 per age): A00, B00 -> nobody in hardship.
    assert figures["listed_at_10pct"] == 2
    assert figures["precision_at_10pct"] == 0.0
    assert figures["recall_at_10pct"] == 0.0
    assert figures["recall_unknown_at_10pct"] == 0.0
    assert figures["listed_at_5pct"] == 2  # ceil(0.5) = 1 per age
    # top 20 % (2 per age): A00, A01, B00, B01 -> A01 (known) and B01 (unknown).
    assert figures["listed_at_20pct"] == 4
    assert figures["precision_at_20pct"] == 0.5
    assert figures["recall_at_20pct"] == 0.5
    assert figures["recall_unknown_at_20pct"] == pytest.approx(1 / 3)  # of A09, B01, B02
    assert figures["auc"] == pytest.approx(roc_auc_score(hardship.to_numpy(), scores.to_numpy()))


def test_precision_is_none_when_nobody_is_in_the_top_and_recall_none_without_positives():
    scores = pd.Series([0.0, 0.0], index=["X1", "X2"])
    ages = pd.Series([3, 3], index=scores.index)
    figures = method_metrics(scores, ages, pd.Series([False, False], index=scores.index), scores.astype(bool))
    assert figures["precision_at_10pct"] is None
    assert figures["recall_at_10pct"] is None
    assert figures["recall_unknown_at_10pct"] is None
    assert figures["auc"] is None


def test_auc_agrees_with_scikit_learn_with_ties_and_missing_scores():
    rng = np.random.default_rng(3)
    values = rng.integers(0, 5, size=200).astype("float64")
    labels = rng.random(200) < 0.3
    scores = pd.Series(values, index=[f"R{i:03d}" for i in range(200)])
    assert area_under_curve(scores, pd.Series(labels, index=scores.index)) == pytest.approx(
        roc_auc_score(labels, values)
    )
    scores.iloc[:10] = np.nan  # missing = lowest
    expected = roc_auc_score(labels, scores.fillna(-1e9).to_numpy())
    assert area_under_curve(scores, pd.Series(labels, index=scores.index)) == pytest.approx(expected)


def test_ages_in_years_counts_the_birthday():
    births = pd.Series(pd.to_datetime(["2020-12-01", "2020-12-02", "2007-01-01", None]))
    assert ages_in_years(births, REFERENCE).tolist() == [5, 4, 18, -1]


def _write_truth(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "persons.csv").write_text(
        "person_id,resident_id,birth_date,status\n"
        "P1,1001,2015-04-01,resident\n"
        "P2,1002,2015-06-01,resident\n"
        "P3,1003,2010-01-01,resident\n"
        "P4,,2012-01-01,unregistered\n"
        "P5,1005,1980-01-01,resident\n",
        encoding="utf-8",
    )
    (folder / "children.csv").write_text(
        "person_id,abuse,in_hardship,known_to_services\nP1,1,1,0\nP2,0,0,0\nP3,1,1,1\nP4,0,1,0\n",
        encoding="utf-8",
    )


def test_read_truth_accepts_the_municipality_folder_or_its_truth_folder(tmp_path):
    _write_truth(tmp_path / "town" / "truth")
    for folder in (tmp_path / "town", tmp_path / "town" / "truth"):
        truth = read_truth(folder)
        assert list(truth.index) == ["1001", "1002", "1003"]  # P4 has no 宛名番号; P5 is no child
        assert truth["in_hardship"].tolist() == [True, False, True]
        assert truth["known_to_services"].tolist() == [False, False, True]
        assert truth.loc["1002", "birth_date"] == pd.Timestamp("2015-06-01")


def test_read_truth_missing_folder_or_file_is_a_japanese_error(tmp_path):
    with pytest.raises(TruthFolderError, match="見つかりません"):
        read_truth(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TruthFolderError, match="persons.csv と children.csv"):
        read_truth(tmp_path / "empty")
    _write_truth(tmp_path / "bad")
    (tmp_path / "bad" / "children.csv").write_text("person_id,in_hardship\nP1,1\n", encoding="utf-8")
    with pytest.raises(TruthFolderError, match="known_to_services"):
        read_truth(tmp_path / "bad")


def test_compare_methods_population_ages_and_unavailable_model(tmp_path):
    _write_truth(tmp_path / "truth")
    truth = read_truth(tmp_path)
    scores = pd.DataFrame(
        {"rules": [3.0, 1.0, 0.0, 2.0], "model": [np.nan] * 4, "basic_items": [1.0, 0.0, 2.0, 1.0]},
        index=["1001", "1002", "1003", "9999"],  # 9999 is not in the truth
    )
    result = compare_methods(scores, truth, reference_date=REFERENCE)
    assert result["population"] == {
        "children": 3,
        "in_hardship": 2,
        "unknown_in_hardship": 1,
        "not_in_truth": 1,
        "reference_date": "2025-12-01",
    }
    assert result["methods"]["model"] == {"available": False}
    rules = result["methods"]["rules"]
    # Ages 10, 10 and 15: age 10 takes 1 (1001, score 3), age 15 none (score 0).
    assert rules["listed_at_10pct"] == 1 and rules["recall_unknown_at_10pct"] == 1.0
    assert rules["precision_at_10pct"] == 1.0 and rules["recall_at_10pct"] == 0.5
    basic = result["methods"]["basic_items"]
    assert basic["listed_at_10pct"] == 2 and basic["recall_at_10pct"] == 1.0
    # The run's own ages win over the truth's birth dates: all three one age -> 1 child.
    with_ages = compare_methods(scores.assign(age=[8, 8, 8, 8]), truth, reference_date=REFERENCE)
    assert with_ages["methods"]["basic_items"]["listed_at_10pct"] == 1
    table = format_table(result)
    assert "判定ルール" in table and "統計モデル" in table and "(なし)" in table
    assert "未把握の困難児の検出率(上位10%)" in table


def test_engine_modules_never_import_truth_evaluation():
    package = Path(__file__).resolve().parents[1] / "macros_py"
    offenders = []
    for path in package.rglob("*.py"):
        if path.name == "truth_evaluation.py" or path.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            if any("truth_evaluation" in name for name in names):
                offenders.append(str(path))
    assert offenders == []
