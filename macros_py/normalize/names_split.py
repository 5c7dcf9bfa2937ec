"""Splitting names written without a space (``平野紬``) into surname and given name.

The resident register always writes 氏 and 名 apart, so its own names are the
dictionary: :class:`NameDictionary` holds the register's surnames and given names
(folded, as :func:`macros_py.normalize.names.split_name` gives them), how often each
surname occurs, and which written names go with which reading. An unspaced name is
then cut where the evidence is strongest (:func:`split_unspaced_name`):

* the reading's own space (``ひらの つむぎ``): a cut whose surname the register writes
  with that surname reading (``平野`` read ``ヒラノ``) wins; the same for the given name;
* the dictionary: a cut whose surname, and then whose given name, the register knows;
* a change of script (``山田あい``: kanji then kana);
* otherwise the most common shape of Japanese names, a two-character surname.

Readings written without a space (``ヒラノツムギ``) are cut the same way
(:func:`split_unspaced_reading`): at the register's reading of the written surname when
the written name is split, else where a register surname reading and given-name reading
meet. Everything works on comparison keys (folded kanji, kana keys) and offline.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from macros_py.normalize.kanji import WILDCARD

__all__ = ["NameDictionary", "build_name_dictionary", "split_unspaced_name", "split_unspaced_reading"]

# Score of each kind of evidence for a cut; the reading outweighs the dictionary, which
# outweighs the script change. A cut with no evidence scores 0.
READING_SURNAME_EVIDENCE = 8
READING_GIVEN_EVIDENCE = 4
DICTIONARY_SURNAME_EVIDENCE = 2
DICTIONARY_GIVEN_EVIDENCE = 1
SCRIPT_CHANGE_EVIDENCE = 1
# The cut used without any evidence: most Japanese surnames have two characters.
USUAL_SURNAME_LENGTH = 2


@dataclass(frozen=True)
class NameDictionary:
    """Names of the register, folded as comparison keys.

    Attributes:
        surname_counts: written surname → number of register entries with it.
        givens: written given names.
        surnames_by_reading: surname reading key → written surnames read so.
        givens_by_reading: given-name reading key → written given names read so.
        readings_by_surname: written surname → its reading keys.
        reading_surnames: surname reading keys.
        reading_givens: given-name reading keys.
    """

    surname_counts: dict[str, int] = field(default_factory=dict)
    givens: frozenset[str] = frozenset()
    surnames_by_reading: dict[str, frozenset[str]] = field(default_factory=dict)
    givens_by_reading: dict[str, frozenset[str]] = field(default_factory=dict)
    readings_by_surname: dict[str, frozenset[str]] = field(default_factory=dict)
    reading_surnames: frozenset[str] = frozenset()
    reading_givens: frozenset[str] = frozenset()


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    grouped: dict[str, set[str]] = {}
    for key, value in pairs:
        if key and value:
            grouped.setdefault(key, set()).add(value)
    return {key: frozenset(values) for key, values in grouped.items()}


def build_name_dictionary(
    *,
    surnames: Iterable[str],
    givens: Iterable[str],
    kana_surnames: Iterable[str],
    kana_givens: Iterable[str],
    counts: Iterable[int] | None = None,
) -> NameDictionary:
    """The dictionary of a register's split names (aligned iterables, one item per person).

    Entries whose written name or reading is not split (empty given part) add only what
    they show: an unsplit written name adds nothing, an unsplit reading adds no reading.

    Args:
        surnames: folded written surnames.
        givens: folded written given names ("" when the name was not split).
        kana_surnames: surname reading keys.
        kana_givens: given-name reading keys ("" when the reading was not split).
        counts: how many people each item stands for, when the items are the distinct
            rows of a large register (one each when ``None``).

    Returns:
        A :class:`NameDictionary`.
    """
    rows = list(zip(surnames, givens, kana_surnames, kana_givens, strict=True))
    weights = [1] * len(rows) if counts is None else list(counts)
    split = [
        (row, weight)
        for row, weight in zip(rows, weights, strict=True)
        if row[0] and row[1] and WILDCARD not in row[0] + row[1]
    ]
    surname_counts: Counter[str] = Counter()
    for row, weight in split:
        surname_counts[row[0]] += weight
    split_rows = [row for row, _ in split]
    read_rows = [row for row in split_rows if row[2] and row[3]]
    return NameDictionary(
        surname_counts=dict(surname_counts),
        givens=frozenset(row[1] for row in split_rows),
        surnames_by_reading=_grouped((row[2], row[0]) for row in read_rows),
        givens_by_reading=_grouped((row[3], row[1]) for row in read_rows),
        readings_by_surname=_grouped((row[0], row[2]) for row in read_rows),
        reading_surnames=frozenset(row[2] for row in read_rows),
        reading_givens=frozenset(row[3] for row in read_rows),
    )


def _same_written(value: str, known: str) -> bool:
    """Equal, an unknown (外字) character matching any character."""
    if len(value) != len(known):
        return False
    return all(a in (b, WILDCARD) for a, b in zip(value, known, strict=True))


def _script(character: str) -> str:
    name = unicodedata.name(character, "")
    if name.startswith(("HIRAGANA", "KATAKANA")):
        return "kana"
    if name.startswith("CJK") or character in "々〆ヶ":
        return "kanji"
    return "other"


def _cut_score(
    surname: str, given: str, dictionary: NameDictionary, kana_surname: str, kana_given: str
) -> tuple[int, int]:
    """(evidence, surname frequency) of one cut; higher is better."""
    evidence = 0
    if kana_surname and any(
        _same_written(surname, known) for known in dictionary.surnames_by_reading.get(kana_surname, ())
    ):
        evidence += READING_SURNAME_EVIDENCE
    if kana_given and any(
        _same_written(given, known) for known in dictionary.givens_by_reading.get(kana_given, ())
    ):
        evidence += READING_GIVEN_EVIDENCE
    count = dictionary.surname_counts.get(surname, 0)
    if count:
        evidence += DICTIONARY_SURNAME_EVIDENCE
    if given in dictionary.givens:
        evidence += DICTIONARY_GIVEN_EVIDENCE
    if _script(surname[-1]) == "kanji" and _script(given[0]) == "kana":
        evidence += SCRIPT_CHANGE_EVIDENCE
    return evidence, count


def split_unspaced_name(
    name: str, *, dictionary: NameDictionary, kana_surname: str = "", kana_given: str = ""
) -> tuple[str, str, bool]:
    """Cut a folded written name without a space into (surname, given name).

    Args:
        name: the folded name (``"平野紬"``).
        dictionary: the register's names.
        kana_surname: the surname reading key when the reading was split ("" otherwise).
        kana_given: the given-name reading key when the reading was split.

    Returns:
        ``(surname, given, evidenced)``; ``evidenced`` is False when no evidence chose
        the cut (the usual two-character surname was taken). A name of one character
        is returned whole, with given name "".
    """
    if len(name) < 2:
        return name, "", False
    best_cut, best_score = 0, (0, 0)
    for cut in range(1, len(name)):
        score = _cut_score(name[:cut], name[cut:], dictionary, kana_surname, kana_given)
        if score > best_score:
            best_cut, best_score = cut, score
    if best_score[0] == 0:
        best_cut = min(USUAL_SURNAME_LENGTH, len(name) - 1)
    return name[:best_cut], name[best_cut:], best_score[0] > 0


def split_unspaced_reading(reading: str, *, dictionary: NameDictionary, surname: str = "") -> tuple[str, str]:
    """Cut a reading key without a space into (surname reading, given-name reading).

    Args:
        reading: the reading key (``"ヒラノツムギ"``).
        dictionary: the register's names.
        surname: the written surname when the written name is split: the register's
            readings of it are tried first.

    Returns:
        ``(surname reading, given reading)``; ``(reading, "")`` when nothing tells the cut.
    """
    known = dictionary.readings_by_surname.get(surname, frozenset()) if surname else frozenset()
    for candidate in sorted(known, key=len, reverse=True):
        if len(candidate) < len(reading) and reading.startswith(candidate):
            return candidate, reading[len(candidate) :]
    best: tuple[int, int] | None = None
    for cut in range(1, len(reading)):
        head, tail = reading[:cut], reading[cut:]
        if head in dictionary.reading_surnames:
            score = 2 + (tail in dictionary.reading_givens)
            if best is None or score > best[0]:
                best = (score, cut)
    if best is None or best[0] < 3:  # both halves must be known readings
        return reading, ""
    return reading[: best[1]], reading[best[1] :]
