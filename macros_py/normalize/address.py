"""Address notation (住所) normalised to 町名 + 丁目-番地-号.

``"東京都みどり市本町三丁目１２番地の５　グリーンハイツ２０１号室"`` becomes town ``"本町"``,
numbers ``"3-12-5"`` and building ``"グリーンハイツ201号室"``. Kanji numerals become
arabic, every Unicode hyphen or dash becomes ``-``, and the prefecture and city prefix
is dropped (records of one municipality differ in whether they write it). Building
names and room numbers are set aside: they are compared separately, if at all.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["AddressParts", "address_key", "kanji_to_number", "split_address"]

_DASHES = re.compile("[\u002d\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\u2500\u2501\ufe63\u2043]")
_LONG_MARK_BETWEEN_DIGITS = re.compile(
    "(?<=[\\d〇一二三四五六七八九十])[\u30fc\uff70](?=[\\d〇一二三四五六七八九十])"
)
_KANJI_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
_KANJI_NUMBER = re.compile("[〇零一二三四五六七八九十百千]+")
_PREFECTURE = re.compile(r"^(東京都|北海道|(?:京都|大阪)府|[^\d\s]{2,3}県)")
_CITY = re.compile(
    r"^[^\d\s]{1,6}?市(?:[^\d\s]{1,4}?区)?|^[^\d\s]{1,4}?郡[^\d\s]{1,4}?[町村]|^[^\d\s]{1,4}?区"
)
_SEP = r"\s*(?:丁目|番地|番|号)?\s*(?:の|-)?\s*"
_NUMBER_BLOCK = re.compile(rf"(\d+){_SEP}(?:(\d+){_SEP})?(?:(\d+)\s*号?)?")
_OAZA = re.compile(r"^(?:大字|字)")
_SPACES = re.compile(r"[\s\u3000]+")
_DIGIT = re.compile(r"\d")
_ANY_KANJI_NUMERAL = re.compile("[〇零一二三四五六七八九十百千]")
_TOWN_NUMERAL_BEFORE_UNIT = re.compile(
    "([〇零一二三四五六七八九十百千]+)(?=丁目|番地|番|号|-|の[〇零一二三四五六七八九十\\d])"
)
_TOWN_NUMERAL_AFTER_UNIT = re.compile("(?:(?<=[-\\d番の目地]))([〇零一二三四五六七八九十百千]+)")


@dataclass(frozen=True)
class AddressParts:
    """A normalised address: town name, block numbers and the set-aside building part."""

    town: str
    numbers: str
    building: str

    @property
    def key(self) -> str:
        """Town and numbers joined, the part compared for matching."""
        return f"{self.town}{self.numbers}"


def kanji_to_number(text: str) -> str:
    """Replace kanji numerals by arabic digits (``三丁目`` → ``3丁目``, ``二十一`` → ``21``)."""

    def convert(match: re.Match[str]) -> str:
        token = match.group(0)
        if not any(char in _KANJI_UNITS for char in token):
            return "".join(str(_KANJI_DIGITS[char]) for char in token)
        total, current = 0, 0
        for char in token:
            if char in _KANJI_DIGITS:
                current = current * 10 + _KANJI_DIGITS[char]
            else:
                total += (current or 1) * _KANJI_UNITS[char]
                current = 0
        return str(total + current)

    return _KANJI_NUMBER.sub(convert, text)


def _town_numerals(text: str) -> str:
    if not _ANY_KANJI_NUMERAL.search(text):  # the common case: arabic digits only
        return text
    # Only numerals that precede an address unit or a dash are numbers (not 一宮, 三田).
    text = _TOWN_NUMERAL_BEFORE_UNIT.sub(lambda m: kanji_to_number(m.group(1)), text)
    # ... and numerals right after a dash or a number unit (3-十二-五, 3丁目十二番).
    return _TOWN_NUMERAL_AFTER_UNIT.sub(lambda m: kanji_to_number(m.group(1)), text)


def split_address(value: object) -> AddressParts:
    """Normalise an address and split it into town, numbers and building.

    Args:
        value: address text in any notation; ``None``/NaN gives empty parts.

    Returns:
        :class:`AddressParts`; ``numbers`` is ``"丁目-番地-号"`` with as many parts as given.

    Examples:
        >>> split_address("みどり市本町三丁目12番地の5 ハイツ201").key
        '本町3-12-5'
        >>> split_address("本町３－１２－５").key
        '本町3-12-5'
    """
    if value is None or (isinstance(value, float) and value != value):
        return AddressParts("", "", "")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if "\u30fc" in text or "\uff70" in text:
        text = _LONG_MARK_BETWEEN_DIGITS.sub("-", text)
    text = _DASHES.sub("-", text)
    text = _town_numerals(text)
    text = _SPACES.sub(" ", text)
    text = _PREFECTURE.sub("", text)
    text = _OAZA.sub("", _CITY.sub("", text).strip())
    digit = _DIGIT.search(text)
    if digit is None:
        return AddressParts(text.replace(" ", ""), "", "")
    town = text[: digit.start()].replace(" ", "").rstrip("-")
    rest = text[digit.start() :]
    match = _NUMBER_BLOCK.match(rest)
    numbers = [group for group in match.groups() if group] if match else []
    building = rest[match.end() :] if match else rest
    building = building.strip(" -")
    return AddressParts(town, "-".join(str(int(n)) for n in numbers), building.replace(" ", ""))


def address_key(value: object) -> str:
    """Town + numbers of an address (building and room set aside)."""
    return split_address(value).key
