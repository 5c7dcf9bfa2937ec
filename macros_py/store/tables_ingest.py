"""Tables of the ingest stage (取込). Owned by macros_py.ingest.

``imports`` has one row per import attempt (stored, unchanged or refused). A stored import
holds its new rows in ``records`` and, for rows identical to a record of the extract it
supersedes, a reference in ``carried_records`` (so an unchanged row keeps its
``record_id`` from month to month). ``macros_py.ingest.query`` reads both.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, ForeignKey, Index, Integer, String, Table, Text

from macros_py.store.schema import metadata

# One row per imported file (or per refused attempt).
imports = Table(
    "imports",
    metadata,
    Column("import_id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(64), nullable=False),
    Column("file_name", String(512), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("encoding", String(16), nullable=True),
    Column("extract_date", Date, nullable=True),
    Column("imported_at", DateTime, nullable=False),
    Column("imported_by", String(128), nullable=False),
    Column("rows_read", Integer, nullable=False, default=0),
    Column("rows_stored", Integer, nullable=False, default=0),
    Column("rows_quarantined", Integer, nullable=False, default=0),
    Column("rows_unchanged", Integer, nullable=False, default=0),
    Column("status", String(16), nullable=False),  # stored / refused / unchanged
    Column("message", Text, nullable=True),
    Column("superseded_by", Integer, nullable=True),
    # Within the file's valid rows, counted while importing (schema version 2).
    Column("duplicate_records", Integer, nullable=True),
    Column("duplicate_resident_ids", Integer, nullable=True),
)
Index("ix_imports_source", imports.c.source_id, imports.c.extract_date)
Index("ix_imports_sha", imports.c.source_id, imports.c.file_sha256)

# One row per accepted source record, canonical fields as columns, value fields as JSON.
records = Table(
    "records",
    metadata,
    Column("record_id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("imports.import_id"), nullable=False),
    Column("source_id", String(64), nullable=False),
    Column("file_name", String(512), nullable=False),
    Column("row_number", Integer, nullable=False),
    Column("record_hash", String(40), nullable=False),
    Column("resident_id", String(32), nullable=True),
    Column("household_id", String(32), nullable=True),
    Column("name", String(128), nullable=True),
    Column("name_kana", String(128), nullable=True),
    Column("birth_date", Date, nullable=True),
    Column("sex", String(4), nullable=True),
    Column("address", String(255), nullable=True),
    Column("relationship", String(32), nullable=True),
    Column("school", String(128), nullable=True),
    Column("grade", Integer, nullable=True),
    Column("class_name", String(32), nullable=True),
    Column("student_number", String(32), nullable=True),
    Column("values_json", Text, nullable=True),
)
Index("ix_records_source_import", records.c.source_id, records.c.import_id)
# No index on resident_id: nothing looks records up by it, and keeping it up to date
# cost a third of the insert time of a city-sized import (schema version 2 drops it).

# Rows of a newer import identical to a record already stored: the record is reused.
carried_records = Table(
    "carried_records",
    metadata,
    Column("import_id", Integer, ForeignKey("imports.import_id"), nullable=False),
    Column("record_id", Integer, ForeignKey("records.record_id"), nullable=False),
    Column("file_name", String(512), nullable=False),
    Column("row_number", Integer, nullable=False),
)
Index("ix_carried_import", carried_records.c.import_id)

# Filled cells per mapped field of an import's valid rows (new and carried), counted
# while importing so that the 品質レポート never rescans the records. ``field`` is the
# 項目 label (氏名, 生年月日, 欠席日数, ...).
import_field_counts = Table(
    "import_field_counts",
    metadata,
    Column("import_id", Integer, ForeignKey("imports.import_id"), primary_key=True),
    Column("field", String(128), primary_key=True),
    Column("filled", Integer, nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("quarantine_id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("imports.import_id"), nullable=False),
    Column("source_id", String(64), nullable=False),
    Column("file_name", String(512), nullable=False),
    Column("row_number", Integer, nullable=False),
    Column("column_name", String(255), nullable=True),
    Column("value", Text, nullable=True),
    Column("reason", Text, nullable=False),
)
Index("ix_quarantine_import", quarantine.c.import_id)
