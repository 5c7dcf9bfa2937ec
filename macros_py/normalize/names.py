"""Personal names (氏名) for comparison: folding, surname/given split.

Names are stored as read; these functions give comparison forms only. A name is split at
its first separator: a space (half- or full-width), or, as foreign names are often
written, a middle dot (・), an equals sign (＝) or a comma (``SMITH, JOHN``). Names
without a separator keep everything in the surname part and an empty given name, which
comparison code treats as unknown until :mod:`macros_py.normalize.names_split` cuts
them with the register's names.
"""

from __future__ import annotations

import re

from macros_py.normalize.kanji import fold_kanji, fold_kanji_loose

__all__ = ["name_key", "name_key_loose", "split_name", "unify_separators"]

# Separators between name parts, after NFKC (＝ → =, ， → ,, ･ → ・).
_SPACES = re.compile(r"[\s\u3000・･=＝,，、]+")
_HONORIFICS = re.compile(r"(様|殿|さん)$")


def _clean(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return _HONORIFICS.sub("", str(value).strip())


def unify_separators(value: object) -> str:
    """Every run of name separators (spaces, ・, ＝, commas) as one half-width space, stripped.

    For readings: ``"スミス・ジョン"`` → ``"スミス ジョン"``, so that the usual space split applies.
    """
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return _SPACES.sub(" ", str(value)).strip()


def split_name(value: object, loose: bool = False) -> tuple[str, str]:
    """Fold a name and split it into (surname, given name).

    Args:
        value: a name such as ``"髙橋　太郎"``; ``None``/NaN gives ``("", "")``.
        loose: also fold similar-but-different characters (斉 → 斎).

    Returns:
        ``("高橋", "太郎")``; given name "" when the name holds no space.
    """
    # Upper case: foreign names in Latin letters are written in either case.
    folded = _SPACES.sub(" ", (fold_kanji_loose if loose else fold_kanji)(_clean(value))).strip().upper()
    parts = _SPACES.split(folded, maxsplit=1)
    if len(parts) == 2:
        return parts[0], _SPACES.sub("", parts[1])
    return parts[0], ""


def name_key(value: object) -> str:
    """Folded full name without spaces (``"渡邊 花子"`` → ``"渡辺花子"``)."""
    return _SPACES.sub("", fold_kanji(_clean(value))).upper()


def name_key_loose(value: object) -> str:
    """Like :func:`name_key`, also folding 類似 pairs (斉藤 → 斎藤)."""
    return _SPACES.sub("", fold_kanji_loose(_clean(value))).upper()
