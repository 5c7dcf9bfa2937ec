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
import pickle
import struct
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Callable

import numpy as np
import pandas as pd

from macros_py.link.keys_worker import CodedKeys, distinct_keys
from macros_py.normalize.dates import parse_dates

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

# Records from which name, reading and address normalisation runs in a worker process
# while the caller does other work (below it, starting a process costs more than it saves).
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


_KEY_COLUMNS = {
    "name": ("surname", "given", "surname_loose", "given_loose"),
    "name_kana": ("kana_surname", "kana_given", "kana_full"),
    "address": ("town", "chome", "address"),
}


def _distinct_values(frame: pd.DataFrame, columns: tuple[str, ...]) -> tuple[dict, dict]:
    """Per column: the code of each row (-1 missing) and the distinct values as stripped text."""
    codes, values = {}, {}
    for column in columns:
        if column in frame.columns:
            codes[column], uniques = pd.factorize(frame[column].to_numpy(dtype=object), use_na_sentinel=True)
        else:
            codes[column], uniques = np.full(len(frame), -1, dtype=np.int64), []
        values[column] = [str(value).strip() for value in uniques]
    return codes, values


def _worker_keys(values: dict[str, list[str]]) -> Callable[[], dict[str, list[CodedKeys]]] | None:
    """Start computing the key rows of ``values`` in a worker process (``None`` if none starts).

    Only the distinct values travel (a city's master has a few hundred thousand). The
    returned call waits for the result (or computes here if the worker failed).
    """
    payload = pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        worker = subprocess.Popen(
            [sys.executable, "-m", "macros_py.link.keys_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        )
    except OSError as error:  # no process can be started here
        logger.info("normalisation in this process: %s", error)
        return None
    received: dict = {}

    def exchange() -> None:
        try:
            worker.stdin.write(struct.pack("<Q", len(payload)) + payload)
            worker.stdin.flush()
            size = struct.unpack("<Q", worker.stdout.read(8))[0]
            received["rows"] = pickle.loads(worker.stdout.read(size))
        except Exception as error:  # the worker died or wrote nothing usable
            logger.warning("normalisation worker failed (%s): normalising in this process", error)

    # The pipes are served by a thread: writing a large payload would block until the
    # worker reads it, and the caller must be free to do its own work meanwhile.
    thread = threading.Thread(target=exchange, name="people-keys", daemon=True)
    thread.start()

    def collect() -> dict[str, list[CodedKeys]]:
        thread.join()
        worker.stdin.close()  # the worker may now end
        worker.stdout.close()
        worker.wait()
        return received["rows"] if "rows" in received else distinct_keys(values)

    return collect


def start_people_keys(
    frame: pd.DataFrame, columns: tuple[str, ...] = ("name", "name_kana", "address"), parallel: bool = True
) -> Callable[[], dict[str, np.ndarray]]:
    """Start normalising names, readings and addresses; the returned call gives the key columns.

    Keys are computed once per distinct value. For large inputs the distinct values go
    to a worker process (:mod:`macros_py.link.keys_worker`, a plain child process: no
    ``fork``, which Windows lacks, and no re-import of the caller's main script, which
    multiprocessing's ``spawn`` does), so that the caller can do other work meanwhile
    (read the other sources, parse dates); the worker exits by itself if this process
    is killed. Below the size, or when no process can be started, they are computed
    here. The returned call must be made once.

    Args:
        frame: records with canonical columns (missing columns count as empty).
        columns: which of ``name``, ``name_kana`` and ``address`` to normalise.
        parallel: ``False`` to normalise here whatever the size.

    Returns:
        A call giving a dict of object arrays aligned with ``frame``: ``surname``,
        ``given``, ``surname_loose``, ``given_loose`` (name), ``kana_surname``,
        ``kana_given``, ``kana_full`` (name_kana), ``town``, ``chome``, ``address``.
    """
    codes, values = _distinct_values(frame, columns)

    def finish(keys_by_column: dict[str, list[CodedKeys]]) -> dict[str, np.ndarray]:
        out = {}
        for column, coded in keys_by_column.items():
            names = _KEY_COLUMNS[column]
            out.update(zip(names, (_per_row(part, codes[column]) for part in coded), strict=True))
        return out

    pending = _worker_keys(values) if parallel and len(frame) >= PARALLEL_MIN_RECORDS else None
    if pending is not None:
        return lambda: finish(pending())
    rows = distinct_keys(values)
    return lambda: finish(rows)


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


def _per_row(coded: CodedKeys, codes: np.ndarray) -> np.ndarray:
    """One coded key of the distinct values → an object array per row ("" where missing).

    Equal keys are one shared object, whichever distinct value they came from.
    """
    key_codes, keys = coded
    table = np.empty(len(keys) + 1, dtype=object)
    table[:-1] = keys
    table[-1] = ""
    of_value = np.append(np.frombuffer(key_codes, dtype=f"i{key_codes.itemsize}"), len(keys))
    return table[of_value[codes]] if len(codes) else np.empty(0, dtype=object)


def prepare_people(
    frame: pd.DataFrame,
    birth: np.ndarray | None = None,
    keys: Callable[[], dict[str, np.ndarray]] | None = None,
    *,
    parallel: bool = False,
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
        parallel: without ``keys``, let addresses of a large frame be normalised in a
            worker process meanwhile. Off by default: a process must not be started
            while another thread may be writing (the link run's links writer), so
            only a caller that knows no such thread runs may ask for it.

    Returns:
        A new object-dtype DataFrame with :data:`PREPARED_COLUMNS`, positional index.
    """
    if keys is None:
        # Addresses (the costliest) in the worker, names and readings here meanwhile.
        addresses = int(frame["address"].notna().sum()) if parallel and "address" in frame.columns else 0
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
