"""One-to-one assignment equals sequential greedy matching (best pair first)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from macros_py.link.assign import one_to_one


def _greedy(left, right, score, min_score):
    chosen = np.zeros(len(score), dtype=bool)
    used_left, used_right = set(), set()
    for p in sorted(range(len(score)), key=lambda p: (-score[p], left[p], right[p])):
        if score[p] < min_score or left[p] in used_left or right[p] in used_right:
            continue
        chosen[p] = True
        used_left.add(left[p])
        used_right.add(right[p])
    return chosen


# Few distinct scores, so that ties are frequent (broken by lower left, then lower right).
_PAIRS = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(-8, 8)),
    max_size=40,
    unique_by=lambda t: (t[0], t[1]),
)


@settings(max_examples=300, deadline=None)
@given(_PAIRS, st.sampled_from([-10.0, 0.0, 1.0]))
def test_one_to_one_is_greedy_by_score(pairs, min_score):
    left = np.array([p[0] for p in pairs], dtype=np.int64)
    right = np.array([p[1] for p in pairs], dtype=np.int64)
    score = np.array([p[2] / 4 for p in pairs], dtype=float)
    chosen = one_to_one(left, right, score, min_score=min_score)
    assert np.array_equal(chosen, _greedy(left, right, score, min_score))


def test_ties_are_settled_the_same_way_every_time():
    left = np.array([0, 0, 1, 2])
    right = np.array([0, 1, 0, 1])
    score = np.array([-5.0, -5.0, -1.0, -5.0])
    first = one_to_one(left, right, score, min_score=-10.0)
    shuffled = np.array([3, 1, 0, 2])
    again = one_to_one(left[shuffled], right[shuffled], score[shuffled], min_score=-10.0)
    assert first.sum() == 2
    assert np.array_equal(first[shuffled], again)
