"""Items per child: the 判定ルール applied to the linked records (docs/dev/SCORING.md §2).

``compute_items`` builds the children and the household view (opted-out families
removed first), reads each source once with the fields the rules need, and for every
enabled rule filters, aggregates per person, scopes to the child and judges. Each step
is a whole-column operation; the only loop is over rules.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from macros_py.indicators.aggregate import aggregate_per_person, change_per_person, kept_records
from macros_py.indicators.population import build_population
from macros_py.indicators.records import SourceCache, linked_source_records
from macros_py.indicators.rules import PLUGIN_SOURCE, ItemRule
from macros_py.indicators.scopes import COMBINE, scope_pairs, scoped_values
from macros_py.ingest.mapping import MappingConfig
from macros_py.store import Store

__all__ = ["ITEM_STATUS_COLUMNS", "ItemResults", "child_attributes", "compute_items", "judged_hits"]

logger = logging.getLogger(__name__)

ITEM_STATUS_COLUMNS = ["item_id", "source_id", "extract_date", "available", "note"]
# Data older than this at 基準日 is flagged on the item (still used).
STALE_AFTER_DAYS = 400
_SPECIAL_NAMES = ("基準日", "値")


@dataclass(frozen=True)
class ItemResults:
    """Items per child (see docs/dev/SCORING.md §2)."""

    children: pd.DataFrame
    hits: pd.DataFrame
    values: pd.DataFrame
    item_status: pd.DataFrame
    opted_out: int


class _Sources:
    """The run's source cache, with each record's person code (row of the household view).

    Records of people who are not remaining residents (opted-out families, people who
    moved away) are dropped here, so no item and no plugin ever sees them.
    """

    def __init__(self, cache: SourceCache, people: pd.Index):
        self.cache, self.people, self.mapping = cache, people, cache.mapping
        self._coded: dict[tuple[str, bool], pd.DataFrame | None] = {}

    def _with_person(self, frame: pd.DataFrame) -> pd.DataFrame:
        person = self.people.get_indexer(frame["resident_id"].to_numpy(dtype=object))
        return frame.assign(person=person)[person >= 0].reset_index(drop=True)

    def current(self, source_id: str) -> pd.DataFrame:
        if (source_id, False) not in self._coded:
            self._coded[(source_id, False)] = self._with_person(self.cache.current(source_id))
            self.cache.forget(source_id)  # one copy per source, not two (the metro's peak memory)
        return self._coded[(source_id, False)]

    def previous(self, source_id: str) -> pd.DataFrame | None:
        if (source_id, True) not in self._coded:
            frame = self.cache.previous(source_id)
            self._coded[(source_id, True)] = None if frame is None else self._with_person(frame)
        return self._coded[(source_id, True)]

    def for_plugin(self, source_id: str) -> pd.DataFrame:
        """What a plugin's ``records_of`` returns: every value field, without the person code."""
        key = (f"\0{source_id}", False)
        if key not in self._coded:
            cache = self.cache
            frame = pd.DataFrame(columns=["resident_id"])
            if source_id in cache.known:
                frame = linked_source_records(
                    cache.store,
                    source_id,
                    mapping=cache.mapping,
                    resident_source_id=cache.resident_source_id,
                    linked=cache.linked,
                )
            self._coded[key] = self._with_person(frame)
        return self._coded[key].drop(columns="person").copy()

    def extract_date(self, source_id: str) -> pd.Timestamp:
        return self.cache.extract_date(source_id)


def _rule_fields(rule: ItemRule) -> set[str]:
    names = set(rule.record_condition.fields) | {rule.value_field, rule.date_field}
    return {name for name in names if name and name not in _SPECIAL_NAMES}


def child_attributes(children: pd.DataFrame) -> dict[str, pd.Series]:
    """The columns 対象 conditions see: 年齢, 月齢, 学年, 性別 (positionally aligned)."""
    return {
        "年齢": children["age"].astype(float).reset_index(drop=True),
        "月齢": children["age_months"].astype(float).reset_index(drop=True),
        "学年": pd.to_numeric(children["grade"], errors="coerce").astype(float).reset_index(drop=True),
        "性別": children["sex"].astype(object).reset_index(drop=True),
    }


def judged_hits(
    rule: ItemRule,
    values: pd.Series,
    *,
    attributes: Mapping[str, pd.Series],
    reference_date: pd.Timestamp,
) -> np.ndarray:
    """判定 over 値 (blank: 値 > 0) and 対象 over the child; no value never hits."""
    length = len(values)
    numbers = values.to_numpy(dtype=float)
    present = ~np.isnan(numbers)
    if rule.judgement.text.strip():
        judged = rule.judgement.evaluate(
            {"値": values.reset_index(drop=True)}, reference_date=reference_date, length=length
        )
    else:
        judged = np.where(present, numbers, 0.0) > 0
    target = rule.target.evaluate(attributes, reference_date=reference_date, length=length)
    return judged & target & present


def _person_values(rule: ItemRule, sources: _Sources, reference_date: pd.Timestamp) -> pd.Series | None:
    """Step 1–2: kept records aggregated per person; ``None`` when no earlier extract."""

    def kept(frame: pd.DataFrame) -> pd.DataFrame:
        return kept_records(
            frame,
            condition=rule.record_condition,
            date_field=rule.date_field,
            period_days=rule.period_days,
            reference_date=reference_date,
        )

    current = kept(sources.current(rule.source_id))
    if rule.aggregation != "change":
        return aggregate_per_person(
            current,
            aggregation=rule.aggregation,
            value_field=rule.value_field,
            date_field=rule.date_field,
            key="person",
        )
    previous = sources.previous(rule.source_id)
    if previous is None:
        return None
    return change_per_person(current, kept(previous), value_field=rule.value_field, key="person")


def _child_values(
    rule: ItemRule, person_values: pd.Series, pairs: Mapping[str, pd.DataFrame], children: pd.Index
) -> pd.Series:
    """Step 3: the scope's people combined per child (``children``: positions)."""
    return scoped_values(
        person_values,
        pairs[rule.scope],
        children=children,
        combine=COMBINE[rule.aggregation],
        missing_person_value=1.0 if rule.aggregation == "none_in_period" else None,
    )


def _status(rule_id: str, source_id: str, date, available: bool, note: str) -> dict:
    return {
        "item_id": rule_id,
        "source_id": source_id,
        "extract_date": date,
        "available": available,
        "note": note,
    }


def _freshness_note(date: pd.Timestamp, reference_date: pd.Timestamp) -> str:
    if pd.notna(date) and (reference_date - date).days > STALE_AFTER_DAYS:
        return f"データが古い可能性があります(抽出日 {date:%Y-%m-%d})"
    return ""


@dataclass
class _Collected:
    values: dict[str, pd.Series]
    hits: dict[str, np.ndarray]
    status: list[dict]


def _rule_items(
    rules: Sequence[ItemRule],
    *,
    sources: _Sources,
    pairs: Mapping[str, pd.DataFrame],
    children: pd.DataFrame,
    reference_date: pd.Timestamp,
    collected: _Collected,
) -> None:
    attributes = child_attributes(children)
    known = {source.source_id for source in sources.mapping.sources}
    for rule in rules:
        if rule.is_plugin:
            continue
        date = sources.extract_date(rule.source_id) if rule.source_id in known else pd.NaT
        if pd.isna(date):
            note = f"ソース「{rule.source_id}」のデータがまだ取り込まれていません"
            collected.status.append(_status(rule.item_id, rule.source_id, pd.NaT, False, note))
            continue
        person_values = _person_values(rule, sources, reference_date)
        if person_values is None:
            note = "前回の抽出がないため、前回との比較ができません"
            collected.status.append(_status(rule.item_id, rule.source_id, date, False, note))
            continue
        values = _child_values(rule, person_values, pairs, pd.RangeIndex(len(children)))
        collected.values[rule.item_id] = values
        collected.hits[rule.item_id] = judged_hits(
            rule, values, attributes=attributes, reference_date=reference_date
        )
        note = _freshness_note(date, reference_date)
        collected.status.append(_status(rule.item_id, rule.source_id, date, True, note))


def _plugin_items(
    rules: Sequence[ItemRule],
    plugins,
    *,
    sources: _Sources,
    children: pd.DataFrame,
    reference_date: pd.Timestamp,
    collected: _Collected,
) -> None:
    """Items computed by plugins: judged by their 判定ルール row when there is one."""
    from macros_py.plugins import compute_plugin_items

    computed = compute_plugin_items(plugins, children=children.copy(), records_of=sources.for_plugin)
    by_id = {rule.item_id: rule for rule in rules if rule.is_plugin}
    attributes = child_attributes(children)
    for item_id in by_id:
        if item_id not in computed.columns:
            note = "この項目を計算するプラグインが読み込まれていません"
            collected.status.append(_status(item_id, PLUGIN_SOURCE, pd.NaT, False, note))
    for item_id in computed.columns:
        if item_id in collected.values:
            logger.warning("plugin item %s has the id of a rule item; left out", item_id)
            continue
        values = computed[item_id].astype(float)
        rule = by_id.get(item_id)
        collected.values[item_id] = values
        collected.hits[item_id] = (
            judged_hits(rule, values, attributes=attributes, reference_date=reference_date)
            if rule is not None and rule.enabled
            else values.fillna(0).to_numpy(dtype=float) > 0
        )
        collected.status.append(_status(item_id, PLUGIN_SOURCE, pd.NaT, True, ""))


def _results(children: pd.DataFrame, collected: _Collected, opted_out: int) -> ItemResults:
    index = children.index
    values = pd.DataFrame({k: v.to_numpy(dtype=float) for k, v in collected.values.items()}, index=index)
    hits = pd.DataFrame({k: np.asarray(v, dtype=bool) for k, v in collected.hits.items()}, index=index)
    status = pd.DataFrame(collected.status, columns=ITEM_STATUS_COLUMNS)
    status["extract_date"] = pd.to_datetime(status["extract_date"])
    status["available"] = status["available"].astype(bool)
    return ItemResults(children=children, hits=hits, values=values, item_status=status, opted_out=opted_out)


def compute_items(
    store: Store,
    *,
    rules: Sequence[ItemRule],
    mapping: MappingConfig,
    reference_date: pd.Timestamp,
    resident_source_id: str,
    opt_out_source_id: str = "opt_out",
    plugins=None,
    cache: SourceCache | None = None,
) -> ItemResults:
    """Every enabled item for every child aged 0–18 at ``reference_date``.

    Args:
        store: the store (imported and linked).
        rules: the parsed 判定ルール rows (disabled ones are skipped).
        mapping: the parsed mapping tabs.
        reference_date: 基準日.
        resident_source_id: the resident source (住民記録).
        opt_out_source_id: the 不同意書 source; its families are removed before anything.
        plugins: loaded plugins (``macros_py.plugins``) for custom items, or ``None``.
        cache: the records to read, when not the store's current extracts (temporal
            validation passes a cache of the earlier extract); ``None`` reads the current.

    Returns:
        :class:`ItemResults`; an item whose source has no data, or that compares with a
        previous extract that does not exist, is listed in ``item_status`` as
        unavailable and has no column in ``hits``/``values``.
    """
    started = time.perf_counter()
    reference_date = pd.Timestamp(reference_date)
    enabled = [rule for rule in rules if rule.enabled]
    if cache is None:
        cache = SourceCache(store, mapping, resident_source_id=resident_source_id)
    for rule in enabled:
        if not rule.is_plugin:
            cache.want(rule.source_id, _rule_fields(rule))
    population = build_population(
        cache,
        reference_date=reference_date,
        resident_source_id=resident_source_id,
        opt_out_source_id=opt_out_source_id,
    )
    children = population.children
    people = pd.Index(population.members["resident_id"].to_numpy(dtype=object), dtype=object)
    sources = _Sources(cache, people)
    pairs = scope_pairs(population.members, people.get_indexer(children.index.to_numpy(dtype=object)))
    collected = _Collected(values={}, hits={}, status=[])
    _rule_items(
        enabled,
        sources=sources,
        pairs=pairs,
        children=children,
        reference_date=reference_date,
        collected=collected,
    )
    if plugins is not None or any(rule.is_plugin for rule in enabled):
        _plugin_items(
            enabled,
            plugins,
            sources=sources,
            children=children,
            reference_date=reference_date,
            collected=collected,
        )
    logger.info(
        "items: %d children, %d items, %.1f s",
        len(children),
        len(collected.values),
        time.perf_counter() - started,
    )
    return _results(children, collected, population.opted_out)
