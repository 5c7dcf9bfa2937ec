"""Truth evaluation: how well each ranking finds the synthetic children in hardship.

This is the ONLY module that reads the synthetic truth (``truth/persons.csv`` and
``truth/children.csv`` written by :mod:`macros_py.synth.truth`). The scoring engine never
imports it; ``mimamori evaluate`` does, after a ``score`` run.

Rankings of the same children are compared: ``rules`` (the rule method's order),
``model`` (the calibrated probability), ``basic_items`` (the plain count of national basic
items hit) and, for comparison, ``rules_points`` (rule points summed over types). Definitions, all per ranking method:

* Population: the children of the latest score run (``score_children``: residents aged
  0–18 at the reference date, opted-out families already removed); a child of the run
  missing from the truth is left out and counted in ``population["not_in_truth"]``.
* Scores: ``rules`` = :func:`macros_py.score.points.rule_priority` over the run's stored
  type scores (``score_type_scores``): hardship types listed, then the strongest type's
  score against its bar — the order in which the 候補リスト ranks by 点数;
  ``model`` = ``score_results.probability`` (unavailable when the run had no model);
  ``basic_items`` = the number of distinct national basic item numbers (基本項目番号
  1–19 of the run's 判定ルール) among the child's item hits (``score_items``);
  ``rules_points`` = ``score_results.total`` (the rule points the 候補リスト shows, summed
  over types; shown for comparison, it is not the list's order).
* "In the top p %": within each age (whole years at the reference date as the run
  stored it; from the truth's birth date when missing), the ``ceil(n × p / 100)`` highest scores of the ``n`` children of
  that age; ties are broken by 宛名番号 (ascending), and a child whose score is 0 or less
  (or missing) is never in the top, so fewer may be taken than ``ceil(n × p / 100)``.
* ``recall_unknown_at_Xpct``: of the children in hardship whom no service knows
  (``in_hardship = 1`` and ``known_to_services = 0``), the share in the top X %.
* ``recall_at_Xpct``: of all children in hardship, the share in the top X %.
* ``precision_at_Xpct``: of the children in the top X % (all ages pooled), the share in
  hardship. ``None`` when nobody is in the top.
* ``auc``: area under the ROC curve of the score against ``in_hardship`` over the whole
  population (Mann–Whitney with average ranks for ties; a missing score counts as the
  lowest). ``None`` when everybody or nobody is in hardship.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = [
    "METHODS",
    "TOP_PERCENTS",
    "EvaluationError",
    "TruthFolderError",
    "ages_in_years",
    "area_under_curve",
    "compare_methods",
    "evaluate_workbook",
    "format_table",
    "method_metrics",
    "read_latest_run",
    "read_truth",
    "resolve_truth_folder",
    "top_by_age",
]

METHODS: tuple[str, ...] = ("rules", "model", "basic_items", "rules_points")
METHOD_LABELS: Mapping[str, str] = {
    "rules": "判定ルール",
    "model": "統計モデル",
    "basic_items": "基本項目の数",
    "rules_points": "点数の単純合計",
}
TOP_PERCENTS: tuple[int, ...] = (5, 10, 20)
_TRUTH_FILES = ("persons.csv", "children.csv")


class EvaluationError(ValueError):
    """``mimamori evaluate`` cannot run; the message is Japanese and says what to do."""


class TruthFolderError(EvaluationError):
    """The truth folder or one of its files is missing or unreadable (message in Japanese)."""


@dataclass(frozen=True)
class _Truth:
    in_hardship: pd.Series  # bool, index resident_id
    known_to_services: pd.Series  # bool
    birth_date: pd.Series  # datetime64


def resolve_truth_folder(folder: str | Path) -> Path:
    """The folder holding ``persons.csv`` and ``children.csv``: ``folder`` or ``folder/truth``.

    Raises:
        TruthFolderError: neither holds both files.
    """
    folder = Path(folder)
    for candidate in (folder, folder / "truth"):
        if all((candidate / name).is_file() for name in _TRUTH_FILES):
            return candidate
    if not folder.exists():
        raise TruthFolderError(f"正解データのフォルダ「{folder}」が見つかりません。")
    raise TruthFolderError(
        f"正解データのフォルダ「{folder}」(またはその中の truth フォルダ)に persons.csv と children.csv がありません。"
        "mimamori synth または mimamori demo で作った自治体のフォルダを指定してください。"
    )


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise TruthFolderError(f"正解データ「{path}」を読めませんでした({type(error).__name__})。") from error
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise TruthFolderError(f"正解データ「{path}」に列 {', '.join(missing)} がありません。")
    return frame


def read_truth(folder: str | Path) -> pd.DataFrame:
    """Read the synthetic truth of the children, indexed by 宛名番号.

    Args:
        folder: The municipality folder (``synth``/``demo`` output) or its ``truth`` folder.

    Returns:
        Index ``resident_id`` (str); columns ``in_hardship`` and ``known_to_services``
        (bool) and ``birth_date`` (datetime64). Persons without a 宛名番号 are left out.

    Raises:
        TruthFolderError: missing folder, file or column, or unreadable file (Japanese).
    """
    truth_dir = resolve_truth_folder(folder)
    persons = _read_csv(truth_dir / "persons.csv", ("person_id", "resident_id", "birth_date"))
    children = _read_csv(truth_dir / "children.csv", ("person_id", "in_hardship", "known_to_services"))
    merged = children[["person_id", "in_hardship", "known_to_services"]].merge(
        persons[["person_id", "resident_id", "birth_date"]],
        on="person_id",
        how="inner",
        validate="one_to_one",
    )
    merged = merged[merged["resident_id"].str.strip() != ""]
    merged = merged.drop_duplicates("resident_id").set_index("resident_id").sort_index()
    return pd.DataFrame(
        {
            "in_hardship": merged["in_hardship"].astype("int64").astype(bool),
            "known_to_services": merged["known_to_services"].astype("int64").astype(bool),
            "birth_date": pd.to_datetime(merged["birth_date"], errors="coerce"),
        },
        index=merged.index.astype(str),
    )


def ages_in_years(birth_dates: pd.Series, reference_date: pd.Timestamp) -> pd.Series:
    """Whole years of age at ``reference_date`` (the birthday counts); -1 for a missing date."""
    birth = pd.to_datetime(birth_dates)
    years = reference_date.year - birth.dt.year
    before_birthday = (birth.dt.month > reference_date.month) | (
        (birth.dt.month == reference_date.month) & (birth.dt.day > reference_date.day)
    )
    return (years - before_birthday.astype("int64")).fillna(-1).astype("int64")


def top_by_age(scores: pd.Series, ages: pd.Series, percent: int) -> pd.Series:
    """Whether each child is in the top ``percent`` % of its age (see the module docstring).

    Args:
        scores: Ranking score, index resident_id; higher = more concern.
        ages: Age in years, same index.
        percent: Whole percent (5, 10, 20 ...).

    Returns:
        Bool series on the same index.
    """
    frame = pd.DataFrame(
        {
            "score": pd.to_numeric(scores, errors="coerce").astype("float64").to_numpy(),
            "age": ages.reindex(scores.index).to_numpy(),
            "resident_id": scores.index.astype(str),
        }
    )
    frame["sort_score"] = frame["score"].fillna(-np.inf)
    ordered = frame.sort_values(
        ["age", "sort_score", "resident_id"], ascending=[True, False, True], kind="stable"
    )
    position = ordered.groupby("age", sort=False).cumcount().to_numpy()
    group_size = ordered.groupby("age", sort=False)["age"].transform("size").to_numpy()
    quota = (group_size * int(percent) + 99) // 100  # ceil in integers: no float rounding
    chosen = (position < quota) & (ordered["sort_score"].to_numpy() > 0)
    return pd.Series(chosen, index=ordered.index).sort_index().set_axis(scores.index)


def area_under_curve(scores: pd.Series, positive: pd.Series) -> float | None:
    """ROC AUC of ``scores`` against the bool ``positive`` (average ranks for ties).

    A missing score counts as the lowest. ``None`` when one class is empty.
    """
    labels = positive.reindex(scores.index).fillna(False).to_numpy(dtype=bool)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    values = pd.to_numeric(scores, errors="coerce").astype("float64").fillna(-np.inf)
    ranks = values.rank(method="average").to_numpy()
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _share(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def method_metrics(
    scores: pd.Series, ages: pd.Series, in_hardship: pd.Series, known_to_services: pd.Series
) -> dict[str, float | int | None]:
    """All figures of one ranking method (names in the module docstring).

    Args:
        scores: Ranking score per child, index resident_id.
        ages: Age in years per child.
        in_hardship: Truth, bool per child.
        known_to_services: Truth, bool per child.
    """
    hardship = in_hardship.reindex(scores.index).fillna(False).to_numpy(dtype=bool)
    unknown = hardship & ~known_to_services.reindex(scores.index).fillna(False).to_numpy(dtype=bool)
    figures: dict[str, float | int | None] = {}
    for percent in TOP_PERCENTS:
        chosen = top_by_age(scores, ages, percent).to_numpy(dtype=bool)
        figures[f"recall_unknown_at_{percent}pct"] = _share(int((chosen & unknown).sum()), int(unknown.sum()))
        figures[f"precision_at_{percent}pct"] = _share(int((chosen & hardship).sum()), int(chosen.sum()))
        figures[f"recall_at_{percent}pct"] = _share(int((chosen & hardship).sum()), int(hardship.sum()))
        figures[f"listed_at_{percent}pct"] = int(chosen.sum())
    figures["auc"] = area_under_curve(scores, pd.Series(hardship, index=scores.index))
    return figures


def compare_methods(
    scores: pd.DataFrame, truth: pd.DataFrame, *, reference_date: pd.Timestamp
) -> dict[str, object]:
    """Compare the ranking methods of one score run against the truth.

    Args:
        scores: Index resident_id (the run's children); one float column per method in
            :data:`METHODS` (a column that is absent or all missing = method unavailable)
            and optionally ``age`` (the run's age in years; missing ages are counted from
            the truth's birth date).
        truth: :func:`read_truth`'s frame.
        reference_date: The run's 基準日.

    Returns:
        ``{"methods": {method: figures or {"available": False}}, "population": {...}}``.
    """
    present = scores.index.astype(str).isin(truth.index)
    not_in_truth = int((~present).sum())
    if not_in_truth:
        logger.warning("%d children of the run are not in the truth; left out", not_in_truth)
    scores = scores[present].set_axis(scores.index[present].astype(str))
    child_truth = truth.reindex(scores.index)
    ages = ages_in_years(child_truth["birth_date"], reference_date)
    if "age" in scores.columns:
        run_ages = pd.to_numeric(scores["age"], errors="coerce")
        ages = run_ages.fillna(ages).astype("int64")
    methods: dict[str, dict[str, object]] = {}
    for method in METHODS:
        if method not in scores.columns or scores[method].isna().all():
            methods[method] = {"available": False}
            continue
        figures = method_metrics(
            scores[method], ages, child_truth["in_hardship"], child_truth["known_to_services"]
        )
        methods[method] = {"available": True, **figures}
    hardship = child_truth["in_hardship"]
    population = {
        "children": len(scores),
        "in_hardship": int(hardship.sum()),
        "unknown_in_hardship": int((hardship & ~child_truth["known_to_services"]).sum()),
        "not_in_truth": not_in_truth,
        "reference_date": reference_date.date().isoformat(),
    }
    return {"methods": methods, "population": population}


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def format_table(result: Mapping[str, object]) -> str:
    """The comparison as a plain Japanese table for the console."""
    methods: Mapping[str, Mapping[str, object]] = result["methods"]  # type: ignore[assignment]
    population: Mapping[str, object] = result.get("population", {})  # type: ignore[assignment]
    rows: list[tuple[str, str]] = [
        *((f"未把握の困難児の検出率(上位{p}%)", f"recall_unknown_at_{p}pct") for p in TOP_PERCENTS),
        *((f"適合率(上位{p}%)", f"precision_at_{p}pct") for p in TOP_PERCENTS),
        *((f"困難児の検出率(上位{p}%)", f"recall_at_{p}pct") for p in TOP_PERCENTS),
        *((f"上位{p}%の人数", f"listed_at_{p}pct") for p in TOP_PERCENTS),
        ("AUC", "auc"),
    ]
    header = ["指標", *(METHOD_LABELS[method] for method in METHODS)]
    body = []
    for label, key in rows:
        cells = [
            _cell(methods[method].get(key)) if methods[method].get("available") else "(なし)"
            for method in METHODS
        ]
        body.append([label, *cells])
    widths = [max(_display_width(line[column]) for line in [header, *body]) for column in range(len(header))]
    lines = [
        f"正解データとの比較(基準日 {population.get('reference_date', '-')}、"
        f"対象児童 {population.get('children', '-')} 人、困難あり {population.get('in_hardship', '-')} 人、"
        f"うち支援機関が把握していない {population.get('unknown_in_hardship', '-')} 人)",
        "上位X%: 年齢ごとに点数の高い順に X% まで(点数0の児童は含めない)",
    ]
    for line in [header, *body]:
        lines.append("  ".join(_pad(text, width) for text, width in zip(line, widths, strict=True)))
    return "\n".join(lines)


def _display_width(text: str) -> int:
    """Console columns: full-width characters take two."""
    return sum(2 if ord(character) > 0x2E7F else 1 for character in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _display_width(text))


def _basic_item_numbers(rules_json: str) -> dict[str, int]:
    """項目ID -> 基本項目番号 of the enabled rules of a run's stored rules.

    Reads the JSON of ``score.history.encode_config`` (``{"__tuple__": [{"__class__":
    "ItemRule", ...}]}``) or a plain list of rule objects, without parsing conditions.
    """
    rules = json.loads(rules_json or "[]")
    if isinstance(rules, dict):
        rules = rules.get("__tuple__", rules.get("rules", []))
    numbers: dict[str, int] = {}
    for rule in rules:
        item_id = rule.get("item_id", rule.get("項目ID"))
        number = rule.get("basic_item_no", rule.get("基本項目番号"))
        if item_id is not None and number not in (None, "") and rule.get("enabled", True):
            numbers[str(item_id)] = int(number)
    return numbers


def read_latest_run(store) -> tuple[pd.DataFrame, pd.Timestamp, int]:
    """The latest score run's children with their score per method and age.

    Args:
        store: An opened :class:`macros_py.store.Store`.

    Returns:
        (frame indexed by resident_id with columns ``age, rules, model, basic_items``,
        the run's reference date, its run id).

    Raises:
        EvaluationError: the store holds no score run.
    """
    from sqlalchemy import select

    from macros_py.store.tables_score import (
        score_children,
        score_items,
        score_results,
        score_runs,
        score_type_scores,
    )

    with store.engine.connect() as connection:
        run = connection.execute(
            select(score_runs.c.run_id, score_runs.c.reference_date, score_runs.c.rules_json)
            .order_by(score_runs.c.run_id.desc())
            .limit(1)
        ).first()
        if run is None:
            raise EvaluationError(
                "この台帳のデータベースには判定の結果がありません。先に「判定」"
                "(mimamori run score --workbook 台帳)を実行してください。"
            )
        children = pd.read_sql(
            select(score_children.c.resident_id, score_children.c.age).where(
                score_children.c.run_id == run.run_id
            ),
            connection,
        )
        results = pd.read_sql(
            select(score_results.c.resident_id, score_results.c.total, score_results.c.probability).where(
                score_results.c.run_id == run.run_id
            ),
            connection,
        )
        basic_numbers = _basic_item_numbers(run.rules_json)
        hits = pd.read_sql(  # only the basic items' hits: a city run stores about a million rows
            select(score_items.c.resident_id, score_items.c.item_id).where(
                (score_items.c.run_id == run.run_id)
                & score_items.c.hit.is_(True)
                & score_items.c.item_id.in_(sorted(basic_numbers))
            ),
            connection,
        )
        type_scores = pd.read_sql(
            select(score_type_scores).where(score_type_scores.c.run_id == run.run_id), connection
        )
        types_json = connection.execute(
            select(score_runs.c.types_json).where(score_runs.c.run_id == run.run_id)
        ).scalar_one()
    frame = children.astype({"resident_id": str}).drop_duplicates("resident_id").set_index("resident_id")
    results = results.astype({"resident_id": str}).set_index("resident_id")
    frame["rules_points"] = results["total"].reindex(frame.index).astype("float64")
    frame["model"] = results["probability"].reindex(frame.index).astype("float64")
    numbers = hits["item_id"].astype(str).map(basic_numbers)
    basic = hits.assign(number=numbers).dropna(subset=["number"])
    per_child = basic.drop_duplicates(["resident_id", "number"]).groupby("resident_id").size()
    frame["basic_items"] = per_child.reindex(frame.index.astype(str)).fillna(0).astype("float64").to_numpy()
    frame["rules"] = _rule_priority(type_scores, types_json, frame["age"])
    return frame.sort_index(), pd.Timestamp(run.reference_date), int(run.run_id)


def _rule_priority(type_scores: pd.DataFrame, types_json: str, ages: pd.Series) -> pd.Series:
    """rule_priority over the stored type scores; all missing when it cannot be computed."""
    try:
        from macros_py.score.history import decode_config
        from macros_py.score.points import rule_priority

        types = decode_config(types_json)
    except Exception:  # an older run or engine: the method is shown as unavailable
        logger.warning("rule_priority unavailable for this run", exc_info=True)
        return pd.Series(np.nan, index=ages.index)
    rows = type_scores.astype({"resident_id": str})
    names = [hardship.name for hardship in types if hardship.enabled]
    scores = rows.pivot_table(index="resident_id", columns="type_name", values="score", aggfunc="sum")
    scores = scores.reindex(index=ages.index, columns=names).fillna(0.0)
    listed = rows.assign(listed=rows["listed"].astype(bool)).pivot_table(
        index="resident_id", columns="type_name", values="listed", aggfunc="max"
    )
    listed = listed.reindex(index=ages.index, columns=names).fillna(False).astype(bool)
    return rule_priority(scores, listed, types, pd.to_numeric(ages, errors="coerce"))


def evaluate_workbook(workbook_path: str | Path, truth_folder: str | Path) -> dict[str, object]:
    """Compare the latest score run of a workbook's store with the synthetic truth.

    Args:
        workbook_path: The ``.xlsm`` (its 設定 tab says where the store is).
        truth_folder: The municipality folder or its ``truth`` folder.

    Returns:
        :func:`compare_methods`'s result with ``population["run_id"]`` added.

    Raises:
        EvaluationError: missing workbook, store, score run or truth (Japanese message).
    """
    from macros_py.book.harvest import NotOurWorkbook, harvest_workbook
    from macros_py.config.errors import ConfigErrors
    from macros_py.config.settings import Settings, parse_settings
    from macros_py.store import open_store
    from macros_py.store.engine import describe_store_error

    workbook_path = Path(workbook_path)
    truth = read_truth(truth_folder)
    if not workbook_path.is_file():
        raise EvaluationError(f"台帳ファイル「{workbook_path}」が見つかりません。")
    try:
        tables = harvest_workbook(workbook_path)
    except NotOurWorkbook as error:
        raise EvaluationError(str(error)) from error
    try:
        settings = parse_settings(tables["settings"])
    except (ConfigErrors, KeyError):
        settings = Settings()
    location = settings.store_url_or_path(workbook_path.parent.resolve())
    if "://" not in location and not Path(location).is_file():
        raise EvaluationError(
            f"台帳のデータベース「{location}」がありません。先に取込・名寄せ・判定を実行してください。"
        )
    try:
        store = open_store(location)
    except Exception as error:
        message = describe_store_error(error)
        if message is None:
            raise
        raise EvaluationError(message) from error
    try:
        scores, reference_date, run_id = read_latest_run(store)
    finally:
        store.dispose()
    result = compare_methods(scores, truth, reference_date=reference_date)
    result["population"] = {"run_id": run_id, **result["population"]}  # type: ignore[dict-item]
    return result
