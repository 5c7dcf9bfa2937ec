"""Prepared records whose name or reading has no space get surname and given name cut.

:func:`~macros_py.link.prepare.prepare_people` splits names at their separator only;
a name written ``平野紬`` keeps everything in ``surname`` and an empty ``given``, so the
given name could never be compared. This step cuts such names with the register's own
names (:func:`register_dictionary`, see :mod:`macros_py.normalize.names_split`) and the
record's reading, and likewise readings written without a space. It runs once per
distinct (name, reading) among the unspaced rows, so it costs nothing on clean data.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from macros_py.normalize.kanji import fold_kanji_loose
from macros_py.normalize.names_split import (
    NameDictionary,
    build_name_dictionary,
    split_unspaced_name,
    split_unspaced_reading,
)

__all__ = ["register_dictionary", "split_unspaced_names"]

logger = logging.getLogger(__name__)

_NAME_COLUMNS = ("surname", "given", "kana_surname", "kana_given")


def register_dictionary(master: pd.DataFrame) -> NameDictionary:
    """The dictionary of a prepared register's split names and readings.

    Built from the distinct (surname, given, readings) rows and their counts: a city's
    register has far fewer distinct names than people.
    """
    combined = np.zeros(len(master), dtype=np.int64)
    for column in _NAME_COLUMNS:
        codes, uniques = pd.factorize(master[column].to_numpy(dtype=object))
        # Re-coded after each column, so the combined code never overflows.
        combined = pd.factorize(combined * (len(uniques) + 1) + codes + 1)[0]
    _, rows, counts = np.unique(combined, return_index=True, return_counts=True)
    return build_name_dictionary(
        surnames=master["surname"].to_numpy(dtype=object)[rows],
        givens=master["given"].to_numpy(dtype=object)[rows],
        kana_surnames=master["kana_surname"].to_numpy(dtype=object)[rows],
        kana_givens=master["kana_given"].to_numpy(dtype=object)[rows],
        counts=counts,
    )


def _object_column(values: np.ndarray, frame: pd.DataFrame) -> pd.Series:
    """Values as an object column of ``frame``, like the other prepared columns (no string inference)."""
    return pd.Series(values, index=frame.index, dtype=object)


def _lengths(values: np.ndarray) -> np.ndarray:
    """Length of each text, computed once per distinct value."""
    codes, uniques = pd.factorize(values)
    return np.array([len(value) for value in uniques] + [0], dtype=np.int64)[codes]


def _split_one(
    surname: str, given: str, kana_surname: str, kana_given: str, dictionary: NameDictionary
) -> tuple[str, str, str, str]:
    """One distinct row: the reading first if the name is split, else the name first."""
    if not given and len(surname) >= 2:
        surname, given, evidenced = split_unspaced_name(
            surname,
            dictionary=dictionary,
            kana_surname=kana_surname if kana_given else "",
            kana_given=kana_given,
        )
    else:
        evidenced = True
    if not kana_given and len(kana_surname) >= 2:
        kana_surname, kana_given = split_unspaced_reading(
            kana_surname, dictionary=dictionary, surname=surname if given else ""
        )
        if not evidenced and kana_given:  # the reading's cut now tells where the name's is
            surname, given, _ = split_unspaced_name(
                surname + given, dictionary=dictionary, kana_surname=kana_surname, kana_given=kana_given
            )
    return surname, given, kana_surname, kana_given


def split_unspaced_names(prepared: pd.DataFrame, *, register: pd.DataFrame) -> pd.DataFrame:
    """Cut unspaced names and readings of prepared records; other rows are unchanged.

    Args:
        prepared: :func:`~macros_py.link.prepare.prepare_people` output (changed in place
            and returned): ``surname``, ``given``, their loose forms, ``kana_surname``,
            ``kana_given`` and ``kana_given_head`` are rewritten on the rows cut.
        register: the prepared register (may be ``prepared`` itself) whose split names
            form the dictionary; read only when some row needs cutting.

    Returns:
        ``prepared``.
    """
    if prepared.empty:
        return prepared
    values = {column: prepared[column].to_numpy(dtype=object) for column in _NAME_COLUMNS}
    unspaced_name = (values["given"] == "") & (_lengths(values["surname"]) >= 2)
    unspaced_reading = (values["kana_given"] == "") & (_lengths(values["kana_surname"]) >= 2)
    rows = np.flatnonzero(unspaced_name | unspaced_reading)
    if len(rows) == 0:
        return prepared
    dictionary = register_dictionary(register)
    keys = pd.DataFrame({column: values[column][rows] for column in _NAME_COLUMNS})
    codes, distinct = pd.factorize(pd.MultiIndex.from_frame(keys))
    results = [_split_one(*row, dictionary) for row in distinct]
    for index, column in enumerate(_NAME_COLUMNS):
        column_values = values[column].copy()  # arrays from pandas may be read-only
        column_values[rows] = np.array([result[index] for result in results], dtype=object)[codes]
        prepared[column] = _object_column(column_values, prepared)
    for column in ("surname", "given"):
        loose = prepared[f"{column}_loose"].to_numpy(dtype=object).copy()
        loose[rows] = [
            fold_kanji_loose(value).upper() for value in prepared[column].to_numpy(dtype=object)[rows]
        ]
        prepared[f"{column}_loose"] = _object_column(loose, prepared)
    head = prepared["kana_given_head"].to_numpy(dtype=object).copy()
    head[rows] = [value[:2] for value in prepared["kana_given"].to_numpy(dtype=object)[rows]]
    prepared["kana_given_head"] = _object_column(head, prepared)
    logger.info("cut %d names or readings written without a space", len(rows))
    return prepared
