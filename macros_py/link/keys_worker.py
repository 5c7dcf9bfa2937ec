"""Normalisation of distinct names, readings and addresses in a spawned worker process.

This module is what the worker imports: only the normalisation functions, no pandas,
so that a ``spawn`` process (the only start method on Windows) is ready in a fraction
of a second. The worker watches its parent and exits as soon as the parent is gone
(a killed 名寄せ must leave no process behind).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from multiprocessing.connection import wait

from macros_py.normalize.address import split_address
from macros_py.normalize.kana import kana_key, split_kana
from macros_py.normalize.names import split_name

__all__ = ["KEY_FUNCTIONS", "distinct_keys", "watch_parent"]


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


KEY_FUNCTIONS = {"name": name_keys, "name_kana": reading_keys, "address": address_keys}


def distinct_keys(values: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """Key rows of each column's distinct values (what the worker computes)."""
    return {column: KEY_FUNCTIONS[column](texts) for column, texts in values.items()}


def _exit_with_parent(sentinel) -> None:
    wait([sentinel])
    os._exit(0)  # the parent is gone: nobody will read the result


def watch_parent() -> None:
    """Worker initialiser: end this process as soon as its parent ends (even by SIGKILL)."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with_parent, args=(parent.sentinel,), daemon=True).start()
