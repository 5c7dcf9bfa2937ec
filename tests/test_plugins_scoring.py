"""Scoring plugins: register_items / register_models, the examples in plugins/, failures reported."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from macros_py import plugin_api
from macros_py.plugins import (
    collect_items,
    collect_models,
    compute_plugin_items,
    load_plugins,
    plugin_model_scores,
)

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
EXAMPLES = ("example_item.py", "example_model.py", "fixed_width_reader.py")


def _children() -> pd.DataFrame:
    index = pd.Index(["1001", "1002", "1003", "1004", "1005"], name="resident_id")
    return pd.DataFrame(
        {"household_id": ["H1", "H1", "H1", "H2", ""], "age": [7, 9, 12, 8, 10]},
        index=index,
    )


def _attendance(_source_id: str) -> pd.DataFrame:
    assert _source_id == "attendance"
    return pd.DataFrame(
        {
            "resident_id": ["1001", "1001", "1002", "1003", "9999"],
            "遅刻回数": [6.0, 5.0, 12.0, 30.0, 50.0],
            "保健室来室回数": [4.0, 7.0, 3.0, np.nan, 50.0],
        }
    )


def _examples_only(tmp_path: Path, *names: str) -> Path:
    for name in names:
        (tmp_path / name).write_text((PLUGINS / name).read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def test_examples_load_pass_check_pending_and_register():
    plugins = load_plugins(PLUGINS)
    assert plugins.problems == []
    items = collect_items(plugins)
    assert [item.item_id for item in items] == ["late_and_nurse", "siblings"]
    assert all(isinstance(item, plugin_api.ItemSpec) for item in items)
    models = collect_models(plugins)
    assert [model.name for model in models] == ["加点モデル(例)"]
    assert plugins.problems == []


def test_example_items_known_values():
    plugins = load_plugins(PLUGINS, builtin=())
    values = compute_plugin_items(plugins, children=_children(), records_of=_attendance)
    assert plugins.problems == []
    assert list(values.columns) == ["late_and_nurse", "siblings"]
    assert list(values.index) == list(_children().index)
    # 1001: lates 11, nurse 11 -> 1; 1002: nurse 3 -> 0; 1003: nurse missing -> 0; others no records.
    late = values["late_and_nurse"]
    assert late.iloc[:3].tolist() == [1.0, 0.0, 0.0]
    assert late.iloc[3:].isna().all()
    assert values["siblings"].tolist() == [2.0, 2.0, 2.0, 0.0, 0.0]


def test_example_model_fits_and_ranks_a_planted_effect(tmp_path):
    rng = np.random.default_rng(0)
    size = 2000
    features = pd.DataFrame(
        {
            "strong": rng.random(size) < 0.2,
            "noise": rng.random(size) < 0.3,
            "protective": rng.random(size) < 0.3,
        },
        index=[f"{i:06d}" for i in range(size)],
    ).astype("float64")
    logit = -2.5 + 2.5 * features["strong"] - 1.5 * features["protective"]
    labels = pd.Series(rng.random(size) < 1 / (1 + np.exp(-logit)), index=features.index)
    plugins = load_plugins(_examples_only(tmp_path, "example_model.py"), builtin=())
    scores = plugin_model_scores(plugins, features, labels)
    assert plugins.problems == []
    column = scores["加点モデル(例)"]
    assert column.between(0, 1).all()
    assert column[features["strong"] == 1].mean() > column[features["strong"] == 0].mean()
    assert column[features["protective"] == 1].mean() < column[features["protective"] == 0].mean()
    out_of_fold = plugin_model_scores(plugins, features, labels, folds=3)["加点モデル(例)"]
    assert out_of_fold.notna().all() and not np.allclose(out_of_fold, column)


BAD_ITEMS = """
import pandas as pd
from macros_py.plugin_api import ItemSpec, hookimpl

def boom(children, records_of):
    raise RuntimeError("no attendance today")

def wrong_length(children, records_of):
    return [1.0, 2.0]

@hookimpl
def register_items():
    return [
        ItemSpec("boom", "壊れた項目", boom),
        ItemSpec("wrong_length", "行数違い", wrong_length),
        ItemSpec("ok", "正しい項目", lambda children, records_of: pd.Series(1.0, index=children.index)),
        ItemSpec("ok", "重複", lambda children, records_of: pd.Series(2.0, index=children.index)),
        ItemSpec("bad id!", "悪いID", lambda children, records_of: None),
        "not an item",
    ]
"""

BAD_MODELS = """
import pandas as pd
from macros_py.plugin_api import ModelSpec, hookimpl

@hookimpl
def register_models():
    return [
        ModelSpec("short", fit=lambda f, l: None, predict=lambda m, f: pd.Series([0.5])),
        ModelSpec("raises", fit=lambda f, l: 1 / 0, predict=lambda m, f: None),
        ModelSpec("fine", fit=lambda f, l: None, predict=lambda m, f: pd.Series(0.25, index=f.index)),
    ]
"""


def test_failing_items_are_reported_with_file_and_item_and_others_still_computed(tmp_path):
    (tmp_path / "bad_items.py").write_text(BAD_ITEMS, encoding="utf-8")
    plugins = load_plugins(tmp_path, builtin=())
    values = compute_plugin_items(plugins, children=_children(), records_of=_attendance)
    assert list(values.columns) == ["ok"] and (values["ok"] == 1.0).all()
    messages = [problem.as_japanese() for problem in plugins.problems]
    assert all("bad_items.py" in message for message in messages)
    joined = "\n".join(messages)
    for expected in ("no attendance today", "wrong_length", "重複", "bad id!", "ItemSpec ではない"):
        assert expected in joined
    assert len(messages) == 5


def test_failing_models_are_reported_and_others_still_scored(tmp_path):
    (tmp_path / "bad_models.py").write_text(BAD_MODELS, encoding="utf-8")
    plugins = load_plugins(tmp_path, builtin=())
    features = pd.DataFrame({"x": [0.0, 1.0, 0.0, 1.0]}, index=["a", "b", "c", "d"])
    labels = pd.Series([False, True, False, True], index=features.index)
    scores = plugin_model_scores(plugins, features, labels)
    assert list(scores.columns) == ["fine"] and (scores["fine"] == 0.25).all()
    hooks = sorted(problem.hook for problem in plugins.problems)
    assert hooks == ["register_models (raises)", "register_models (short)"]
    assert "ZeroDivisionError" in " ".join(problem.message for problem in plugins.problems)


def test_no_plugins_means_no_items_and_no_models():
    children = _children()
    assert compute_plugin_items(None, children=children, records_of=_attendance).shape == (5, 0)
    assert plugin_model_scores(None, children[["age"]].astype(float), children["age"] > 8).shape == (5, 0)


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_import_nothing_of_macros_py_but_plugin_api(name):
    tree = ast.parse((PLUGINS / name).read_text(encoding="utf-8"))
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.append(node.module or "")
        elif isinstance(node, ast.Import):
            imported.extend(alias.name for alias in node.names)
    ours = [module for module in imported if module.split(".")[0] == "macros_py"]
    assert ours and set(ours) == {"macros_py.plugin_api"}


def test_plugin_api_exports_what_its_docstring_promises():
    for name in ("hookimpl", "ReaderSpec", "RawTable", "RawChunk", "ReadError", "ItemSpec", "ModelSpec"):
        assert name in plugin_api.__all__ and hasattr(plugin_api, name)
    spec = plugin_api.ItemSpec("x", "名前", lambda c, r: None)
    with pytest.raises(AttributeError):
        spec.item_id = "y"  # frozen


def _planted(size: int = 1500, seed: int = 1) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    index = pd.Index([f"{i:06d}" for i in range(size)])
    features = pd.DataFrame(
        {"strong": rng.random(size) < 0.2, "noise": rng.random(size) < 0.3}, index=index
    ).astype("float64")
    labels = pd.Series(rng.random(size) < np.where(features["strong"] > 0, 0.6, 0.05), index=index)
    ages = pd.Series(rng.integers(0, 19, size), index=index)
    return features, labels, ages


def test_plugin_models_are_evaluated_out_of_fold_beside_the_built_in_model(tmp_path):
    from sklearn.metrics import roc_auc_score

    from macros_py.score.plugin_models import evaluate_plugin_models

    features, labels, ages = _planted()
    plugins = load_plugins(_examples_only(tmp_path, "example_model.py"), builtin=())
    evaluation = evaluate_plugin_models(plugins, features, labels, ages, seed=0)
    assert plugins.problems == []
    figures = evaluation.summary["加点モデル(例)"]
    scores = plugin_model_scores(plugins, features, labels, folds=5, seed=0)["加点モデル(例)"]
    assert figures["auc_cv"] == pytest.approx(roc_auc_score(labels.to_numpy(), scores.to_numpy()))
    assert figures["auc_cv"] > 0.75
    assert set(figures["precision_at"]) == {"5", "10", "20"}
    assert set(evaluation.rows["区分"]) == {"プラグインモデル(加点モデル(例))"}
    assert list(evaluation.rows.columns) == ["区分", "指標", "値", "説明"]


def test_plugin_models_absent_or_unfittable(tmp_path):
    from macros_py.score.plugin_models import evaluate_plugin_models

    features, labels, ages = _planted(size=50)
    assert evaluate_plugin_models(None, features, labels, ages).rows.empty
    assert evaluate_plugin_models(load_plugins(tmp_path, builtin=()), features, labels, ages).summary == {}
    plugins = load_plugins(_examples_only(tmp_path, "example_model.py"), builtin=())
    one_label = pd.Series(False, index=features.index)
    one_label.iloc[0] = True
    evaluation = evaluate_plugin_models(plugins, features, one_label, ages)
    assert evaluation.summary == {} and evaluation.rows["値"].tolist() == ["できません"]
