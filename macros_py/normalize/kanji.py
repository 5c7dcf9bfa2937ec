"""Variant-kanji folding (異体字) and 外字 placeholders for name comparison.

The folding table is data: ``mappings/kanji_variants.csv`` (columns 異体字, 標準字, 区分,
備考). 区分 ``同一`` pairs are the same character in names (髙→高, 﨑→崎, 邊/邉→辺 …) and
are folded by :func:`fold_kanji`. 区分 ``類似`` pairs (斉/斎) are different surnames that
data entry confuses: they are folded only by :func:`fold_kanji_loose`, which comparison
code uses to award a near match rather than an exact one. 藤 and 籐 are deliberately
not paired.

External characters (外字) that a source system could not export arrive as 〓, ■, ？ or
as private-use code points (U+E000–U+F8FF). :func:`mark_gaiji` replaces them with
:data:`WILDCARD`, which comparison code treats as "any one character".
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

__all__ = [
    "WILDCARD",
    "fold_kanji",
    "fold_kanji_loose",
    "has_wildcard",
    "load_variant_table",
    "mark_gaiji",
    "wildcard_equal",
]

WILDCARD = "\uff1f"  # full-width question mark after normalisation
_GAIJI = re.compile("[\u3013\u25a0\u25a1\ue000-\uf8ff?\uff1f\ufffd]")


def _default_table_path() -> Path:
    from macros_py.config.defaults import mappings_folder

    return mappings_folder() / "kanji_variants.csv"


@lru_cache(maxsize=4)
def load_variant_table(path: str | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """Read the folding table.

    Args:
        path: CSV path; default ``mappings/kanji_variants.csv``.

    Returns:
        ``(same, similar)``: variant → standard maps for 同一 and 類似 rows.
    """
    table_path = Path(path) if path else _default_table_path()
    same: dict[str, str] = {}
    similar: dict[str, str] = {}
    with table_path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            variant = unicodedata.normalize("NFKC", row["異体字"].strip())
            standard = unicodedata.normalize("NFKC", row["標準字"].strip())
            if not variant or not standard or variant == standard:
                continue
            (similar if row.get("区分", "").strip() == "類似" else same)[variant] = standard
    return same, similar


@lru_cache(maxsize=4)
def _translations(path: str | None) -> tuple[dict[int, str], dict[int, str]]:
    same, similar = load_variant_table(path)
    strict = {ord(k): v for k, v in same.items() if len(k) == 1}
    loose = dict(strict)
    for variant, standard in similar.items():
        if len(variant) == 1:
            loose[ord(variant)] = same.get(standard, standard)
    return strict, loose


def mark_gaiji(text: str) -> str:
    """Replace 外字 placeholders (〓, ■, ?, private-use characters) by :data:`WILDCARD`."""
    return _GAIJI.sub(WILDCARD, text)


def _fold(text: object, loose: bool, path: str | None) -> str:
    if text is None or (isinstance(text, float) and text != text):
        return ""
    value = mark_gaiji(str(text))  # before NFKC: NFKC keeps private use, maps ? to ?
    value = unicodedata.normalize("NFKC", value)
    value = mark_gaiji(value)
    strict, wide = _translations(path)
    # Characters outside the BMP (𠮷) need a per-character pass: translate handles them too.
    return value.translate(wide if loose else strict)


def fold_kanji(text: object, table: str | None = None) -> str:
    """NFKC, 外字 → wildcard, and 同一 variants folded (髙橋 → 高橋, 渡邊 → 渡辺).

    Examples:
        >>> fold_kanji("髙﨑")
        '高崎'
        >>> fold_kanji("藤") != fold_kanji("籐")
        True
    """
    return _fold(text, False, table)


def fold_kanji_loose(text: object, table: str | None = None) -> str:
    """Like :func:`fold_kanji` and also folds 類似 pairs (斉 → 斎) for near matches."""
    return _fold(text, True, table)


def has_wildcard(text: str) -> bool:
    """True if the text holds an unknown (外字) character."""
    return WILDCARD in text


def wildcard_equal(left: str, right: str) -> bool:
    """Equal if same length and every position agrees or is a wildcard on either side."""
    if len(left) != len(right) or not left:
        return False
    return all(a in (b, WILDCARD) or b == WILDCARD for a, b in zip(left, right, strict=True))
