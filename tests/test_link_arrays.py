"""Column coding shared across a run must give the same answers as coding at every use."""

from __future__ import annotations

import numpy as np
import pandas as pd
from fixtures.people import MASTER_ROWS, SOURCE_ROWS, prepared_people
from hypothesis import given, settings
from hypothesis import strategies as st

from macros_py.link.arrays import ColumnCodes, column_codes, isin_codes, object_frame, shared_codes
from macros_py.link.blocking import block_pairs
from macros_py.link.compare import compare_pairs
from macros_py.link.match import resident_model_config

_VALUES = st.lists(st.sampled_from(["", "佐藤", "鈴木", "髙橋", "高橋", "19990101", "x", None]), max_size=30)


def _same_partition(codes_a, values_a, codes_b, values_b) -> None:
    """Codes agree exactly when the (non-empty) values agree; -1 marks missing values."""
    for code, value in zip(codes_a, values_a, strict=True):
        assert (code < 0) == (value is None or value == "")
    left = [(c, v) for c, v in zip(codes_a, values_a, strict=True) if c >= 0]
    right = [(c, v) for c, v in zip(codes_b, values_b, strict=True) if c >= 0]
    for code_l, value_l in left:
        for code_r, value_r in right:
            assert (code_l == code_r) == (value_l == value_r)


@settings(max_examples=200, deadline=None)
@given(_VALUES, _VALUES)
def test_column_codes_partition_values_like_shared_codes(left_values, right_values):
    left = pd.DataFrame({"c": pd.Series(left_values, dtype=object)})
    right = pd.DataFrame({"c": pd.Series(right_values, dtype=object)})
    coded = ColumnCodes(right)
    code_left, code_right, uniques = coded.shared(left["c"], "c")
    _same_partition(code_left, left_values, code_right, right_values)
    _same_partition(code_left, left_values, code_left, left_values)
    for code, value in zip(np.concatenate([code_left, code_right]), left_values + right_values, strict=True):
        if code >= 0:
            assert uniques[code] == value
    # The uncached path gives the same partition.
    plain_left, plain_right, _ = shared_codes(left["c"], right["c"])
    assert np.array_equal(
        plain_left[:, None] == plain_right[None, :], code_left[:, None] == code_right[None, :]
    )


def test_column_codes_are_used_only_for_their_own_frame():
    master = pd.DataFrame({"c": pd.Series(["a", "b"], dtype=object)})
    other = pd.DataFrame({"c": pd.Series(["b", "z"], dtype=object)})
    coded = ColumnCodes(master)
    source = pd.DataFrame({"c": pd.Series(["z"], dtype=object)})
    code_left, code_right, _ = column_codes(source, other, "c", coded)
    assert code_left[0] == code_right[1]  # coded against ``other``, not the cached master


def test_numbers_of_dates_with_missing_and_malformed_values():
    frame = pd.DataFrame({"birth": pd.Series(["20150401", "", None, "2015x", "20150401"], dtype=object)})
    assert ColumnCodes(frame).numbers("birth").tolist() == [20150401, -1, -1, -1, 20150401]


def test_object_frame_keeps_text_as_object_columns():
    frame = object_frame({"text": np.array(["a", "b"], dtype=object), "number": np.arange(2)})
    assert frame["text"].dtype == object
    assert frame["number"].dtype == np.int64


def test_blocking_and_comparison_are_identical_with_shared_master_codes():
    master = prepared_people(MASTER_ROWS)
    source = prepared_people(SOURCE_ROWS)
    config = resident_model_config()
    coded = ColumnCodes(master)
    plain = block_pairs(source, master, config.blocking, config.max_block_size)
    shared = block_pairs(source, master, config.blocking, config.max_block_size, right_codes=coded)
    assert all(np.array_equal(a, b) for a, b in zip(plain, shared, strict=True))
    assert len(plain[0]) > 0
    every_left, every_right = (a.ravel() for a in np.meshgrid(np.arange(3), np.arange(4), indexing="ij"))
    levels_plain = compare_pairs(source, master, every_left, every_right, config.comparisons)
    levels_shared = compare_pairs(source, master, every_left, every_right, config.comparisons, coded)
    assert np.array_equal(levels_plain, levels_shared)
    # The 髙/高 pair agrees on the surname after folding, in both paths.
    surname = [spec.name for spec in config.comparisons].index("surname")
    assert levels_shared[0 * 4 + 1, surname] == 4


def test_isin_codes_gives_a_mask_the_caller_may_change():
    # pandas 3 returns read-only views; matching combines masks in place (``blocked |= ...``).
    mask = isin_codes(np.array([1, 5, 7]), np.array([7]))
    mask |= np.array([True, False, False])
    assert mask.tolist() == [True, False, True]
