"""Tables of the linkage stage (名寄せ). Owned by macros_py.link."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Index, Integer, String, Table, Text

from macros_py.store.schema import metadata

# Result of the latest link run: one row per source record.
links = Table(
    "links",
    metadata,
    Column("link_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False),
    Column("record_id", Integer, nullable=False),
    Column("source_id", String(64), nullable=False),
    Column("resident_id", String(32), nullable=True),
    Column("outcome", String(16), nullable=False),  # auto / review / none / exact / crosswalk
    Column("method", String(32), nullable=False),
    Column("score", Float, nullable=True),
    Column("detail_json", Text, nullable=True),
)
Index("ix_links_run_record", links.c.run_id, links.c.record_id)

# Human decisions and confirmed links, reused before any fuzzy matching.
crosswalk = Table(
    "crosswalk",
    metadata,
    Column("crosswalk_id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(64), nullable=False),
    Column("source_key", String(255), nullable=False),  # e.g. school + student number
    Column("resident_id", String(32), nullable=True),
    Column("decision", String(16), nullable=False),  # same / different
    Column("decided_by", String(128), nullable=False),
    Column("decided_at", DateTime, nullable=False),
    Column("note", Text, nullable=True),
)
Index("ix_crosswalk_key", crosswalk.c.source_id, crosswalk.c.source_key)

# Saved Fellegi-Sunter parameters, inspectable and reusable.
link_models = Table(
    "link_models",
    metadata,
    Column("model_id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime, nullable=False),
    Column("source_id", String(64), nullable=True),
    Column("parameters_json", Text, nullable=False),
)
