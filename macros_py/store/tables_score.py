"""Tables of the scoring stage (判定). Owned by macros_py.score.

One ``score_runs`` row per run of the ``score`` action, holding everything needed to
replay it: the rules, hardship types, settings and fitted model as JSON, and the
fingerprint of its inputs. Per child: ``score_children`` (the attributes the list
shows and ranks by), ``score_items`` (item hits and aggregated values) and
``score_results`` (the ranking). Children of families who opted out are never written.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, Index, Integer, String, Table, Text

from macros_py.store.schema import metadata

score_runs = Table(
    "score_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime, nullable=False),
    Column("user_name", String(128), nullable=False),
    Column("reference_date", String(10), nullable=False),  # YYYY-MM-DD
    Column("inputs_fingerprint", String(64), nullable=False),  # SHA-256 of items + rules + types + settings
    Column("rules_json", Text, nullable=False),
    Column("types_json", Text, nullable=False),
    Column("model_json", Text, nullable=True),  # None: the run had no model
    Column("settings_json", Text, nullable=False),
    Column("item_status_json", Text, nullable=False),  # item availability and extract dates
    Column("summary_json", Text, nullable=False),
)

# Every child scored (opted-out families excluded): what ranking and the list need.
score_children = Table(
    "score_children",
    metadata,
    Column("run_id", Integer, nullable=False),
    Column("resident_id", String(32), nullable=False),
    Column("household_id", String(32), nullable=True),
    Column("name", String(128), nullable=True),
    Column("age", Integer, nullable=True),
    Column("school", String(128), nullable=True),
    Column("grade", String(16), nullable=True),
    Column("support_status", String(16), nullable=False),  # 要対協 / 支援中 / ""
)
Index("ix_score_children_run", score_children.c.run_id, score_children.c.resident_id)

# Item results per child: rows for hits and for aggregated values the model reads.
score_items = Table(
    "score_items",
    metadata,
    Column("run_id", Integer, nullable=False),
    Column("resident_id", String(32), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("hit", Boolean, nullable=False),
    Column("value", Float, nullable=True),
)
Index("ix_score_items_run", score_items.c.run_id)

# The ranking of every scored child (rank is None for children not listed).
score_results = Table(
    "score_results",
    metadata,
    Column("run_id", Integer, nullable=False),
    Column("resident_id", String(32), nullable=False),
    Column("rank", Integer, nullable=True),
    Column("listed", Boolean, nullable=False),
    Column("total", Float, nullable=False),
    Column("priority", Float, nullable=True),  # the rule order (score.points.rule_priority)
    Column("grade", String(8), nullable=True),
    Column("probability", Float, nullable=True),
    Column("types", Text, nullable=True),  # listed hardship types, "・"-joined
    Column("support_status", String(16), nullable=False),
    Column("reasons_json", Text, nullable=True),  # the 候補リスト row of a listed child
)
Index("ix_score_results_run", score_results.c.run_id, score_results.c.resident_id)

# Rule score per hardship type and child (only non-zero scores), for the history and audits.
score_type_scores = Table(
    "score_type_scores",
    metadata,
    Column("run_id", Integer, nullable=False),
    Column("resident_id", String(32), nullable=False),
    Column("type_name", String(64), nullable=False),
    Column("score", Float, nullable=False),
    Column("listed", Boolean, nullable=False),
    Column("grade", String(8), nullable=True),
)
Index("ix_score_type_scores_run", score_type_scores.c.run_id)
