"""The earlier extract, rebuilt from the store, for temporal validation (SCORING.md §4).

Temporal validation asks the question staff care about: had the model been fitted on
the data of the earlier extract, would its list have found the children that services
came to know only afterwards? This module rebuilds "the earlier extract" from the
imports the store keeps; :mod:`macros_py.score.evaluation` fits and measures.

What "the earlier extract" means (sources are refreshed at different times):

- **Earlier reference date** ``R``: the newest extract date among the *previous*
  extracts (the extract before the current one) of the enabled 教師データ sources.
  When no label source has a previous extract there is nothing to validate against
  (the labels have not changed), and the reason is reported in Japanese.
- **Records as of R**: for every source, its previous extract when it has one, else its
  current extract (a source imported once is assumed to have said the same at R).
  A source whose current extract was taken after R and that has no previous extract
  therefore lends later data to the earlier features; the extract dates used are
  reported per source (``extract_dates``) so staff can see it.
- **Children as of R**: the resident register as of R (previous extract when it has
  one), children aged 0–18 at R, with the household view of that register; items use
  the same 判定ルール evaluated at R (items comparing with the extract before, 前回差,
  are left out: that would need the extract before the earlier one).
- **Labels as of R**: the 教師データ rows applied to the label sources' records as of R.
- **Opt-out**: the *current* 不同意書 applies to the earlier extract too. Every member of
  a household named on a current form is removed from the earlier population, both
  their earlier household and (when the register changed) their current one, so a
  family who opted out after R is in no figure. Only counts leave this module.

Nothing here reads synthetic truth. The items are ``compute_items`` itself over an
:class:`EarlierSourceCache`; :func:`previous_records` is ``previous_source_records`` of a
chosen earlier extract.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select

from macros_py.indicators.compute import ItemResults, compute_items
from macros_py.indicators.population import resident_master
from macros_py.indicators.records import (
    RECORD_COLUMNS,
    SourceCache,
    fetch_rows,
    previous_source_records,
    rows_frame,
)
from macros_py.ingest.mapping import MappingConfig
from macros_py.ingest.query import extract_records_query
from macros_py.score.evaluation import EarlierExtract
from macros_py.store import Store
from macros_py.store.tables_ingest import current_import_condition, imports

__all__ = [
    "EarlierExtract",
    "EarlierUnavailable",
    "SourceExtracts",
    "earlier_extract",
    "earlier_items",
    "earlier_support_status",
    "previous_records",
    "source_extracts",
]

logger = logging.getLogger(__name__)

_SPECIAL_NAMES = ("基準日", "値")


@dataclass(frozen=True)
class SourceExtracts:
    """Extract dates per source: the current extract and the one before it (NaT: none)."""

    current: Mapping[str, pd.Timestamp]
    previous: Mapping[str, pd.Timestamp]

    def has_previous(self, source_id: str) -> bool:
        """True when the source has a stored extract before its current one."""
        return pd.notna(self.previous.get(source_id, pd.NaT))

    def used_at_earlier(self, source_id: str) -> pd.Timestamp:
        """The extract date the earlier state uses for the source (previous, else current)."""
        if self.has_previous(source_id):
            return self.previous[source_id]
        return self.current.get(source_id, pd.NaT)


@dataclass(frozen=True)
class EarlierUnavailable:
    """Why there is no earlier extract to validate on (Japanese, shown to staff)."""

    reason: str


def _date(value) -> pd.Timestamp:
    return pd.Timestamp(value) if value is not None else pd.NaT


def source_extracts(store: Store, source_ids: Iterable[str]) -> SourceExtracts:
    """Current and previous extract dates of the given sources (two small queries).

    The previous extract is the newest stored extract older than the current one that a
    newer import superseded (as :func:`macros_py.indicators.records.previous_source_records`
    reads it).
    """
    wanted = sorted(set(source_ids))
    current_dates = (
        select(imports.c.source_id, func.max(imports.c.extract_date))
        .where(current_import_condition(), imports.c.source_id.in_(wanted))
        .group_by(imports.c.source_id)
    )
    older = (
        select(imports.c.source_id, imports.c.extract_date)
        .where(
            imports.c.source_id.in_(wanted),
            imports.c.status == "stored",
            imports.c.superseded_by.isnot(None),
        )
        .distinct()
    )
    with store.engine.connect() as connection:
        current = {str(source): _date(day) for source, day in connection.execute(current_dates).all()}
        earlier_rows = connection.execute(older).all()
    previous: dict[str, pd.Timestamp] = {}
    for source, day in earlier_rows:
        day = _date(day)
        now = current.get(str(source), pd.NaT)
        if pd.isna(day) or pd.isna(now) or day >= now:
            continue
        if pd.isna(previous.get(str(source), pd.NaT)) or day > previous[str(source)]:
            previous[str(source)] = day
    return SourceExtracts(current=current, previous=previous)


def _previous_import_ids(store: Store, source_id: str, extract_date: pd.Timestamp) -> list[int]:
    statement = select(imports.c.import_id).where(
        imports.c.source_id == source_id,
        imports.c.status == "stored",
        imports.c.superseded_by.isnot(None),
        imports.c.extract_date == extract_date.date(),
    )
    with store.engine.connect() as connection:
        return [int(row[0]) for row in connection.execute(statement).all()]


def _previous_extract_query(source_id: str, import_ids: Sequence[int]):
    """One SELECT of every file of a previous extract (own and carried records)."""
    return extract_records_query(source_id, import_ids)


def previous_records(
    store: Store,
    source_id: str,
    *,
    mapping: MappingConfig,
    extract_date: pd.Timestamp,
    fields: Iterable[str] | None,
    resident_source_id: str | None,
    linked: pd.Series,
) -> pd.DataFrame | None:
    """``indicators.records.previous_source_records`` of the extract dated ``extract_date``."""
    frame = previous_source_records(
        store,
        source_id,
        mapping=mapping,
        fields=fields,
        resident_source_id=resident_source_id,
        linked=linked,
        import_ids=_previous_import_ids(store, source_id, extract_date),
    )
    return frame


class EarlierSourceCache(SourceCache):
    """A :class:`SourceCache` whose "current" records are those as of the earlier extract.

    Sources with a previous extract return it (mapped to residents as
    ``previous_source_records`` does); the others their current extract. The opt-out
    source always returns the current forms, widened to every person whose current
    household is named on one (so a household that split or moved since is still out).
    """

    def __init__(
        self,
        store: Store,
        mapping: MappingConfig,
        *,
        resident_source_id: str,
        extracts: SourceExtracts,
        opt_out_source_id: str,
    ):
        super().__init__(store, mapping, resident_source_id=resident_source_id)
        self.extracts = extracts
        self.opt_out_source_id = opt_out_source_id
        self._earlier: dict[str, pd.DataFrame] = {}

    def resident_rows(self, extra_columns: Iterable[str]) -> pd.DataFrame:
        """The resident source's rows as of the earlier extract (master columns, values_json)."""
        source = self.resident_source_id
        if not self.extracts.has_previous(source):
            return super().resident_rows(extra_columns)
        names = list(dict.fromkeys([*RECORD_COLUMNS, *extra_columns, "values_json"]))
        import_ids = _previous_import_ids(self.store, source, self.extracts.previous[source])
        query = _previous_extract_query(source, import_ids).subquery()
        frame = rows_frame(fetch_rows(self.store, select(*[query.c[c] for c in names])), names)
        return frame.drop_duplicates("record_id").reset_index(drop=True)

    def current(self, source_id: str) -> pd.DataFrame:
        """Records as of the earlier extract (the opt-out source: the current forms)."""
        if source_id == self.opt_out_source_id:
            if source_id not in self._earlier:
                self._earlier[source_id] = self._opted_out_people(super().current(source_id))
            return self._earlier[source_id]
        if source_id in self.known and self.extracts.has_previous(source_id):
            if source_id not in self._earlier:
                frame = previous_records(
                    self.store,
                    source_id,
                    mapping=self.mapping,
                    extract_date=self.extracts.previous[source_id],
                    fields=self._fields.get(source_id, set()),
                    resident_source_id=self.resident_source_id,
                    linked=self.linked,
                )
                self._earlier[source_id] = frame if frame is not None else super().current(source_id)
            return self._earlier[source_id]
        return super().current(source_id)

    def extract_date(self, source_id: str) -> pd.Timestamp:
        """The extract date the earlier state uses for the source."""
        return self.extracts.used_at_earlier(source_id)

    def previous(self, source_id: str) -> pd.DataFrame | None:
        """No extract before the earlier one is read: 前回差 items are unavailable at R."""
        return None

    def _opted_out_people(self, forms: pd.DataFrame) -> pd.DataFrame:
        """The named residents plus everyone of their current households (register changed)."""
        named = forms[["resident_id"]].copy()
        if len(named) == 0 or not self.extracts.has_previous(self.resident_source_id):
            return named  # the register did not change: build_population removes the households
        master = resident_master(self.store, source_id=self.resident_source_id, mapping=self.mapping)
        households = master.loc[master["resident_id"].isin(named["resident_id"]), "household_id"]
        households = households[households != ""]
        family = master.loc[master["household_id"].isin(households), ["resident_id"]]
        return pd.concat([named, family], ignore_index=True).drop_duplicates("resident_id")


def _rule_fields(rule) -> set[str]:
    names = set(rule.record_condition.fields) | {rule.value_field, rule.date_field}
    return {name for name in names if name and name not in _SPECIAL_NAMES}


def earlier_items(
    cache: EarlierSourceCache,
    *,
    rules: Sequence,
    reference_date: pd.Timestamp,
    opt_out_source_id: str = "opt_out",
) -> ItemResults:
    """The 判定ルール applied to the records as of the earlier extract, at ``reference_date``.

    ``compute_items`` itself over the cache's earlier records. Plugin items and 前回差
    items come out unavailable: plugins are not loaded for the earlier state, and the
    cache has no extract before the earlier one.
    """
    return compute_items(
        cache.store,
        rules=rules,
        mapping=cache.mapping,
        reference_date=pd.Timestamp(reference_date),
        resident_source_id=cache.resident_source_id,
        opt_out_source_id=opt_out_source_id,
        plugins=None,
        cache=cache,
    )


def earlier_support_status(
    cache: EarlierSourceCache,
    *,
    label_sources: Sequence,
    children: pd.Index,
    reference_date: pd.Timestamp,
) -> pd.Series:
    """支援状況 per earlier child from the label sources' records as of the earlier extract.

    The same rule as :func:`macros_py.score.labels.support_status` (要対協 > 支援中 >
    支援歴あり), reading the cache's earlier records instead of the current ones.
    """
    from macros_py.score.labels import STATUS_PRIORITY

    status = pd.Series("", index=children, name="support_status", dtype=object)
    enabled = [source for source in label_sources if source.enabled and source.source_id in cache.known]
    for source in enabled:
        cache.want(source.source_id, source.record_condition.fields)
    for wanted in reversed(STATUS_PRIORITY):  # weaker first, so the stronger overwrites
        for source in enabled:
            if source.status != wanted:
                continue
            records = cache.current(source.source_id)
            if len(records) == 0:
                continue
            fields = sorted(source.record_condition.fields)
            matched = source.record_condition.evaluate(
                {name: records[name] for name in fields if name in records.columns},
                reference_date=pd.Timestamp(reference_date),
                length=len(records),
            )
            residents = set(records.loc[matched, "resident_id"].astype(str))
            status[children.isin(residents)] = wanted
    return status


def _no_earlier_reason(label_names: Sequence[str]) -> str:
    names = "・".join(label_names) or "教師データのソース"
    return (
        f"教師データのソース({names})は、まだ1回分の抽出しか取り込まれていません。"
        "次の抽出を取り込んで判定すると、前回の抽出で作ったモデルが今回どれだけ当たったかを表示します。"
    )


def earlier_extract(
    store: Store,
    *,
    config,
    resident_source_id: str,
    opt_out_source_id: str = "opt_out",
) -> EarlierExtract | EarlierUnavailable:
    """The earlier extract's features and labels, or why there is none.

    Args:
        store: The store (imported and linked).
        config: The run's ``ScoreConfig`` (rules, label sources, mapping).
        resident_source_id: The resident source (住民記録).
        opt_out_source_id: The 不同意書 source (its current forms apply).

    Returns:
        :class:`EarlierExtract` (features as ``score.features.model_features`` makes
        them, labels, ages at the earlier reference date, extract dates used), or
        :class:`EarlierUnavailable` with a Japanese reason when no 教師データ source has
        an extract before its current one.
    """
    from macros_py.score.features import model_features

    started = time.perf_counter()
    label_ids = list(config.label_source_ids)
    rule_sources = [rule.source_id for rule in config.rules if rule.enabled and not rule.is_plugin]
    wanted = {resident_source_id, opt_out_source_id, *label_ids, *rule_sources}
    extracts = source_extracts(store, wanted)
    earlier_label_dates = [extracts.previous[s] for s in label_ids if extracts.has_previous(s)]
    if not earlier_label_dates:
        names = [config.source_names.get(source, source) for source in label_ids]
        return EarlierUnavailable(_no_earlier_reason(names))
    reference_date = max(earlier_label_dates)
    cache = EarlierSourceCache(
        store,
        config.mapping,
        resident_source_id=resident_source_id,
        extracts=extracts,
        opt_out_source_id=opt_out_source_id,
    )
    # Every field is asked for before the first read: the cache reads each source once.
    for rule in config.rules:
        if rule.enabled and not rule.is_plugin:
            cache.want(rule.source_id, _rule_fields(rule))
    for source in config.label_sources:
        if source.enabled:
            cache.want(source.source_id, source.record_condition.fields)
    items = earlier_items(
        cache, rules=config.rules, reference_date=reference_date, opt_out_source_id=opt_out_source_id
    )
    support = earlier_support_status(
        cache,
        label_sources=config.label_sources,
        children=items.children.index,
        reference_date=reference_date,
    )
    features = model_features(items, rules=config.rules, label_source_ids=label_ids)
    features.index = features.index.astype(str)
    labels = support.reindex(items.children.index).fillna("") != ""
    labels.index = labels.index.astype(str)
    ages = pd.to_numeric(items.children["age"], errors="coerce").set_axis(labels.index)
    used = sorted(source for source in wanted - {opt_out_source_id} if source in extracts.current)
    dates = {
        source: {
            "name": config.source_names.get(source, source),
            "earlier": _iso(extracts.used_at_earlier(source)),
            "current": _iso(extracts.current.get(source, pd.NaT)),
        }
        for source in used
    }
    logger.info(
        "前回の抽出(基準 %s): 児童 %d 人、教師データ %d 人、%.1f 秒",
        f"{reference_date:%Y-%m-%d}",
        len(labels),
        int(labels.sum()),
        time.perf_counter() - started,
    )
    return EarlierExtract(
        features=features.reindex(labels.index),
        labels=labels,
        ages=ages,
        reference_date=reference_date,
        extract_dates=dates,
    )


def _iso(value) -> str | None:
    return None if pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"
