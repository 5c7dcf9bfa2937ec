"""Numbers with full-width digits, commas and △ negatives; text cleaning helpers."""

from __future__ import annotations

import pandas as pd

from macros_py.normalize.numbers import parse_integers, parse_numbers
from macros_py.normalize.text import clean_text, fold_width, is_blank


def test_full_width_digits_commas_and_signs():
    values = pd.Series(["１，２３４", "1,234.5", "△12", "▲3", "−7", "+4", " 8 ", "", None, "1e3"])
    result = parse_numbers(values)
    assert result.values.tolist()[:7] == [1234.0, 1234.5, -12.0, -3.0, -7.0, 4.0, 8.0]
    assert result.values.isna().tolist()[7:9] == [True, True]
    assert result.values[9] == 1000.0
    assert result.errors.tolist() == [""] * 10


def test_words_and_units_are_errors_not_zero():
    result = parse_numbers(pd.Series(["十二", "12日", "1.2.3", "--1", "inf", "nan"]))
    assert result.invalid.all()
    assert result.values.isna().all()
    assert set(result.errors) == {"数値として読み取れません"}


def test_integers_reject_fractions():
    result = parse_integers(pd.Series(["３", "3.0", "3.5"]))
    assert result.values.tolist()[:2] == [3.0, 3.0]
    assert result.errors.tolist() == ["", "", "整数ではありません"]


def test_clean_text_trims_and_composes_but_keeps_width():
    decomposed = "か\u3099"  # か + combining dakuten
    values = pd.Series([f"\u3000{decomposed}ｶﾅ ", None, "=cmd|' /C calc'!A0"])
    assert clean_text(values).tolist() == ["がｶﾅ", "", "=cmd|' /C calc'!A0"]
    assert fold_width(pd.Series(["ＡＢ０１", "ｶﾅ"])).tolist() == ["AB01", "カナ"]
    assert is_blank(pd.Series(["　", "", "x", None])).tolist() == [True, True, False, True]
