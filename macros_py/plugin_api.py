"""The public plugin interface of mimamori: the ONE module a plugin file imports.

Everything a plugin needs is here; nothing else inside ``macros_py`` is a promise.
A plugin is a ``.py`` file in the plugins folder (設定タブ「プラグインフォルダ」) with
functions decorated by :data:`hookimpl` and named exactly like a hook of
:mod:`macros_py.hookspecs`:

* ``register_readers() -> list[ReaderSpec]``: readers for new export file formats;
* ``register_items() -> list[ItemSpec]``: custom items per child (判定項目) computed in code;
* ``register_models() -> list[ModelSpec]``: custom statistical models.

See ``docs/plugins.md`` for a walk-through and ``plugins/example_*.py`` for working examples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from macros_py.hookspecs import hookimpl
from macros_py.ingest.encoding import AUTO, EncodingError, FileScan
from macros_py.ingest.encoding import scan_text_file as _scan_text_file
from macros_py.ingest.mapping import SourceSpec
from macros_py.ingest.readers import RawChunk, RawTable, ReadError, ReaderSpec

__all__ = [
    "FileScan",
    "ItemSpec",
    "ModelSpec",
    "RawChunk",
    "RawTable",
    "ReadError",
    "ReaderSpec",
    "RecordsOf",
    "SourceSpec",
    "hookimpl",
    "scan_text_file",
]

#: ``records_of(source_id)``: the current records of one source (取込設定 ソースID) that the
#: latest 名寄せ run linked to a resident, one row per record: ``resident_id`` (text),
#: ``extract_date``, ``学校``/``学年``/``組`` and one typed column per value field of
#: the 項目マッピング tab, named as there (数値 → float, 日付 → datetime64, フラグ → bool,
#: 文字/コード → text). Records of opted-out families are never included.
RecordsOf = Callable[[str], pd.DataFrame]


@dataclass(frozen=True)
class ItemSpec:
    """A custom item (判定項目) computed by code instead of a 判定ルール row.

    Its value appears beside the rule items: a 判定ルール row whose 項目ID equals
    ``item_id`` and whose ソースID is ``プラグイン`` gives it points, a 判定 condition over 値 (blank: 値 > 0) and the review
    flag, exactly as for a built-in item. Without such a row the value is still stored
    and the model may use it.

    Attributes:
        item_id: Unique id (ASCII letters, digits, ``_``); must not clash with a rule's 項目ID.
        name: Japanese name shown to staff.
        compute: ``compute(children, records_of) -> pd.Series`` of float indexed like
            ``children`` (missing = no value). ``children`` is indexed by 宛名番号
            (``resident_id``) with columns ``household_id, name, birth_date, age,
            age_months, sex, school, grade, class_name, address, foreign,
            single_parent, disability_household, large_family``; ``records_of`` is
            described at :data:`RecordsOf`. Must not modify its inputs.
        sources: The ソースID the item reads (for the freshness shown on the list).
        description: Japanese rationale (根拠) for administrators.
    """

    item_id: str
    name: str
    compute: Callable[[pd.DataFrame, RecordsOf], pd.Series]
    sources: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """A custom statistical model, fitted and evaluated beside the built-in one.

    Attributes:
        name: Unique Japanese or ASCII name shown on the モデル評価 tab.
        fit: ``fit(features, labels) -> fitted``: ``features`` is a float DataFrame
            indexed by 宛名番号 (one column per feature, no missing values), ``labels``
            a bool Series (known to services) on the same index. The fitted object
            stays in memory; only predictions are stored.
        predict: ``predict(fitted, features) -> pd.Series`` of scores in [0, 1]
            (higher = more concern) on ``features.index``.
        description: Japanese description for administrators.
    """

    name: str
    fit: Callable[[pd.DataFrame, pd.Series], Any]
    predict: Callable[[Any, pd.DataFrame], pd.Series]
    description: str = ""


def scan_text_file(path: Path, declared: str = AUTO) -> FileScan:
    """Decide a text export's encoding and hash its bytes in one pass (for reader plugins).

    Args:
        path: The file.
        declared: The 取込設定 文字コード value (``自動``, ``cp932``, ``utf-8``, ``utf-8-sig``).

    Returns:
        ``FileScan`` with ``encoding`` (a Python codec name), ``sha256`` and ``size``.

    Raises:
        ReadError: naming the file when no encoding fits or the declared one is wrong.
    """
    try:
        return _scan_text_file(Path(path), declared)
    except EncodingError as error:
        raise ReadError(str(error)) from error
