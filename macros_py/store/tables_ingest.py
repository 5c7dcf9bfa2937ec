"""Tables of the ingest stage (取込). Owned by macros_py.ingest.

``imports`` has one row per import attempt (stored, held, unchanged, refused or
withdrawn). A stored import
holds its new rows in ``records`` and, for rows identical to a record of the extract it
supersedes, a reference in ``carried_records`` (so an unchanged row keeps its
``record_id`` from month to month). ``macros_py.ingest.query`` reads both.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, ForeignKey, Index, Integer, String, Table, Text, and_

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
    # stored / held (kept aside, not current) / unchanged / refused / withdrawn (an
    # accepted file removed from the import folder: the extract before it is current again)
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=True),
    Column("superseded_by", Integer, nullable=True),
    # Within the file's valid rows, counted while importing (schema version 2).
    Column("duplicate_records", Integer, nullable=True),
    Column("duplicate_resident_ids", Integer, nullable=True),
    # Schema version 3: what the import used and why it was held or accepted.
    Column("mapping_fingerprint", String(64), nullable=True),  # mapping rows, codes, settings
    Column("missing_columns", Text, nullable=True),  # JSON list of mapped columns absent
    Column("accepted_by", String(128), nullable=True),  # staff who accepted a held file
    Column("accepted_at", DateTime, nullable=True),
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

# One row per source, locked (updated) at the start of every file transaction so that
# checking "is this file already stored?" and storing it are one step, also when two
# people import at once (SQLite: the write lock; PostgreSQL: the row lock).
import_locks = Table(
    "import_locks",
    metadata,
    Column("source_id", String(64), primary_key=True),
    Column("locked_at", DateTime, nullable=True),
)


def current_import_condition(source_id: str | None = None):
    """WHERE clause of the imports whose records are current: the one definition of
    "current extract" that importing, queries and linkage share.

    An import is current when it was stored (or held and then accepted) and no newer
    extract replaced it. Held, refused, unchanged and withdrawn attempts never are.
    """
    condition = and_(imports.c.status == "stored", imports.c.superseded_by.is_(None))
    if source_id is not None:
        condition = and_(condition, imports.c.source_id == source_id)
    return condition
