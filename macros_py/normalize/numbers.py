"""Numbers as departments write them: full-width digits, thousands commas, △ negatives.

Strict like the date parser: a non-empty cell that is not a number is an error with a
Japanese reason, never a silent zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from macros_py.normalize.text import WHITESPACE, unicode_normalize

__all__ = ["NumberParseResult", "parse_integers", "parse_numbers"]

REASON_NOT_A_NUMBER = "数値として読み取れません"
REASON_NOT_AN_INTEGER = "整数ではありません"

_NUMBER = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"  # ASCII: RE2-vectorised
_MINUS_SIGNS = "−‐‑‒–—―ー"  # minus-like characters NFKC leaves alone


@dataclass(frozen=True)
class NumberParseResult:
    """Parsed numbers (``NaN`` for empty or rejected cells) and the reason per value."""

    values: pd.Series
    errors: pd.Series

    @property
    def invalid(self) -> pd.Series:
        """Boolean mask of rejected values."""
        return self.errors != ""


def _fold(values: pd.Series) -> pd.Series:
    text = unicode_normalize(values.astype("str").fillna(""), "NFKC").str.strip()
    text = text.str.replace(WHITESPACE[:-1] + ",]", "", regex=True)
    text = text.str.replace(f"^[{_MINUS_SIGNS}△▲]", "-", regex=True)
    return text


def parse_numbers(values: pd.Series) -> NumberParseResult:
    """Parse a column of numbers.

    Args:
        values: cells as read; ``"１，２３４"``, ``"1,234.5"``, ``"△12"`` and ``"-3"`` are numbers.

    Returns:
        ``float64`` values and Japanese reasons (``""`` for empty or valid cells).

    Examples:
        >>> result = parse_numbers(pd.Series(["１，２３４", "△5", "", "abc"]))
        >>> result.values.tolist()[:2], result.errors.tolist()
        ([1234.0, -5.0], ['', '', '', '数値として読み取れません'])
    """
    text = _fold(values)
    empty = text == ""
    well_formed = text.str.match(_NUMBER).fillna(False).astype(bool)
    numbers = pd.to_numeric(text.where(well_formed & ~empty), errors="coerce").astype("float64")
    bad = ~empty & (~well_formed | numbers.isna() | ~np.isfinite(numbers.fillna(0)))
    errors = pd.Series(np.where(bad, REASON_NOT_A_NUMBER, ""), index=values.index, dtype="str")
    return NumberParseResult(
        values=numbers.where(~bad).rename(values.name), errors=errors.rename(values.name)
    )


def parse_integers(values: pd.Series) -> NumberParseResult:
    """Like :func:`parse_numbers`, but values with a fraction are rejected.

    Examples:
        >>> parse_integers(pd.Series(["3", "3.5"])).errors.tolist()
        ['', '整数ではありません']
    """
    result = parse_numbers(values)
    fractional = result.values.notna() & (result.values != result.values.round())
    errors = result.errors.mask(fractional, REASON_NOT_AN_INTEGER)
    return NumberParseResult(values=result.values.where(~fractional), errors=errors)
