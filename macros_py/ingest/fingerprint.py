"""The fingerprint of what an import of one source used: its 取込設定 row, its
項目マッピング rows, the コード表 those rows name, and the import settings.

Stored with every import; when it differs, the next import reads the source's files
again instead of reporting them unchanged (a mapping change reaches files already in).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping

from macros_py.ingest.extracts import HoldRules
from macros_py.ingest.mapping import MappingConfig, SourceSpec

__all__ = ["mapping_fingerprint"]

_VERSION = "mimamori-mapping-1"


# Source fields that change how a file is read (名称, 部署, 更新頻度 ... do not).
_SOURCE_FIELDS = ("source_id", "format", "encoding", "header_row", "sheet_name", "extract_date_from")


def _plain(spec, names=None) -> dict:
    names = names or [f.name for f in dataclasses.fields(spec) if f.name != "excel_row"]
    return {name: getattr(spec, name) for name in names}


def _jsonable(value):
    return dict(value) if isinstance(value, Mapping) else str(value)


def mapping_fingerprint(config: MappingConfig, source: SourceSpec, rules: HoldRules) -> str:
    """A SHA-256 (hex) over everything that decides how the source's files are read."""
    columns = [_plain(mapping) for mapping in config.columns_of(source.source_id)]
    used_tables = sorted({m.rule for m in config.columns_of(source.source_id) if m.value_type == "コード"})
    codes = {
        table_id: sorted(dict(config.code_tables[table_id].values).items())
        for table_id in used_tables
        if table_id in config.code_tables
    }
    content = {
        "version": _VERSION,
        "source": _plain(source, _SOURCE_FIELDS),
        "columns": sorted(columns, key=lambda c: json.dumps(c, ensure_ascii=False, default=_jsonable)),
        "codes": codes,
        "settings": dataclasses.asdict(rules),
    }
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, default=_jsonable)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
