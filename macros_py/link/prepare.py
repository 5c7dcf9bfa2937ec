"""Records → comparison columns for resident matching (名寄せ).

Input frames use the canonical identifiers (``resident_id, household_id, name,
name_kana, birth_date, sex, address`` …; any may be missing or empty). The output has one
row per input row, in order, with text columns where "" means unknown:

``surname, given, surname_loose, given_loose`` (variant kanji folded; loose also folds
斉/斎), ``kana_surname, kana_given, kana_full`` (kana keys), ``birth`` (``YYYYMMDD``),
``birth_year``, ``birth_md``, ``birth_ym`` (``YYYYMM``), ``kana_given_head`` (first two
kana of the given-name reading, for blocking), ``sex``, ``town``, ``chome`` (town + 丁目), ``address``
(town + 丁目-番地-号), ``household_id``, ``resident_id``.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from macros_py.normalize.address import split_address
from macros_py.normalize.dates import parse_dates
from macros_py.normalize.kana import kana_key, split_kana
from macros_py.normalize.names import split_name

__all__ = [
    "PREPARED_COLUMNS",
    "parse_birth_dates",
    "prepare_people",
    "prepare_sex",
    "start_people_keys",
    "text_values",
]

PREPARED_COLUMNS = (
    "surname",
    "given",
    "surname_loose",
    "given_loose",
    "kana_surname",
    "kana_given",
    "kana_full",
    "birth",
    "birth_year",
    "birth_md",
    "birth_ym",
    "kana_given_head",
    "sex",
    "town",
    "chome",
    "address",
    "household_id",
    "resident_id",
)

logger = logging.getLogger(__name__)

# Records from which name, reading and address normalisation runs on a worker thread
# while the caller does other work.
PARALLEL_MIN_RECORDS = 50_000

_SEX = {"男": "男", "女": "女", "1": "男", "2": "女", "M": "男", "F": "女", "男性": "男", "女性": "女"}


def text_values(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as a numpy object array of stripped text, "" where missing or absent."""
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    codes, uniques = pd.factorize(frame[column].to_numpy(dtype=object), use_na_sentinel=True)
    cleaned = np.array([str(value).strip() for value in uniques] + [""], dtype=object)
    return cleaned[codes]


def _mapped(values: np.ndarray, function) -> np.ndarray:
    """``function`` applied once per distinct value; an object array aligned with ``values``."""
    codes, uniques = pd.factorize(values)
    results = np.empty(len(uniques), dtype=object)
    results[:] = [function(value) for value in uniques]
    return results[codes] if len(values) else np.empty(0, dtype=object)


def _address_keys(values: list[str]) -> list[tuple[str, str, str]]:
    """(town, town + 丁目, town + 丁目-番地-号) of each address ("" parts when no numbers)."""
    out = []
    for value in values:
        parts = split_address(value)
        chome = f"{parts.town}{parts.numbers.split('-')[0]}" if parts.numbers else ""
        out.append((parts.town, chome, parts.key if parts.numbers else ""))
    return out


_KEY_COLUMNS = {
    "name": ("surname", "given", "surname_loose", "given_loose"),
    "name_kana": ("kana_surname", "kana_given", "kana_full"),
    "address": ("town", "chome", "address"),
}


def _name_keys(values: list[str]) -> list[tuple[str, str, str, str]]:
    """(surname, given, loose surname, loose given) of each name."""
    return [(*split_name(value), *split_name(value, loose=True)) for value in values]


def _reading_key_rows(values: list[str]) -> list[tuple[str, str, str]]:
    """(surname, given, both) reading keys of each 氏名カナ, keyed once per distinct part.

    A city's forty thousand readings are made of a few hundred surname and given-name
    readings; ``both`` is the concatenation of the part keys.
    """
    part_keys: dict[str, str] = {}
    out = []
    for value in values:
        surname, given = split_kana(value)
        if surname not in part_keys:
            part_keys[surname] = kana_key(surname)
        if given not in part_keys:
            part_keys[given] = kana_key(given)
        out.append((part_keys[surname], part_keys[given], part_keys[surname] + part_keys[given]))
    return out


_KEY_FUNCTIONS = {"name": _name_keys, "name_kana": _reading_key_rows, "address": _address_keys}


def _coded_keys(frame: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, tuple[np.ndarray, list[tuple]]]:
    """Per column: the code of each row (-1 missing) and the key rows of the distinct values."""
    out = {}
    for column in columns:
        if column in frame.columns:
            codes, uniques = pd.factorize(frame[column].to_numpy(dtype=object), use_na_sentinel=True)
        else:
            codes, uniques = np.full(len(frame), -1, dtype=np.int64), []
        out[column] = (codes, _KEY_FUNCTIONS[column]([str(value).strip() for value in uniques]))
    return out


def start_people_keys(
    frame: pd.DataFrame, columns: tuple[str, ...] = ("name", "name_kana", "address"), parallel: bool = True
) -> Callable[[], dict[str, np.ndarray]]:
    """Start normalising names, readings and addresses; the returned call gives the key columns.

    Keys are computed once per distinct value. Large inputs are normalised on a worker
    thread, so that the caller's reading (SQLite and numpy release the GIL for part of
    their work) overlaps with it. No process is started: Windows has no ``fork``, a
    spawned process would have to be sent the records, and a process outlives a parent
    that is killed, whereas a thread ends with it. The returned call must be made once
    (it waits for the thread).

    Args:
        frame: records with canonical columns (missing columns count as empty).
        columns: which of ``name``, ``name_kana`` and ``address`` to normalise.
        parallel: ``False`` to normalise here whatever the size.

    Returns:
        A call giving a dict of object arrays aligned with ``frame``: ``surname``,
        ``given``, ``surname_loose``, ``given_loose`` (name), ``kana_surname``,
        ``kana_given``, ``kana_full`` (name_kana), ``town``, ``chome``, ``address``.
    """

    def finish(keys: dict[str, tuple[np.ndarray, list[tuple]]]) -> dict[str, np.ndarray]:
        out = {}
        for column, (codes, rows) in keys.items():
            names = _KEY_COLUMNS[column]
            out.update(zip(names, _split_results(rows, codes, len(names)), strict=True))
        return out

    if parallel and len(frame) >= PARALLEL_MIN_RECORDS:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="people-keys")
        future = executor.submit(_coded_keys, frame, columns)
        executor.shutdown(wait=False)  # the thread ends when its one task is done

        def collect() -> dict[str, np.ndarray]:
            return finish(future.result())

        return collect
    keys = _coded_keys(frame, columns)
    return lambda: finish(keys)


def prepare_sex(frame: pd.DataFrame) -> np.ndarray:
    """The ``sex`` column as 男/女 ("" when missing or unreadable; 1/2, M/F accepted)."""
    return _mapped(
        text_values(frame, "sex"), lambda v: _SEX.get(unicodedata.normalize("NFKC", v).upper(), "")
    )


def parse_birth_dates(values: pd.Series) -> pd.Series:
    """Dates (date objects, ISO text, 和暦 such as ``H27.10.3`` or ``令和元年5月1日``) as ``YYYYMMDD``.

    Parsing is :func:`macros_py.normalize.dates.parse_dates`. Malformed values give ""
    (unknown), never an error: matching then relies on the other fields.
    """
    raw = pd.Series(values, dtype=object).to_numpy(dtype=object)
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    distinct = distinct.where(distinct.astype(str).str.strip() != "", None)
    dates = parse_dates(distinct).dates
    text = dates.dt.strftime("%Y%m%d").to_numpy(dtype=object, copy=True)  # written below
    text[dates.isna().to_numpy()] = ""
    return pd.Series(np.append(text, "").astype(object)[codes], dtype=object)


def _split_results(results: list[tuple], codes: np.ndarray, count: int) -> list[np.ndarray]:
    """Per-distinct-value result tuples → ``count`` per-row object arrays (via the codes)."""
    out = []
    for index in range(count):
        part = np.empty(len(results) + 1, dtype=object)
        part[:-1] = [result[index] for result in results]
        part[-1] = ""
        out.append(part[codes])
    return out


def prepare_people(
    frame: pd.DataFrame,
    birth: np.ndarray | None = None,
    keys: Callable[[], dict[str, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """Normalise people records into comparison columns (see module docstring).

    Every normalisation runs once per distinct value, so a master of a million rows
    costs what its distinct names, readings and addresses cost.

    Args:
        frame: records with canonical columns; missing columns are treated as empty.
        birth: ``YYYYMMDD`` births already parsed with :func:`parse_birth_dates`
            (aligned with ``frame``), to avoid parsing them twice.
        keys: the call returned by :func:`start_people_keys` on this frame, when it
            was started earlier (so that it ran while the caller did other work).

    Returns:
        A new object-dtype DataFrame with :data:`PREPARED_COLUMNS`, positional index.
    """
    if keys is None:
        # Addresses (the costliest) on the worker thread, names and readings here meanwhile.
        addresses = int(frame["address"].notna().sum()) if "address" in frame.columns else 0
        pending = start_people_keys(frame, ("address",), parallel=addresses >= PARALLEL_MIN_RECORDS)
        here = start_people_keys(frame, ("name", "name_kana"), parallel=False)()
    if birth is None:
        birth_source = frame["birth_date"] if "birth_date" in frame.columns else pd.Series([""] * len(frame))
        birth = parse_birth_dates(birth_source).to_numpy(dtype=object)
    # Everything that does not need the keys first, while a worker may still be running.
    columns = {
        "birth": birth,
        "birth_year": _mapped(birth, lambda v: v[:4]),
        "birth_md": _mapped(birth, lambda v: v[4:8]),
        "birth_ym": _mapped(birth, lambda v: v[:6]),
        "sex": prepare_sex(frame),
        "household_id": text_values(frame, "household_id"),
        "resident_id": text_values(frame, "resident_id"),
    }
    columns.update(keys() if keys is not None else {**here, **pending()})
    columns["kana_given_head"] = _mapped(columns["kana_given"], lambda v: v[:2])
    columns = {name: columns[name] for name in PREPARED_COLUMNS}
    return pd.DataFrame(columns, index=pd.RangeIndex(len(frame)), dtype=object)
