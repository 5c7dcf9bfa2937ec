"""Kana normalisation for comparing name readings (氏名カナ).

Two levels are offered:

* :func:`normalize_kana` gives a readable canonical form: NFKC (half-width katakana
  becomes full-width), hiragana becomes katakana, spaces are unified to one full-width
  space between surname and given name.
* :func:`kana_key` gives a comparison key that also folds small kana to large, voicing
  variants (ヂ→ジ, ヅ→ズ, ヴ→ブ, ヲ→オ, ヰ→イ, ヱ→エ) and long vowels (オウ/オオ/オー → オ,
  ウー/ウウ → ウ, エイ/エー → エ, any ー dropped), so that サトウ, サトー and サトオ agree.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv

__all__ = ["kana_key", "kana_key_series", "normalize_kana", "split_kana"]

_SPACES = re.compile(r"[\s\u3000]+")
_SMALL = str.maketrans(
    "ァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ",
    "アイウエオツヤユヨワカケクシストヌハヒフヘホムラリルレロ",
)
_VOICING = str.maketrans({"ヂ": "ジ", "ヅ": "ズ", "ヲ": "オ", "ヰ": "イ", "ヱ": "エ"})
_VU = {"ヴァ": "バ", "ヴィ": "ビ", "ヴェ": "ベ", "ヴォ": "ボ", "ヴ": "ブ"}
_LONG_MARKS = re.compile(r"[ー〜~－‐-]")

_ROWS = {
    "a": "アカガサザタダナハバパマヤラワ",
    "i": "イキギシジチヂニヒビピミリ",
    "u": "ウクグスズツヅヌフブプムユル",
    "e": "エケゲセゼテデネヘベペメレ",
    "o": "オコゴソゾトドノホボポモヨロ",
}
_VOWEL_OF = {kana: vowel for vowel, kanas in _ROWS.items() for kana in kanas}
# Second kana that only lengthens the vowel before it (for comparison keys).
_LENGTHENERS = {"o": "ウオ", "u": "ウ", "e": "イ"}


def normalize_kana(value: object) -> str:
    """Canonical readable katakana: full width, katakana, one full-width space.

    Args:
        value: any text (hiragana, half-width katakana, mixed spaces); ``None``/NaN → "".

    Returns:
        The normalised reading, e.g. ``"ﾔﾏﾀﾞ ﾀﾛｳ"`` → ``"ヤマダ　タロウ"``.
    """
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = jaconv.hira2kata(text)
    return _SPACES.sub("\u3000", text)


def split_kana(value: object) -> tuple[str, str]:
    """Split a reading into (surname, given name) at the first space; given is "" if none."""
    text = normalize_kana(value)
    if "\u3000" in text:
        surname, given = text.split("\u3000", 1)
        return surname, given.replace("\u3000", "")
    return text, ""


def kana_key(value: object) -> str:
    """Comparison key of a reading: small kana, voicing and long vowels folded, no spaces.

    Examples:
        >>> kana_key("さとう ゆうこ") == kana_key("ｻﾄｰ ﾕｰｺ") == kana_key("サトオ　ユウコ")
        True
        >>> kana_key("ちぢみ")
        'チジミ'
    """
    text = _SPACES.sub("", normalize_kana(value))
    if not text:
        return ""
    for source, target in _VU.items():
        text = text.replace(source, target)
    text = text.translate(_SMALL).translate(_VOICING)
    out: list[str] = []
    previous_vowel = ""
    for char in text:
        if _LONG_MARKS.fullmatch(char):
            continue
        if previous_vowel and char in _LENGTHENERS.get(previous_vowel, ""):
            # A lengthening kana: keep the vowel class, drop the character.
            previous_vowel = ""
            continue
        out.append(char)
        previous_vowel = _VOWEL_OF.get(char, "")
    return "".join(out)


def kana_key_series(values) -> list[str]:
    """:func:`kana_key` over an iterable, memoised on distinct values (fast for columns)."""
    cache: dict[object, str] = {}
    result = []
    for value in values:
        key = value if isinstance(value, str) else repr(value)
        if key not in cache:
            cache[key] = kana_key(value)
        result.append(cache[key])
    return result
