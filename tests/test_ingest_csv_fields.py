"""Field counts on the bytes equal the csv module's, whatever the block boundaries."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from macros_py.ingest import csv_fields
from macros_py.ingest.csv_fields import (
    _fields_by_csv_module,
    _fields_on_bytes,
    record_fields,
    unclosed_quote_line,
)

PIECES = ["a", "あ", ",", '"', '""', "\r\n", "\n", '"x,\r\ny"', ",,"]


def _non_blank(fields):
    keep = fields.counts > 0
    return fields.start_lines[keep].tolist(), fields.counts[keep].tolist()


@settings(max_examples=600, deadline=None)
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=40), block=st.integers(1, 7))
def test_quoted_counts_on_bytes_equal_the_csv_module_or_give_way(tmp_path_factory, pieces, block):
    path = tmp_path_factory.mktemp("csv") / "x.csv"
    path.write_bytes("".join(pieces).encode("cp932"))
    if unclosed_quote_line(path, "cp932") is not None:
        return  # pandas refuses such a file before any count is asked for
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csv_fields, "_QUOTED_BLOCK", block)
        on_bytes = _fields_on_bytes(path, quoted=True)
    if on_bytes is None:
        return
    by_csv = _fields_by_csv_module(path, "cp932")
    expected = _non_blank(by_csv)
    lines, counts = expected
    assert on_bytes.at(np.array(lines, dtype=np.int64), default=-1).tolist() == counts


@settings(max_examples=200, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(["a", "あ", ",", "\r\n", "\n", ",,"]), max_size=40),
    block=st.integers(1, 7),
)
def test_unquoted_counts_equal_the_csv_module(tmp_path_factory, pieces, block):
    path = tmp_path_factory.mktemp("csv") / "x.csv"
    path.write_bytes("".join(pieces).encode("cp932"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csv_fields, "_BLOCK", block)
        on_bytes = record_fields(path, "cp932", quoted=False)
    lines, counts = _non_blank(_fields_by_csv_module(path, "cp932"))
    assert on_bytes.at(np.array(lines, dtype=np.int64), default=-1).tolist() == counts


def test_a_quote_inside_an_unquoted_value_gives_way_to_the_csv_module(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes('a,b\r\n12"3,x,y\r\n'.encode("cp932"))
    assert _fields_on_bytes(path, quoted=True) is None
    fields = record_fields(path, "cp932", quoted=True)
    assert fields.at(np.array([2]), default=-1).tolist() == [3]
