"""The ``score`` action (判定): items, scores, model, evaluation, 候補リスト and 履歴.

Nothing is written to the store before every step has succeeded; the run (its inputs,
rules, types, settings, model and results) is then stored in one transaction. Children
of families who opted out never reach this module (``compute_items`` drops them).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

import pandas as pd

from macros_py.actions import ActionContext, ActionResult
from macros_py.link.query import latest_run_id as latest_link_run
from macros_py.plugins import load_plugins
from macros_py.score.history import history_rows, inputs_fingerprint, write_run
from macros_py.score.pipeline import (
    coefficient_rows,
    fit_step,
    list_run,
    parse_score_config,
    stored_run,
    summary_of,
)
from macros_py.sheets import CANDIDATES, COEFFICIENTS, LOG, MODEL_EVALUATION, SCORE_HISTORY

__all__ = ["score_action"]

logger = logging.getLogger(__name__)


def _log_row(user: str, kind: str, text: str) -> dict:
    return {
        "日時": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "利用者": user,
        "操作": "score",
        "区分": kind,
        "内容": text,
    }


def _items_step(context: ActionContext, config, plugins):
    from macros_py.indicators.compute import compute_items

    return compute_items(
        context.store,
        rules=config.rules,
        mapping=config.mapping,
        reference_date=context.reference_date(),
        resident_source_id=context.settings.resident_source_id,
        plugins=plugins,
    )


def _support_step(context: ActionContext, config, items) -> pd.Series:
    from macros_py.score.labels import support_status

    status = support_status(
        context.store,
        label_sources=config.label_sources,
        children=items.children,
        mapping=config.mapping,
        reference_date=context.reference_date(),
    )
    status.index = status.index.astype(str)
    return status


def _earlier_step(context: ActionContext, config, model):
    """The earlier extract for temporal validation, or ``(None, Japanese reason)``.

    Skipped without a current model (nothing to compare against). A failure here is
    logged and reported as a reason: temporal validation never costs staff their list.
    """
    from macros_py.score.temporal import EarlierUnavailable, earlier_extract

    if model is None:
        return None, None
    try:
        earlier = earlier_extract(
            context.store,
            config=config,
            resident_source_id=context.settings.resident_source_id,
            opt_out_source_id=OPT_OUT_SOURCE,
        )
    except Exception:  # reported in Japanese below; the traceback goes to mimamori.log
        logger.exception("temporal validation: rebuilding the earlier extract failed")
        return None, TEMPORAL_FAILED
    if isinstance(earlier, EarlierUnavailable):
        return None, earlier.reason
    return earlier, None


def _evaluation_step(features, support, items, model, listing, rules, earlier=(None, None)):
    from macros_py.score.evaluation import evaluate
    from macros_py.score.features import feature_labels

    labels = support.reindex(features.index).fillna("") != ""
    children = items.children.copy()
    children.index = children.index.astype(str)
    return evaluate(
        features,
        labels,
        pd.to_numeric(children["age"], errors="coerce").reindex(features.index),
        children.reindex(features.index),
        seed=0,
        model=model,
        listed=listing.ranking["listed"].reindex(features.index),
        names={**{rule.item_id: rule.name for rule in rules}, **feature_labels(features.columns, rules)},
        rule_points=_rule_points(items.hits, rules).reindex(features.index),
        earlier=earlier[0],
        earlier_reason=earlier[1],
    )


def _opted_out_ids(context: ActionContext, config) -> list[str]:
    """Children named on a current 不同意書 (to purge earlier runs; never written anywhere)."""
    from macros_py.indicators.records import linked_source_records

    if not any(source.source_id == OPT_OUT_SOURCE for source in config.mapping.sources):
        return []
    records = linked_source_records(context.store, OPT_OUT_SOURCE, mapping=config.mapping, fields=[])
    return sorted(set(records["resident_id"].dropna().astype(str)))


def _coefficients(model, features, items, rules) -> pd.DataFrame:
    from macros_py.score.features import feature_presence

    presence = feature_presence(items, features) if model is not None else None
    return coefficient_rows(model, features, rules, presence)


def _rule_points(hits: pd.DataFrame, rules) -> pd.DataFrame:
    """Points each hit item gave each child under the 判定ルール, summed over hardship types."""
    scoring = [rule for rule in rules if rule.enabled and rule.item_id in hits.columns and rule.points]
    points = {
        rule.item_id: hits[rule.item_id].fillna(False).astype(float) * sum(rule.points.values())
        for rule in scoring
    }
    frame = pd.DataFrame(points, index=hits.index)
    frame.index = frame.index.astype(str)
    return frame


def _counts_text(summary: dict, seconds: float) -> str:
    per_type = "・".join(f"{name} {count}" for name, count in summary["per_type"].items() if count)
    auc = summary["evaluation"].get("auc_cv")
    model = f"/ モデルAUC {auc:.2f}" if isinstance(auc, float) else "/ モデルなし"
    return (
        f"候補 {summary['listed']} 人({per_type or '類型別 0'})/ 対象児童 {summary['children']} 人 {model}"
        f"({seconds:.1f}秒)"
    )


def _log_rows(user: str, summary: dict, evaluation, warning, plugins, history, counts) -> pd.DataFrame:
    rows = [_log_row(user, "警告", warning)] if warning else []
    rows += [_log_row(user, "警告", text) for text in (evaluation.warnings if evaluation is not None else ())]
    rows += [_log_row(user, "エラー", problem.as_japanese()) for problem in plugins.problems]
    if summary["opted_out"]:
        rows.append(
            _log_row(
                user, "情報", f"不同意書の出ている世帯の児童 {summary['opted_out']} 人は対象から除きました。"
            )
        )
    rows += _temporal_log_rows(user, summary["evaluation"].get("temporal"))
    if history.empty:
        rows.append(
            _log_row(user, "情報", "履歴タブ: 前回の判定と比べた変化はありません(初回の判定か、変化なし)。")
        )
    else:
        changes = history["変化"].value_counts()
        text = "・".join(f"{kind} {count} 人" for kind, count in changes.items())
        rows.append(_log_row(user, "情報", f"履歴タブ: 前回の判定からの変化 {text}。"))
    rows.append(_log_row(user, "情報", counts))
    return pd.DataFrame(rows, columns=LOG.headers)


def _temporal_log_rows(user: str, temporal: dict | None) -> list[dict]:
    if not temporal or not temporal.get("available"):
        return []
    newly = temporal["newly_labelled"]
    found = temporal["newly_found_earlier_list"]["10"]
    since = f"時系列検証: 前回の抽出({temporal['earlier_reference_date']}時点)のあと"
    if newly == 0:
        text = f"{since}新たに支援につながった児童はいません(モデル評価タブ)。"
    else:
        text = (
            f"{since}新たに支援につながった児童 {newly} 人のうち、"
            f"前回の候補(各年齢の上位10%)に入っていた児童は {found} 人です(モデル評価タブ)。"
        )
    return [_log_row(user, "情報", text)]


def _plugin_model_step(plugins, features, support, items):
    """Plugin models (register_models) evaluated out-of-fold beside the built-in one (E's wiring)."""
    from macros_py.score.plugin_models import evaluate_plugin_models

    labels = support.reindex(features.index).fillna("") != ""
    ages = pd.to_numeric(items.children["age"], errors="coerce").set_axis(items.children.index.astype(str))
    return evaluate_plugin_models(plugins, features, labels, ages, seed=0)


OPT_OUT_SOURCE = "opt_out"  # the 不同意書 source (compute_items' default)
TEMPORAL_FAILED = (
    "前回の抽出を計算し直す途中で予期しないエラーが起きたため、時系列検証は行いませんでした"
    "(候補リストには影響ありません。詳しくは mimamori.log を見てください)。"
)
NOT_LINKED = (
    "名寄せがまだ実行されていないため、判定できません(データベースには何も記録していません)。"
    "「取込」と「名寄せ」を実行してから、もう一度「判定」を押してください。"
)


def _no_children(resident_source_id: str) -> str:
    return (
        f"対象の児童(基準日に0〜18歳の住民)が住民記録(ソースID「{resident_source_id}」)にいないため、"
        "判定できません(データベースには何も記録していません)。住民記録を取り込み、設定タブの基準日を確かめてください。"
    )


def _refused(user: str, message: str) -> ActionResult:
    log = pd.DataFrame([_log_row(user, "エラー", message)], columns=LOG.headers)
    return ActionResult("score", False, summary={"listed": 0}, tables={LOG.key: log}, messages=[message])


def score_action(context: ActionContext) -> ActionResult:
    """Action ``score`` (判定): rank the children and write the 候補リスト, モデル評価, 係数 and 履歴 tabs.

    Raises:
        ConfigErrors: a tab the run reads is wrong (``run_action`` shows them in Japanese).
    """
    started = time.perf_counter()
    user = context.user_name
    config = parse_score_config(context.tables, context.settings)
    if latest_link_run(context.store) is None:
        return _refused(user, NOT_LINKED)
    plugins = load_plugins(context.settings.plugins_path(context.workbook_dir))
    items = _items_step(context, config, plugins)
    if len(items.children) == 0:
        return _refused(user, _no_children(context.settings.resident_source_id))
    support = _support_step(context, config, items)
    model, features, warning = fit_step(items, support, config=config)
    run = stored_run(items, support, config=config, reference_date=context.reference_date(), model=model)
    listing = list_run(run, rules=config.rules, types=config.types, model=model)
    earlier = _earlier_step(context, config, model)
    evaluation = _evaluation_step(features, support, items, model, listing, config.rules, earlier)
    summary = summary_of(
        listing, types=config.types, evaluation=evaluation, items=items, model=model, warning=warning
    )
    plugin_models = _plugin_model_step(plugins, features, support, items)
    summary["evaluation"]["plugin_models"] = plugin_models.summary
    fingerprint = inputs_fingerprint(
        children=run.children,
        hits=run.hits,
        values=run.values,
        support=run.support,
        texts=[run.rules_json, run.types_json, str(sorted(run.settings.items())), run.reference_date],
    )
    history = history_rows(
        context.store,
        listing.ranking.join(run.children[["name", "age", "school"]]),
        sharp_rise=config.sharp_rise,
    )
    tables = {
        CANDIDATES.key: listing.candidates,
        MODEL_EVALUATION.key: pd.concat(
            [frame for frame in (evaluation.rows, plugin_models.rows) if not frame.empty]
            or [evaluation.rows],
            ignore_index=True,
        ).reindex(columns=MODEL_EVALUATION.headers),
        COEFFICIENTS.key: _coefficients(model, features, items, config.rules),
        SCORE_HISTORY.key: history,
    }
    summary.update({"inputs_fingerprint": fingerprint, "history": history["変化"].value_counts().to_dict()})
    # Stored last: a run that failed before this point leaves nothing in the store.
    summary["run_id"] = write_run(
        context.store,
        run,
        user_name=user,
        fingerprint=fingerprint,
        listing=listing,
        summary=summary,
        opted_out_ids=_opted_out_ids(context, config),
    )
    counts = _counts_text(summary, time.perf_counter() - started)
    messages = [counts] + ([warning] if warning else [])
    return ActionResult(
        "score",
        True,
        summary=summary,
        tables={**tables, LOG.key: _log_rows(user, summary, evaluation, warning, plugins, history, counts)},
        messages=messages,
        counts=counts,
        warnings=[warning, *evaluation.warnings] if warning else list(evaluation.warnings),
    )
