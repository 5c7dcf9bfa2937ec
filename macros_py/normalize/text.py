"""Cleaning cells as read: Unicode NFC, trimming, and NFKC width folding for codes.

Canonical text is stored as read (trimmed, NFC): matching-specific folding lives in the
kana, kanji, address and name modules. Codes and numbers are compared after NFKC, so
``"１"`` and ``"1"`` are the same code.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["WHITESPACE", "clean_text", "fold_width", "is_blank", "unicode_normalize"]

# Python's ``\s`` spelt out (same characters). pandas hands a pattern with ``\s`` to
# Python's ``re`` one value at a time; with this class Arrow's RE2 runs it vectorised.
WHITESPACE = "[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"

_EDGE_SPACE = " \t\r\n\x0b\x0c\u3000\ufeff\u00a0"


def unicode_normalize(values: pd.Series, form: str) -> pd.Series:
    """``str.normalize`` in Arrow's C++ kernel when the column is Arrow-backed (fast path).

    Examples:
        >>> unicode_normalize(pd.Series(["ｶﾞ", "か\u3099"], dtype="str"), "NFKC").tolist()
        ['ガ', 'が']
    """
    array = getattr(values.array, "_pa_array", None)
    if array is None:
        return values.str.normalize(form)
    import pyarrow.compute as pc

    if pc.all(pc.string_is_ascii(array)).as_py() is not False:  # ASCII is already normal
        return values
    return pd.Series(
        pc.utf8_normalize(array, form=form), index=values.index, dtype=values.dtype, name=values.name
    )


def clean_text(values: pd.Series) -> pd.Series:
    """NFC-normalise and trim (ASCII, full-width and BOM spaces); missing becomes ``""``.

    Examples:
        >>> clean_text(pd.Series(["\\u3000山田　太郎 ", None])).tolist()
        ['山田　太郎', '']
    """
    text = values.astype("str").fillna("")
    return unicode_normalize(text, "NFC").str.strip(_EDGE_SPACE)


def fold_width(values: pd.Series) -> pd.Series:
    """NFKC-fold (full-width letters and digits to ASCII, half-width kana to full) and trim.

    Examples:
        >>> fold_width(pd.Series(["０１", " ｶﾅ "])).tolist()
        ['01', 'カナ']
    """
    return unicode_normalize(clean_text(values), "NFKC").str.strip()


def is_blank(values: pd.Series) -> pd.Series:
    """Mask of cells that hold nothing but spaces (or are missing)."""
    return clean_text(values) == ""
