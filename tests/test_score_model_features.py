"""Model features from items: label sources left out, values transformed, names and presence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from macros_py.indicators.compute import ItemResults
from macros_py.indicators.conditions import parse_condition
from macros_py.indicators.rules import ItemRule
from macros_py.score.features import (
    VALUE_SUFFIX,
    feature_labels,
    feature_presence,
    hidden_features,
    model_features,
)


def _rule(item_id: str, name: str, source_id: str, aggregation: str, **options) -> ItemRule:
    return ItemRule(
        item_id=item_id,
        name=name,
        basic_item_no=None,
        source_id=source_id,
        value_field="",
        record_condition=parse_condition(""),
        period_days=None,
        date_field="",
        scope="self",
        aggregation=aggregation,
        judgement=parse_condition(""),
        target=parse_condition(""),
        group=item_id,
        **options,
    )


RULES = (
    _rule("absence", "欠席30日以上", "attendance", "sum"),
    _rule("seiho", "生活保護", "seiho", "any"),
    _rule("yotaikyo", "要対協に登録", "yotaikyo", "any"),  # a label source: left out
    _rule("ssw", "SSW支援あり", "ssw", "count"),  # a label source: left out
    _rule("off", "無効な項目", "seiho", "any", enabled=False),
    _rule("epds", "EPDS9点以上", "sanpu", "max", shown_in_review=False),
    _rule("moved", "転居", "jumin", "any"),  # computed but unavailable
)


@pytest.fixture
def results() -> ItemResults:
    index = pd.Index(["a", "b", "c", "d"], name="resident_id")
    hits = pd.DataFrame(
        {
            "absence": [True, False, False, True],
            "seiho": [False, True, False, False],
            "yotaikyo": [True, False, False, False],
            "ssw": [False, False, True, False],
            "epds": [False, False, False, True],
            "moved": [False, False, False, False],
        },
        index=index,
    )
    values = pd.DataFrame(
        {
            "absence": [40.0, 0.0, np.nan, 100.0],
            "seiho": [np.nan, 1.0, np.nan, np.nan],
            "yotaikyo": [1.0, np.nan, np.nan, np.nan],
            "ssw": [np.nan, np.nan, 2.0, np.nan],
            "epds": [np.nan, np.nan, 3.0, 12.0],
            "moved": [np.nan] * 4,
        },
        index=index,
    )
    status = pd.DataFrame(
        {
            "item_id": ["absence", "seiho", "yotaikyo", "ssw", "epds", "moved"],
            "source_id": ["attendance", "seiho", "yotaikyo", "ssw", "sanpu", "jumin"],
            "extract_date": pd.NaT,
            "available": [True, True, True, True, True, False],
            "note": "",
        }
    )
    return ItemResults(
        children=pd.DataFrame(index=index), hits=hits, values=values, item_status=status, opted_out=0
    )


def test_label_source_disabled_and_unavailable_items_are_left_out(results):
    features = model_features(results, rules=RULES, label_source_ids=("yotaikyo", "ssw"))
    assert list(features.columns) == [
        "absence",
        "seiho",
        "epds",
        "absence" + VALUE_SUFFIX,
        "epds" + VALUE_SUFFIX,
    ]
    assert features.index.equals(results.hits.index)
    assert features["absence"].tolist() == [1.0, 0.0, 0.0, 1.0]
    with_labels = model_features(results, rules=RULES, label_source_ids=())
    assert "yotaikyo" in with_labels.columns and "ssw" + VALUE_SUFFIX in with_labels.columns


def test_values_are_signed_log1p_with_the_median_for_children_without_a_record(results):
    features = model_features(results, rules=RULES, label_source_ids=("yotaikyo", "ssw"))
    absence = features["absence" + VALUE_SUFFIX]
    recorded = np.log1p([40.0, 0.0, 100.0])
    low, high = np.quantile(recorded, (0.005, 0.995))
    expected = np.clip([recorded[0], recorded[1], np.median(recorded), recorded[2]], low, high)
    assert absence.to_numpy() == pytest.approx(expected)
    assert absence.iloc[3] < np.log1p(100.0)  # the extreme record is clipped
    epds = features["epds" + VALUE_SUFFIX]
    assert epds.iloc[0] == epds.iloc[1] == pytest.approx(np.median(np.log1p([3.0, 12.0])))


def test_names_presence_and_hidden_items(results):
    features = model_features(results, rules=RULES, label_source_ids=("yotaikyo", "ssw"))
    names = feature_labels(features.columns, RULES)
    assert names["absence"] == "欠席30日以上" and names["absence" + VALUE_SUFFIX] == "欠席30日以上(値)"
    present = feature_presence(results, features)
    # recorded and above the mean: 40 and 100 days, not 0 days nor the child without a record
    assert present["absence" + VALUE_SUFFIX].tolist() == [True, False, False, True]
    assert present["epds" + VALUE_SUFFIX].tolist() == [False, False, False, True]
    assert present["seiho"].tolist() == [False, True, False, False]
    assert hidden_features(features.columns, RULES) == ("epds", "epds" + VALUE_SUFFIX)


def test_no_model_rules_gives_an_empty_frame_on_the_children(results):
    features = model_features(results, rules=RULES[2:4], label_source_ids=("yotaikyo", "ssw"))
    assert features.shape == (4, 0)
