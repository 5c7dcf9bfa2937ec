"""Personal names (氏名) for comparison: folding, surname/given split.

Names are stored as read; these functions give comparison forms only. A name is split at
its first space (half- or full-width); names without a space keep everything in the
surname part and an empty given name, which comparison code treats as unknown.
"""

from __future__ import annotations

import re

from macros_py.normalize.kanji import fold_kanji, fold_kanji_loose

__all__ = ["name_key", "name_key_loose", "split_name"]

_SPACES = re.compile(r"[\s\u3000]+")
_HONORIFICS = re.compile(r"(様|殿|さん)$")


def _clean(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return _HONORIFICS.sub("", str(value).strip())


def split_name(value: object, loose: bool = False) -> tuple[str, str]:
    """Fold a name and split it into (surname, given name).

    Args:
        value: a name such as ``"髙橋　太郎"``; ``None``/NaN gives ``("", "")``.
        loose: also fold similar-but-different characters (斉 → 斎).

    Returns:
        ``("高橋", "太郎")``; given name "" when the name holds no space.
    """
    folded = (fold_kanji_loose if loose else fold_kanji)(_clean(value)).strip()
    parts = _SPACES.split(folded, maxsplit=1)
    if len(parts) == 2:
        return parts[0], _SPACES.sub("", parts[1])
    return parts[0], ""


def name_key(value: object) -> str:
    """Folded full name without spaces (``"渡邊 花子"`` → ``"渡辺花子"``)."""
    return _SPACES.sub("", fold_kanji(_clean(value)))


def name_key_loose(value: object) -> str:
    """Like :func:`name_key`, also folding 類似 pairs (斉藤 → 斎藤)."""
    return _SPACES.sub("", fold_kanji_loose(_clean(value)))
