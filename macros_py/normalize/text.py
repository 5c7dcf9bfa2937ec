"""Cleaning cells as read: Unicode NFC, trimming, and NFKC width folding for codes.

Canonical text is stored as read (trimmed, NFC): matching-specific folding lives in the
kana, kanji, address and name modules. Codes and numbers are compared after NFKC, so
``"１"`` and ``"1"`` are the same code.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["clean_text", "fold_width", "is_blank"]

_EDGE_SPACE = r"^[\s\u3000\ufeff]+|[\s\u3000\ufeff]+$"


def clean_text(values: pd.Series) -> pd.Series:
    """NFC-normalise and trim (ASCII, full-width and BOM spaces); missing becomes ``""``.

    Examples:
        >>> clean_text(pd.Series(["\\u3000山田　太郎 ", None])).tolist()
        ['山田　太郎', '']
    """
    text = values.astype("str").fillna("")
    return text.str.normalize("NFC").str.replace(_EDGE_SPACE, "", regex=True)


def fold_width(values: pd.Series) -> pd.Series:
    """NFKC-fold (full-width letters and digits to ASCII, half-width kana to full) and trim.

    Examples:
        >>> fold_width(pd.Series(["０１", " ｶﾅ "])).tolist()
        ['01', 'カナ']
    """
    return clean_text(values).str.normalize("NFKC").str.strip()


def is_blank(values: pd.Series) -> pd.Series:
    """Mask of cells that hold nothing but spaces (or are missing)."""
    return clean_text(values) == ""
