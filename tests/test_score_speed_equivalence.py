"""The faster listing, model and record-reading code gives what the straightforward code gave.

Each test compares a rewritten function with a reference written the plain way (one row
at a time, the way the function was written before it was made faster) on random data
with the awkward cases in it: repeated rows, no hits, missing texts, ties.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from macros_py.indicators.records import typed_values
from macros_py.score.candidates import (
    PROBABILITY_REASON,
    RANKING_REASONS,
    SIBLING_REASON,
    _freshness,
    _item_reasons,
    _listed_types,
    _siblings_text,
    listing_reasons,
)
from macros_py.score.model import REGULARISATION_GRID, _best_fit, _path_fits, _standardise

TYPES = ["虐待", "貧困", "不登校", "ヤングケアラー"]
RANKING_OF = {"虐待": "threshold", "貧困": "top_n", "不登校": "grades", "ヤングケアラー": "unknown-method"}


def _random_listing(seed: int, children: int = 300) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    generator = np.random.default_rng(seed)
    index = pd.Index([f"{number:05d}" for number in range(children)], name="resident_id")
    first = pd.DataFrame(generator.random((children, len(TYPES))) < 0.2, index=index, columns=TYPES)
    final = first | pd.DataFrame(generator.random((children, len(TYPES))) < 0.15, index=index, columns=TYPES)
    by_model = pd.Series(generator.random(children) < 0.2, index=index)
    return first, final, by_model


def _reference_listing_reasons(first, final, by_model, ranking_of) -> pd.Series:
    """The substring-search version (one pass over the texts per type)."""
    parts = pd.Series("", index=final.index, dtype=object)
    for type_name in final.columns:
        reason = RANKING_REASONS.get(ranking_of.get(type_name, "threshold"), "基準点数以上")
        own = first[type_name].to_numpy(dtype=bool)
        parts = parts.mask(own & ~parts.str.contains(reason, regex=False), parts + "・" + reason)
        by_sibling = final[type_name].to_numpy(dtype=bool) & ~own
        parts = parts.mask(
            by_sibling & ~parts.str.contains(SIBLING_REASON, regex=False), parts + "・" + SIBLING_REASON
        )
    parts = parts.mask(
        by_model.reindex(final.index).fillna(False).to_numpy(bool), parts + "・" + PROBABILITY_REASON
    )
    return parts.str.lstrip("・")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_listing_reasons_match_the_substring_search(seed):
    first, final, by_model = _random_listing(seed)
    got = listing_reasons(first, final, by_model, RANKING_OF)
    expected = _reference_listing_reasons(first, final, by_model, RANKING_OF)
    pd.testing.assert_series_equal(got, expected)
    assert got.dtype == object
    assert (got == "").any() and got.str.contains(SIBLING_REASON).any()  # both kinds of row occur


def test_listing_reasons_of_no_children_and_no_types():
    empty = pd.DataFrame(index=pd.Index([], name="resident_id"))
    assert listing_reasons(empty, empty, pd.Series(dtype=bool), {}).empty
    index = pd.Index(["a", "b"])
    none = pd.DataFrame(index=index)
    got = listing_reasons(none, none, pd.Series([True, False], index=index), {})
    assert got.tolist() == [PROBABILITY_REASON, ""]


def test_listed_types_join_each_row_like_a_loop():
    _, final, _ = _random_listing(4)
    names = np.asarray(final.columns, dtype=object)
    expected = ["・".join(names[row]) for row in final.to_numpy(bool)]
    assert _listed_types(final).tolist() == expected
    assert _listed_types(final.iloc[:, :0]).tolist() == [""] * len(final)
    assert _listed_types(final.iloc[:0]).tolist() == []


@dataclass(frozen=True)
class Rule:  # the fields of ItemRule the reasons read
    item_id: str
    name: str
    points: dict = field(default_factory=dict)
    shown_in_review: bool = True
    enabled: bool = True


RULES = (
    Rule("a", "欠席", {"不登校": 3}),
    Rule("b", "生活保護", {"貧困": 2, "虐待": 1}),
    Rule("c", "就学援助", {"貧困": 3}),  # ties with b on points: rule order decides
    Rule("d", "部活動", {"不登校": -1}),
    Rule("e", "見守り", {"虐待": -2}),
    Rule("f", "転居", {"貧困": 1}, shown_in_review=False),
    Rule("g", "無効", {"貧困": 5}, enabled=False),
    Rule("h", "点数なし", {}),
)


def _reference_item_reasons(hits, rules, model_up, model_down):
    """One row at a time, sorting each row's hit items."""
    shown = [rule for rule in rules if rule.enabled and rule.shown_in_review and rule.item_id in hits.columns]
    points = np.array([sum(float(value) for value in rule.points.values()) for rule in shown], dtype=float)
    names = [rule.name for rule in shown]
    matrix = hits[[rule.item_id for rule in shown]].fillna(False).to_numpy(bool)
    ups, downs = [], []
    for position in range(len(hits)):
        row = matrix[position]
        up = [names[i] for i in sorted(np.flatnonzero(row & (points > 0)), key=lambda i: (-points[i], i))]
        down = [names[i] for i in sorted(np.flatnonzero(row & (points < 0)), key=lambda i: (points[i], i))]
        if model_up is not None:
            up += [name for name in str(model_up.iloc[position]).split("、") if name and name not in up]
            down += [
                name
                for name in str(model_down.iloc[position]).split("、")
                if name and name not in down and name not in up
            ]
        ups.append("、".join(up[:5]))
        downs.append("、".join(down[:5]))
    return ups, downs


@pytest.mark.parametrize("with_model", [True, False])
def test_item_reasons_match_the_row_by_row_version(with_model):
    generator = np.random.default_rng(7)
    count = 400
    hits = pd.DataFrame(generator.random((count, 8)) < 0.35, columns=list("abcdefgh"))
    texts = np.array(
        ["", "年齢、欠席", "所得", "欠席、部活動、外国籍", "見守り", "a、b、c、d、e、f"], dtype=object
    )
    model_up = pd.Series(texts[generator.integers(0, len(texts), count)]) if with_model else None
    model_down = pd.Series(texts[generator.integers(0, len(texts), count)]) if with_model else None
    got = _item_reasons(hits, RULES, model_up, model_down)
    assert got == _reference_item_reasons(hits, RULES, model_up, model_down)
    assert len(set(got[0])) > 5  # many distinct rows, and repeats among 400


def test_freshness_is_the_oldest_extract_behind_the_hits():
    items = ["a", "b", "c", "d"]
    status = pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "source_id": ["s2", "s1", "s3", "s4"],
            "extract_date": pd.to_datetime(["2025-03-31", "2025-03-31", "2025-01-31", None]),
        }
    )
    hit_matrix = np.array(
        [
            [True, True, False, False],  # same date: the source id decides (s1)
            [True, True, True, False],  # the oldest date wins
            [False, False, False, True],  # an item without a date gives no text
            [False, False, False, False],
        ]
    )
    names = {"s1": "学校", "s3": "国保"}
    assert _freshness(hit_matrix, items, status, names) == [
        "2025-03-31(学校)",
        "2025-01-31(国保)",
        "",
        "",
    ]
    assert _freshness(hit_matrix, items, status.iloc[:0], names) == [""] * 4


def test_values_json_as_bytes_or_text_read_the_same():
    texts = [
        '{"欠席日数": 12, "受診日": "2025-04-01", "要支援": true, "備考": "a\\nb"}',
        None,
        '{"欠席日数": null, "受診日": null, "要支援": false, "備考": null}',
        "{}",
    ]
    types = {"欠席日数": "数値", "受診日": "日付", "要支援": "フラグ", "備考": "文字"}
    as_text = typed_values(pd.Series(texts, dtype=object), types)
    as_bytes = typed_values(pd.Series([t.encode() if t else t for t in texts], dtype=object), types)
    pd.testing.assert_frame_equal(as_text, as_bytes)
    assert as_bytes["欠席日数"].iloc[0] == 12.0 and as_bytes["備考"].iloc[0] == "a\nb"
    assert as_bytes["受診日"].iloc[0] == pd.Timestamp("2025-04-01")
    mixed = pd.Series([texts[0].encode(), texts[2]], dtype=object)  # both kinds in one column
    pd.testing.assert_frame_equal(typed_values(mixed, types), as_text.iloc[[0, 2]].reset_index(drop=True))


def test_values_json_bytes_with_an_unexpected_type_take_the_slow_path():
    texts = pd.Series([b'{"n": "12"}', b'{"n": 3}', None], dtype=object)  # a number written as text
    assert typed_values(texts, {"n": "数値"})["n"].tolist()[:2] == [12.0, 3.0]


def _planted(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    matrix = generator.normal(size=(count, 4))
    logit = -1.0 + 2.0 * matrix[:, 0] - 1.5 * matrix[:, 1]
    target = (generator.random(count) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return matrix, target


def test_the_chosen_fit_is_the_full_regularisation_path_up_to_it():
    # Strong planted effects and many children: weaker shrinkage than the first C wins,
    # so the full-data path is continued after the choice; it must equal the whole path.
    matrix, target = _planted(3000, 5)
    fit = _best_fit(matrix, target, 0, 5, REGULARISATION_GRID)
    chosen = REGULARISATION_GRID.index(fit.regularisation)
    assert chosen > 0
    means, scales, constant = _standardise(matrix)
    path = _path_fits(((matrix - means) / scales)[:, ~constant], target, 0, REGULARISATION_GRID)
    np.testing.assert_array_equal(fit.coefficients, path[chosen][0])
    assert fit.intercept == path[chosen][1]


def _reference_siblings_text(listed_ids, children, ranks):
    """One groupby with a join per child."""
    people = pd.DataFrame(
        {
            "other": children.index.astype(str),
            "household": children["household_id"].fillna("").astype(str).to_numpy(dtype=object),
            "name": children["name"].fillna("").astype(str).to_numpy(dtype=object),
        }
    )
    people = people[people["household"] != ""]
    listed = pd.Index(listed_ids.astype(str), dtype=object)
    wanted = people.loc[people["other"].isin(listed), ["other", "household"]]
    pairs = wanted.rename(columns={"other": "resident"}).merge(people, on="household")
    pairs = pairs[pairs["resident"] != pairs["other"]]
    rank_by_id = pd.Series(ranks.to_numpy(), index=ranks.index.astype(str))
    rank = pd.to_numeric(rank_by_id.reindex(pairs["other"].to_numpy()), errors="coerce").to_numpy(dtype=float)
    pairs = pairs.assign(unranked=np.isnan(rank), rank=np.nan_to_num(rank, nan=0.0))
    pairs = pairs.sort_values(["resident", "unranked", "rank", "other"], kind="stable")
    rank_text = pairs["rank"].astype(np.int64).astype(str)
    pairs["text"] = np.where(pairs["unranked"], pairs["name"], pairs["name"] + "(" + rank_text + "位)")
    joined = pairs.groupby("resident", sort=False)["text"].agg("、".join)
    return joined.reindex(listed).fillna("").tolist()


def test_siblings_text_matches_the_groupby_join():
    generator = np.random.default_rng(9)
    count = 500
    index = pd.Index([f"{number:05d}" for number in range(count)], name="resident_id")
    households = np.array([f"H{number}" for number in generator.integers(0, 160, count)], dtype=object)
    households[generator.random(count) < 0.1] = ""  # no household known
    children = pd.DataFrame(
        {"household_id": households, "name": [f"児童{number}" for number in range(count)]}, index=index
    )
    listed = generator.random(count) < 0.3
    ranks = pd.Series(pd.NA, index=index, dtype="Int64")
    ranks[listed] = generator.permutation(int(listed.sum())) + 1
    listed_ids = index[listed][generator.permutation(int(listed.sum()))]  # not in id order
    got = _siblings_text(listed_ids, children, ranks)
    assert got == _reference_siblings_text(listed_ids, children, ranks)
    assert any("位)" in text for text in got) and "" in got
    assert _siblings_text(listed_ids[:0], children, ranks) == []
