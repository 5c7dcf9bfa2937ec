"""Normalisation of distinct names, readings and addresses in a spawned worker process.

The worker is a plain child process (``python -m macros_py.link.keys_worker``, which
works the same on Windows, where there is no ``fork``) that imports only the
normalisation functions, no pandas, so it is ready in a fraction of a second. Values
and results travel as pickles over its stdin and stdout. Results travel coded: per key,
the distinct keys once and an int32 code per value, so that the parent unpickles a few
hundred thousand surnames and towns instead of a tuple of strings per distinct name. The parent keeps the worker's
stdin open until it has the result, so the worker sees end of input and exits as soon
as the parent is gone (a killed 名寄せ must leave no process behind).
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
import threading
from array import array

from macros_py.normalize.address import split_address
from macros_py.normalize.kana import kana_key, split_kana
from macros_py.normalize.names import split_name, unify_separators

__all__ = ["KEY_FUNCTIONS", "CodedKeys", "distinct_keys", "serve"]


def address_keys(values: list[str]) -> list[tuple[str, str, str]]:
    """(town, town + 丁目, town + 丁目-番地-号) of each address ("" parts when no numbers)."""
    out = []
    for value in values:
        parts = split_address(value)
        chome = f"{parts.town}{parts.numbers.split('-')[0]}" if parts.numbers else ""
        out.append((parts.town, chome, parts.key if parts.numbers else ""))
    return out


def name_keys(values: list[str]) -> list[tuple[str, str, str, str]]:
    """(surname, given, loose surname, loose given) of each name."""
    return [(*split_name(value), *split_name(value, loose=True)) for value in values]


def reading_keys(values: list[str]) -> list[tuple[str, str, str]]:
    """(surname, given, both) reading keys of each 氏名カナ, keyed once per distinct part.

    Spaces, middle dots, equals signs and commas all separate the parts (foreign names).

    A city's forty thousand readings are made of a few hundred surname and given-name
    readings; ``both`` is the concatenation of the part keys.
    """
    part_keys: dict[str, str] = {}
    out = []
    for value in values:
        surname, given = split_kana(unify_separators(value))  # スミス・ジョン: the dot splits
        if surname not in part_keys:
            part_keys[surname] = kana_key(surname)
        if given not in part_keys:
            part_keys[given] = kana_key(given)
        out.append((part_keys[surname], part_keys[given], part_keys[surname] + part_keys[given]))
    return out


KEY_FUNCTIONS = {"name": name_keys, "name_kana": reading_keys, "address": address_keys}


# One key of one column: an int32 code per value (``array("i")``) and the distinct keys.
CodedKeys = tuple[array, list[str]]


def _coded(rows: list[tuple], width: int) -> list[CodedKeys]:
    """Key rows → per key position, (code of each row's key, distinct keys in code order)."""
    out = []
    for position in range(width):
        seen: dict[str, int] = {}
        codes = array("i", [seen.setdefault(row[position], len(seen)) for row in rows])
        out.append((codes, list(seen)))
    return out


_WIDTH = {"name": 4, "name_kana": 3, "address": 3}


def distinct_keys(values: dict[str, list[str]]) -> dict[str, list[CodedKeys]]:
    """Coded keys of each column's distinct values (what the worker computes).

    Examples:
        >>> codes, towns = distinct_keys({"address": ["本町1-2-3", "本町4-5-6"]})["address"][0]
        >>> list(codes), towns
        ([0, 0], ['本町'])
    """
    return {column: _coded(KEY_FUNCTIONS[column](texts), _WIDTH[column]) for column, texts in values.items()}


def _exit_when_parent_ends(stream) -> None:
    """The parent keeps our stdin open until it has the result: end of input means it is gone."""
    while stream.read(65536):
        pass
    os._exit(0)  # nobody will read the result


def _read_exactly(stream, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError("the parent ended before sending the values")
        data += chunk
    return bytes(data)


def serve(stdin=None, stdout=None) -> None:
    """Worker main: read one pickled ``{column: [values]}`` (8-byte length first), write the key rows.

    Run as ``python -m macros_py.link.keys_worker`` by
    :func:`macros_py.link.prepare.start_people_keys`. A plain child process, not a
    multiprocessing one: ``spawn`` would import the parent's main script again.
    """
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    size = struct.unpack("<Q", _read_exactly(stdin, 8))[0]
    values = pickle.loads(_read_exactly(stdin, size))
    threading.Thread(target=_exit_when_parent_ends, args=(stdin,), daemon=True).start()
    result = pickle.dumps(distinct_keys(values), protocol=pickle.HIGHEST_PROTOCOL)
    stdout.write(struct.pack("<Q", len(result)))
    stdout.write(result)
    stdout.flush()


if __name__ == "__main__":
    serve()
