"""The scoring pipeline as short named steps (used by the ``score`` action and by replay).

parse the tabs → compute items → support status → fit the model → list (type scores,
selection, きょうだい加点, probabilities, ranking, 候補リスト rows) → evaluate.
:func:`list_run` works only on what a run stores (:class:`~macros_py.score.history.StoredRun`),
so replaying a stored run goes through exactly the same code as the run itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from macros_py.config.errors import ConfigError, ConfigErrors
from macros_py.config.settings import Settings, parse_settings
from macros_py.score.candidates import (
    CURRENTLY_SUPPORTED,
    CandidateOptions,
    candidate_rows,
    rank_children,
    sibling_listed,
)
from macros_py.score.history import (
    CHILD_COLUMNS,
    StoredRun,
    _item_frames,
    _item_rows,
    decode_config,
    encode_config,
)
from macros_py.sheets import COEFFICIENTS, SETTINGS

__all__ = [
    "Listing",
    "ScoreConfig",
    "coefficient_rows",
    "fit_step",
    "list_run",
    "parse_score_config",
    "replay_listing",
    "stored_run",
    "validate_score_tables",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreConfig:
    """The parsed tabs a run reads (判定ルール, 困難類型, 教師データ, 設定, mapping tabs)."""

    mapping: object  # ingest.mapping.MappingConfig
    rules: tuple
    types: tuple
    label_sources: tuple
    options: CandidateOptions
    age_thresholds: tuple
    sharp_rise: float
    source_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def label_source_ids(self) -> tuple[str, ...]:
        from macros_py.score.labels import label_source_ids

        return label_source_ids(self.label_sources)

    def stored_settings(self) -> dict:
        """The settings a replay needs, as plain JSON values."""
        return {
            "supported_children": self.options.supported_children,
            "sibling_points": self.options.sibling_points,
            "candidate_order": self.options.order,
            "sharp_rise_points": self.sharp_rise,
            "label_source_ids": list(self.label_source_ids),
            "source_names": dict(self.source_names),
        }


def _age_thresholds(settings: Settings) -> tuple:
    from macros_py.score.model import AgeThresholdError, parse_age_thresholds

    try:
        return parse_age_thresholds(settings.model_age_thresholds)
    except AgeThresholdError as error:
        raise ConfigErrors(
            [ConfigError(SETTINGS.name, None, "値", f"モデルの年齢帯しきい値: {error.message}")]
        ) from None


def parse_score_config(tables: Mapping[str, pd.DataFrame], settings: Settings | None = None) -> ScoreConfig:
    """Parse every tab the run reads; all problems are reported together.

    Raises:
        ConfigErrors: naming sheet, row and column of each problem.
    """
    from macros_py.indicators.rules import parse_item_rules
    from macros_py.ingest.mapping import parse_mapping_tables
    from macros_py.score.labels import parse_label_sources
    from macros_py.score.types import parse_hardship_types

    settings = settings or parse_settings(tables["settings"])
    mapping = parse_mapping_tables(tables)
    errors: list[ConfigError] = []
    types: tuple = ()
    rules: tuple = ()
    label_sources: tuple = ()
    thresholds: tuple = ()
    try:
        types = parse_hardship_types(tables.get("hardship_types"))
    except ConfigErrors as problem:
        errors += problem.errors
    try:
        rules = parse_item_rules(
            tables.get("item_rules"), type_names=[t.name for t in types], mapping=mapping
        )
    except ConfigErrors as problem:
        errors += problem.errors
    try:
        label_sources = parse_label_sources(tables.get("label_sources"), mapping=mapping)
    except ConfigErrors as problem:
        errors += problem.errors
    try:
        thresholds = _age_thresholds(settings)
    except ConfigErrors as problem:
        errors += problem.errors
    if errors:
        raise ConfigErrors(errors)
    return ScoreConfig(
        mapping=mapping,
        rules=rules,
        types=types,
        label_sources=label_sources,
        options=CandidateOptions.from_settings(settings),
        age_thresholds=thresholds,
        sharp_rise=float(settings.sharp_rise_points),
        source_names={source.source_id: source.name for source in mapping.sources},
    )


def validate_score_tables(tables: Mapping[str, pd.DataFrame]) -> list[ConfigError]:
    """Problems in 判定ルール, 困難類型, 教師データ and モデルの年齢帯しきい値 (for 設定チェック and file mode).

    Problems of the 設定 and mapping tabs themselves are reported by their own validators.
    """
    try:
        settings = parse_settings(tables["settings"])
    except ConfigErrors:
        return []
    try:
        parse_score_config(tables, settings)
    except ConfigErrors as problem:
        return [error for error in problem.errors if error.sheet not in _MAPPING_SHEETS]
    return []


_MAPPING_SHEETS = frozenset({"取込設定", "項目マッピング", "コード表"})


# --- what a run stores, and the listing computed from it ---


def _stored_children(children: pd.DataFrame) -> pd.DataFrame:
    """The child attributes a run stores, in their stored form (so replay sees the same)."""
    frame = children.reindex(columns=list(CHILD_COLUMNS))
    ages = pd.to_numeric(frame["age"], errors="coerce")
    out = pd.DataFrame(
        {
            "household_id": _texts_or_none(frame["household_id"], str),
            "name": _texts_or_none(frame["name"], str),
            "age": [None if pd.isna(v) else int(v) for v in ages],
            "school": _texts_or_none(frame["school"], str),
            "grade": _texts_or_none(frame["grade"], _integer_text),
        },
        index=pd.Index(children.index.astype(str), name="resident_id"),
    )
    return out.sort_index()


def _texts_or_none(values: pd.Series, text_of) -> list:
    """``text_of(value)`` per value, ``None`` where blank (missing or ""); the blanks are
    found column-wise (a per-value check took 1 s over a city's children)."""
    array = values.to_numpy(dtype=object)
    blank = pd.isna(array) | (array == "")
    texts = np.full(len(array), None, dtype=object)
    texts[~blank] = [text_of(value) for value in array[~blank]]
    return texts.tolist()


def _integer_text(value) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def stored_run(items, support: pd.Series, *, config: ScoreConfig, reference_date, model) -> StoredRun:
    """The run's inputs as they will be stored (items round-tripped through their long form)."""
    children = _stored_children(items.children)
    hits = items.hits.copy()
    hits.index = hits.index.astype(str)
    values = items.values.copy()
    values.index = values.index.astype(str)
    long = _item_rows(0, hits.reindex(children.index), values.reindex(children.index))
    long = long.assign(value=pd.to_numeric(long["value"], errors="coerce"))
    status = items.item_status.copy()
    if "extract_date" in status.columns:
        status["extract_date"] = pd.to_datetime(status["extract_date"]).dt.normalize()
    hits, values = _item_frames(long, children.index, status)
    support = support.copy()
    support.index = support.index.astype(str)
    return StoredRun(
        reference_date=f"{pd.Timestamp(reference_date):%Y-%m-%d}",
        children=children,
        hits=hits,
        values=values,
        item_status=status,
        support=support.reindex(children.index).fillna("").astype(str),
        rules_json=encode_config(config.rules),
        types_json=encode_config(config.types),
        model_json=model.to_json() if model is not None else None,
        settings=config.stored_settings(),
    )


@dataclass(frozen=True)
class Listing:
    """Everything the list step computed."""

    type_scores: pd.DataFrame  # after きょうだい加点
    first: pd.DataFrame  # listed per type before きょうだい加点
    final: pd.DataFrame  # listed per type after it
    grades: pd.DataFrame
    probability: pd.Series | None
    features: pd.DataFrame | None
    ranking: pd.DataFrame
    candidates: pd.DataFrame


def _item_results(run: StoredRun):
    from macros_py.indicators.compute import ItemResults

    return ItemResults(
        children=run.children, hits=run.hits, values=run.values, item_status=run.item_status, opted_out=0
    )


def _selection(scores: pd.DataFrame, types: Sequence, ages: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Listed (bool) and grade (text) per child and hardship type."""
    from macros_py.score.ranking import select_by_type

    selection = select_by_type(scores, types, ages)
    names = [hardship.name for hardship in types if hardship.enabled and hardship.name in scores.columns]
    listed = pd.DataFrame({name: selection[(name, "listed")] for name in names}, index=scores.index)
    grades = pd.DataFrame({name: selection[(name, "grade")] for name in names}, index=scores.index)
    return listed.fillna(False).astype(bool), grades.fillna("").astype(str)


def _with_sibling_points(
    scores: pd.DataFrame, types: Sequence, ages: pd.Series, households: pd.Series, points: float
):
    """(scores, first listed, final listed, grades) with きょうだい加点 applied when set."""
    first, grades = _selection(scores, types, ages)
    if points <= 0 or first.empty:
        return scores, first, first, grades
    uplift = sibling_listed(first, households)
    raised = scores.copy()
    raised[list(first.columns)] = raised[list(first.columns)] + points * uplift.astype(float)
    final, grades = _selection(raised, types, ages)
    return raised, first, final | first, grades


def _model_step(run: StoredRun, model, rules: Sequence):
    """(probability, listed by probability, features, model reasons) or Nones without a model."""
    if model is None:
        return None, pd.Series(False, index=run.children.index), None, None
    from macros_py.score.features import feature_labels, feature_presence, hidden_features, model_features
    from macros_py.score.model import contributions, predict_probability, probability_thresholds, reason_texts

    results = _item_results(run)
    features = model_features(results, rules=rules, label_source_ids=run.settings["label_source_ids"])
    probability = predict_probability(model, features).round(6)
    thresholds = probability_thresholds(model.age_thresholds, run.children["age"])
    by_model = probability >= thresholds.reindex(probability.index)
    reasons = reason_texts(
        contributions(model, features),
        names=feature_labels(features.columns, rules),
        present=feature_presence(results, features),
        hidden=hidden_features(features.columns, rules),
    )
    return probability, by_model, features, reasons


def list_run(run: StoredRun, *, rules: Sequence, types: Sequence, model) -> Listing:
    """Score, select, rank and explain from a run's stored inputs (the run and its replay)."""
    from macros_py.score.points import rule_priority, rule_total, type_scores

    options = CandidateOptions(
        supported_children=run.settings["supported_children"],
        sibling_points=float(run.settings["sibling_points"]),
        order=run.settings["candidate_order"],
    )
    ages = run.children["age"]
    scores = type_scores(run.hits, rules, types)
    scores, first, final, grades = _with_sibling_points(
        scores, types, ages, run.children["household_id"], options.sibling_points
    )
    probability, by_model, features, reasons = _model_step(run, model, rules)
    ranking = rank_children(
        totals=rule_total(scores).reindex(run.children.index).fillna(0.0),
        priority=rule_priority(scores, final, types, ages).reindex(run.children.index).fillna(0.0),
        probability=probability,
        first=first,
        final=final,
        grades=grades,
        by_model=by_model,
        support=run.support,
        ranking_of={hardship.name: hardship.ranking for hardship in types},
        options=options,
    )
    candidates = candidate_rows(
        ranking,
        children=run.children,
        hits=run.hits,
        rules=rules,
        item_status=run.item_status,
        source_names=run.settings["source_names"],
        model_reasons=reasons,
    )
    return Listing(scores, first, final, grades, probability, features, ranking, candidates)


def replay_listing(run: StoredRun) -> Listing:
    """The listing of a stored run, recomputed from its stored rows and JSON."""
    from macros_py.score.model import FittedModel

    model = FittedModel.from_json(run.model_json) if run.model_json else None
    return list_run(
        run, rules=decode_config(run.rules_json), types=decode_config(run.types_json), model=model
    )


# --- the model ---


def fit_step(items, support: pd.Series, *, config: ScoreConfig):
    """(model or None, features, Japanese warning or None): the run goes on without a model."""
    from macros_py.score.features import model_features
    from macros_py.score.model import ModelNotFittable, fit_model

    features = model_features(items, rules=config.rules, label_source_ids=config.label_source_ids)
    features.index = features.index.astype(str)
    labels = support.reindex(features.index).fillna("") != ""
    try:
        model = fit_model(features, labels, seed=0, age_thresholds=config.age_thresholds)
    except ModelNotFittable as problem:
        return (
            None,
            features,
            f"統計モデルを作れなかったため、判定ルールの点数だけで候補を選びました({problem.message})。",
        )
    return model, features, None


def coefficient_rows(
    model, features: pd.DataFrame, rules: Sequence, presence: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The 係数 tab: one row per model feature, in plain Japanese.

    ``presence`` (``score.features.feature_presence``) counts the children who have the
    item (a hit, or a record for a value feature); without it, non-zero values are counted.
    """
    if model is None:
        return pd.DataFrame(columns=COEFFICIENTS.headers)
    from macros_py.score.features import VALUE_SUFFIX, feature_labels

    names = feature_labels(model.feature_names, rules)
    # The fitted coefficients are per standard deviation and before calibration; staff read
    # the calibrated effect of having an item (per unit) or of one SD more of a value.
    per_unit, per_sd = model.per_unit_effects(), model.per_sd_effects()
    rows = []
    for position, feature in enumerate(model.feature_names):
        is_value = feature.endswith(VALUE_SUFFIX)
        coefficient = float(per_sd[position] if is_value else per_unit[position])
        if presence is not None and feature in presence.columns:
            count = int(presence[feature].sum())
        else:
            count = int((features[feature] != 0).sum()) if feature in features.columns else 0
        direction = "上げる" if coefficient > 0.005 else "下げる" if coefficient < -0.005 else "ほぼ影響なし"
        unit = "値が標準偏差1つ分大きい" if is_value else "この項目に該当する"
        rows.append(
            {
                "項目ID": feature,
                "項目名": names.get(feature, feature),
                "係数": round(coefficient, 4),
                "オッズ比": round(float(np.exp(coefficient)), 3),
                "該当者数": count,
                "向き": direction,
                "説明": f"{unit}と、支援につながっている見込み(オッズ)がおよそ{np.exp(coefficient):.2f}倍になります(ほかの項目が同じ場合)。",
            }
        )
    table = pd.DataFrame(rows, columns=COEFFICIENTS.headers)
    order = table["係数"].abs().sort_values(ascending=False, kind="stable").index
    return table.loc[order].reset_index(drop=True)


def summary_of(listing: Listing, *, types: Sequence, evaluation, items, model, warning) -> dict:
    """The JSON summary: counts per hardship type, list size, evaluation figures."""
    per_type = {name: int(listing.final[name].sum()) for name in listing.final.columns}
    ranking = listing.ranking
    figures = evaluation.summary if evaluation is not None else {"available": False}
    return {
        "children": int(len(ranking)),
        "opted_out": int(items.opted_out),
        "listed": int(ranking["listed"].sum()),
        "per_type": per_type,
        "listed_supported": int(
            (ranking["listed"] & ranking["support_status"].isin(CURRENTLY_SUPPORTED)).sum()
        ),
        "model": {"available": model is not None, "warning": warning},
        "evaluation": json.loads(json.dumps(figures, ensure_ascii=False, default=str)),
        "types": [hardship.name for hardship in types if hardship.enabled],
    }
