"""Probabilistic matching of source records to the resident master (基本4情報 + カナ).

The model is data (:data:`RESIDENT_MODEL`): written name and reading are compared
together per name part, so a kanji name and its kana count once; dates tolerate swapped
day/month and single-digit slips; addresses compare 町名+丁目-番地-号. Parameters are
trained without labels on each run (or a saved model is re-used).

The steps of :func:`match_people`, each a function: :func:`score_candidates` (block,
compare, weigh), :func:`apply_source_priors`, :func:`exclude_pairs`,
:func:`assign_records` (one-to-one per source: a resident takes at most one record of a
source; identical duplicate rows of one person share the decision) and
:func:`decide_links`. Which pairs are automatic is data, not code: the rules of the
名寄せルール tab (:mod:`macros_py.link.decision_rules`, default
``mappings/link_rules.csv``; see ``docs/matching-rules.md``) name comparison levels
(birth date agrees or is close with the address agreeing to the 丁目, given name agrees
at least in reading, a changed surname needs the address, margin over the runner-up,
grade consistent with the birth date, twins never merged).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from macros_py.link.arrays import ColumnCodes, isin_codes
from macros_py.link.assign import one_to_one
from macros_py.link.blocking import block_pairs
from macros_py.link.compare import MISSING, compare_pairs, level_labels
from macros_py.link.decision_rules import EXCLUDE, GRADE, MARGIN, REVIEW, TWIN, LinkRules, default_link_rules
from macros_py.link.fellegi_sunter import LinkModel, ModelConfig, shared_probability, train

__all__ = [
    "RESIDENT_MODEL",
    "MatchOptions",
    "birth_cohort",
    "cohort_text",
    "estimate_group_priors",
    "expected_grade",
    "grade_cohort",
    "match_people",
    "resident_model_config",
    "twin_residents",
]

logger = logging.getLogger(__name__)

RESIDENT_MODEL: dict = {
    "comparisons": [
        {
            "name": "surname",
            "column": "surname",
            "kind": "name",
            "near_column": "surname_loose",
            "kana_column": "kana_surname",
            "tf_adjust": True,
            "label": "氏",
        },
        {
            "name": "given",
            "column": "given",
            "kind": "name",
            "near_column": "given_loose",
            "kana_column": "kana_given",
            "tf_adjust": True,
            "label": "名",
        },
        {"name": "birth", "column": "birth", "kind": "date", "label": "生年月日"},
        {"name": "sex", "column": "sex", "kind": "exact", "label": "性別"},
        {"name": "cohort", "column": "cohort", "kind": "exact", "label": "学年(生年度)"},
        {
            "name": "address",
            "column": "address",
            "kind": "address",
            "thresholds": [0.85],
            "near_column": "chome",
            "label": "住所",
        },
    ],
    "blocking": [
        ["birth"],
        ["kana_full"],
        ["surname", "given"],
        ["given", "address"],
        ["kana_given_head", "birth_ym"],
        ["surname", "birth_md"],
        ["household_id"],
        ["surname", "cohort"],
        ["given", "cohort"],
    ],
    "u_sample_pairs": 200000,
    "matches_per_record": 0.95,
    "one_match_per_record": True,
    "max_block_size": 3000,
    "max_partners": 60,
}


def resident_model_config() -> ModelConfig:
    """The default model for resident matching, built from :data:`RESIDENT_MODEL`."""
    return ModelConfig.from_dict(RESIDENT_MODEL)


@dataclass(frozen=True)
class MatchOptions:
    """Thresholds and rules of one matching run (from the 設定 tab)."""

    auto_threshold: float = 0.95
    review_threshold: float = 0.30
    margin_bits: float = 6.0  # the runner-up must be this many bits weaker for 次点との差 = 十分
    reference_date: pd.Timestamp | None = None
    rules: LinkRules | None = None  # the 名寄せルール tab; None = mappings/link_rules.csv


def _school_year(reference_date: pd.Timestamp) -> int:
    return reference_date.year if reference_date.month >= 4 else reference_date.year - 1


def birth_cohort(birth: pd.Series) -> np.ndarray:
    """School cohort of ``YYYYMMDD`` births: born 2 April Y to 1 April Y+1 → Y (NaN if unknown)."""
    codes, uniques = pd.factorize(pd.Series(birth, dtype=object).to_numpy(dtype=object))
    distinct = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(dtype=float)
    numbers = np.append(distinct, np.nan)[codes]
    year, month_day = numbers // 10000, numbers % 10000
    return np.where(month_day >= 402, year, year - 1)


def expected_grade(birth: pd.Series, reference_date: pd.Timestamp) -> np.ndarray:
    """Elementary-style grade (1–9) implied by a ``YYYYMMDD`` birth date (April 2 cut-off).

    Children born 2 April of year Y to 1 April of Y+1 start grade 1 in April of Y+7.
    A junior-high grade g corresponds to elementary-style grade g + 6.
    """
    return _school_year(reference_date) - birth_cohort(birth) - 6


def grade_cohort(grade: pd.Series, school: pd.Series, reference_date: pd.Timestamp) -> pd.Series:
    """Cohort implied by a school grade where the school type is known ("" otherwise)."""
    number = pd.to_numeric(grade, errors="coerce").to_numpy(dtype=float)
    codes, uniques = pd.factorize(school.to_numpy(dtype=object))
    names = [str(v) for v in uniques] + [""]
    junior = np.array(["中学" in v for v in names], dtype=bool)[codes]
    elementary = np.array(["小学" in v for v in names], dtype=bool)[codes]
    style = np.where(junior & (number <= 3), number + 6, np.where(junior | elementary, number, np.nan))
    cohort = _school_year(reference_date) - 6 - style
    return pd.Series(cohort_text(cohort), dtype=object)


def cohort_text(cohort: np.ndarray) -> np.ndarray:
    """Cohort years as text ("" for NaN), converted once per distinct value."""
    codes, uniques = pd.factorize(cohort, use_na_sentinel=True)
    names = np.array([str(int(c)) for c in uniques] + [""], dtype=object)
    return names[codes]


def twin_residents(master: pd.DataFrame) -> np.ndarray:
    """Residents sharing birth date and address (or household) with someone of another given name."""
    if "twin" in master.columns:
        return master["twin"].to_numpy(dtype=bool)
    household = master["household_id"].to_numpy(dtype=object)
    place = np.where(household != "", household, master["address"].to_numpy(dtype=object))
    birth_code, _ = pd.factorize(master["birth"].to_numpy(dtype=object))
    place_code, places = pd.factorize(place)
    given_code, givens = pd.factorize(master["given"].to_numpy(dtype=object))
    kana_code, _ = pd.factorize(master["kana_given"].to_numpy(dtype=object))
    empty_birth = master["birth"].to_numpy(dtype=object) == ""
    valid = ~empty_birth & (place != "")
    # One integer per (birth, place) group and per (given, kana_given) name.
    group = birth_code.astype(np.int64) * (len(places) + 1) + place_code
    name = given_code.astype(np.int64) * (len(givens) + 1) + kana_code
    pairs = pd.DataFrame({"group": group[valid], "name": name[valid]}).drop_duplicates()
    names_per_group = pairs["group"].value_counts()
    twins = np.zeros(len(master), dtype=bool)
    twins[valid] = names_per_group.reindex(group[valid]).to_numpy() > 1
    return twins


def _duplicate_groups(source: pd.DataFrame, groups: np.ndarray) -> np.ndarray:
    """Group id per source row; identical prepared rows of one source (duplicates of one person) share it."""
    columns = {
        c: source[c].to_numpy(dtype=object)
        for c in ("surname", "given", "kana_full", "birth", "sex", "address")
    }
    columns["group"] = groups
    return pd.DataFrame(columns).groupby(list(columns), sort=False).ngroup().to_numpy()


def estimate_group_priors(
    base_weight: np.ndarray,
    left: np.ndarray,
    pair_group: np.ndarray,
    start: np.ndarray,
    seed: int = 42,
    sample_pairs: int = 300_000,
    iterations: int = 30,
) -> np.ndarray:
    """Each group's (source's) share of candidate pairs that are matches, by EM.

    A source whose records reach probabilistic matching mostly because they belong to
    nobody in the register (people living elsewhere, say) must not be treated like a
    school roster where nearly every record has its resident: with a fixed "one match
    per record" prior, a stranger's best look-alike in a big city would be linked. The
    m and u parameters stay fixed; only the prior moves. Large groups are estimated on
    the pairs of a random sample of their records.

    Args:
        base_weight: match weight of each pair without prior (bits).
        left: the pair's source record.
        pair_group: the pair's group.
        start: starting prior per group (share of pairs).
        seed: sampling seed.
        sample_pairs: pairs per group at most.
        iterations: EM steps at most.

    Returns:
        The prior (share of pairs) per group, between 1e-6 and 0.5.
    """
    prior = start.astype(float).copy()
    keep = np.zeros(len(left), dtype=bool)
    generator = np.random.default_rng(seed)
    for group in np.unique(pair_group):
        mine = np.flatnonzero(pair_group == group)
        if len(mine) <= sample_pairs:
            keep[mine] = True
            continue
        records = np.unique(left[mine])
        chosen = generator.choice(
            records, size=max(1, len(records) * sample_pairs // len(mine)), replace=False
        )
        keep[mine[np.isin(left[mine], chosen)]] = True
    base_weight, left, pair_group = base_weight[keep], left[keep], pair_group[keep]
    pairs_per_group = np.bincount(pair_group, minlength=len(prior)).astype(float)
    for _ in range(iterations):
        logits = np.log2(prior / (1 - prior))
        mass = np.bincount(
            pair_group, shared_probability(base_weight + logits[pair_group], left), minlength=len(prior)
        )
        updated = np.where(
            pairs_per_group > 0, np.clip(mass / np.maximum(pairs_per_group, 1), 1e-6, 0.5), prior
        )
        if np.max(np.abs(updated - prior)) < 1e-5:
            prior = updated
            break
        prior = updated
    return prior


def _logit2(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return float(np.log2(p / (1 - p)))


def _details(config, gammas: np.ndarray) -> np.ndarray:
    """Per-field agreement of each pair as JSON text (built column by column, no per-pair loop)."""
    out = np.full(len(gammas), "{", dtype=object)
    for k, spec in enumerate(config.comparisons):
        labels = np.array([MISSING, *level_labels(spec)], dtype=object)
        prefix = ", " if k else ""
        out = out + f'{prefix}"{spec.title}": "' + labels[gammas[:, k].astype(np.int64) + 1] + '"'
    return out + "}"


@dataclass
class CandidatePairs:
    """Candidate pairs of one matching pass and what the steps learn about them.

    Attributes:
        left: source position of each pair.
        right: master position of each pair.
        gammas: comparison levels (pairs × comparisons).
        group: the source (group code) of each pair's record.
        weight: match weight in bits (``-inf`` once excluded).
        probability: match probability (0 once excluded).
    """

    left: np.ndarray
    right: np.ndarray
    gammas: np.ndarray
    group: np.ndarray
    weight: np.ndarray | None = None
    probability: np.ndarray | None = None

    def comparison_levels(self, config: ModelConfig, rows: np.ndarray | slice = slice(None)) -> dict:
        """Levels per comparison (keyed by label and name) of the pairs ``rows``."""
        levels = {}
        for k, spec in enumerate(config.comparisons):
            levels.setdefault(spec.title, self.gammas[rows, k])
            levels.setdefault(spec.name, self.gammas[rows, k])
        return levels


def score_candidates(
    source: pd.DataFrame,
    master: pd.DataFrame,
    *,
    model: LinkModel | None,
    groups: np.ndarray,
    master_codes: ColumnCodes | None,
) -> tuple[CandidatePairs, LinkModel]:
    """Block candidate pairs, compare them and weigh them (training the model when ``None``)."""
    config = model.config if model is not None else resident_model_config()
    candidates = block_pairs(
        source, master, config.blocking, config.max_block_size, config.max_partners, master_codes
    )
    gammas = None
    if model is None:
        model, candidates, gammas = train(config, source, master, candidates, master_codes)
    left, right = candidates
    if gammas is None:
        gammas = compare_pairs(source, master, left, right, config.comparisons, master_codes)
    pairs = CandidatePairs(left, right, gammas, groups[left])
    pairs.weight = model.weights(gammas, model.tf_values(master, right, master_codes))
    return pairs, model


def apply_source_priors(
    pairs: CandidatePairs, *, model: LinkModel, groups: np.ndarray, stats: dict | None
) -> None:
    """Replace the model's prior by each source's own prior (EM over its pairs); set probabilities."""
    config = model.config
    per_group = np.bincount(pairs.group, minlength=int(groups.max(initial=0)) + 1)
    if stats is not None:
        stats["pairs"] = {int(g): int(n) for g, n in enumerate(per_group) if n}
    if config.matches_per_record and len(pairs.left):
        records = np.bincount(groups, minlength=len(per_group))
        start = np.array(
            [
                min(0.5, config.matches_per_record * r / n) if n else 0.5
                for r, n in zip(records, per_group, strict=True)
            ]
        )
        base = pairs.weight - _logit2(model.prior)
        group_prior = estimate_group_priors(base, pairs.left, pairs.group, start, seed=config.seed)
        pairs.weight = base + np.array([_logit2(p) for p in group_prior])[pairs.group]
    pairs.probability = model.probability(pairs.weight)


def exclude_pairs(
    pairs: CandidatePairs,
    master: pd.DataFrame,
    *,
    config: ModelConfig,
    rules: LinkRules,
    forbidden: tuple[np.ndarray, np.ndarray] | set[tuple[int, int]] | None,
    taken: np.ndarray | None,
) -> None:
    """Pairs never to link get weight ``-inf`` and probability 0.

    Those decided 別人 by staff (``forbidden``), residents already linked to another
    record of the same source (``taken``), and pairs a 候補から除外 rule removes (twins).
    """
    left, right = pairs.left, pairs.right
    blocked = np.zeros(len(left), dtype=bool)
    if forbidden is not None and len(forbidden):
        if isinstance(forbidden, set):
            forbidden = (
                np.array([s for s, _ in forbidden], dtype=np.int64),
                np.array([m for _, m in forbidden], dtype=np.int64),
            )
        codes = left.astype(np.int64) * len(master) + right
        # ``blocked`` stays the array created above: masks from pandas may be read-only.
        blocked |= isin_codes(codes, forbidden[0].astype(np.int64) * len(master) + forbidden[1])
    if taken is not None and len(taken):
        blocked |= isin_codes(pairs.group * len(master) + right, taken)
    if rules.of(EXCLUDE):
        levels = pairs.comparison_levels(config)
        if TWIN.name in rules.facts(EXCLUDE):
            levels[TWIN.name] = twin_residents(master)[right].astype(np.int8)
        blocked |= rules.excluded(levels, len(left))
    pairs.weight = np.where(blocked, -np.inf, pairs.weight)
    pairs.probability = np.where(blocked, 0.0, pairs.probability)


def assign_records(
    pairs: CandidatePairs,
    source: pd.DataFrame,
    master: pd.DataFrame,
    *,
    groups: np.ndarray,
    review_threshold: float,
) -> np.ndarray:
    """Chosen pair per record, one-to-one per source (mask over the pairs).

    Duplicate rows of one person compete once: the assignment runs on group
    representatives and every duplicate takes its representative's resident.
    """
    left, right, weight = pairs.left, pairs.right, pairs.weight
    group = _duplicate_groups(source, groups)
    representative = pd.Series(np.arange(len(source))).groupby(group).transform("min").to_numpy()
    is_rep = representative[left] == left
    chosen_rep = one_to_one(
        left[is_rep],
        pairs.group[is_rep].astype(np.int64) * len(master) + right[is_rep],
        weight[is_rep],
        min_score=float(
            np.log2(review_threshold / (1 - review_threshold)) if 0 < review_threshold < 1 else -1e9
        ),
    )
    chosen_mask = np.zeros(len(left), dtype=bool)
    chosen_mask[np.flatnonzero(is_rep)[chosen_rep]] = True
    chosen_rep_frame = pd.DataFrame({"rep": left[chosen_mask], "master": right[chosen_mask]})
    target = np.full(len(source), -2, dtype=np.int64)
    target[chosen_rep_frame["rep"].to_numpy()] = chosen_rep_frame["master"].to_numpy()
    return (target[representative[left]] == right) & np.isfinite(weight)


def grade_levels(
    rows: np.ndarray, right: np.ndarray, master: pd.DataFrame, *, extra: pd.DataFrame | None, reference_date
) -> np.ndarray:
    """:data:`GRADE` level of each chosen pair: 1 合う, 0 合わない, -1 unknown (no grade or birth)."""
    levels = np.full(len(rows), -1, dtype=np.int8)
    if extra is None or "grade" not in extra.columns or reference_date is None:
        return levels
    grade = pd.to_numeric(extra["grade"], errors="coerce").to_numpy(dtype=float)[rows]
    school = extra["school"] if "school" in extra.columns else pd.Series([""] * len(extra))
    school_text = school.to_numpy(dtype=object)[rows]
    elementary = np.array(["小学" in str(v) for v in school_text], dtype=bool)
    expected = expected_grade(master["birth"].iloc[right].reset_index(drop=True), reference_date)
    known = ~np.isnan(grade) & ~np.isnan(expected)
    agrees = (grade == expected) | ((grade == expected - 6) & ~elementary)
    levels[known] = agrees[known]
    return levels


def decide_links(
    pairs: CandidatePairs,
    chosen: np.ndarray,
    source: pd.DataFrame,
    master: pd.DataFrame,
    *,
    config: ModelConfig,
    options: MatchOptions,
    extra: pd.DataFrame | None,
) -> pd.DataFrame:
    """One row per record: the chosen resident, 自動 / 要確認 / 不一致 and the Japanese reason.

    The thresholds come from ``options``; the rules (``options.rules`` or the default
    table) decide which pairs above the auto threshold still go to review, and why.
    """
    rules = options.rules or default_link_rules()
    left, right, weight, probability = pairs.left, pairs.right, pairs.weight, pairs.probability
    # Runner-up: the best other candidate of the same record.
    runner = np.full(len(source), -np.inf)
    np.maximum.at(runner, left[~chosen], weight[~chosen])

    result = pd.DataFrame(
        {
            "master": -1,
            "outcome": "none",
            "probability": 0.0,
            "weight": np.nan,
            "reason": "",
            "detail": "",
        },
        index=pd.RangeIndex(len(source)),
    )
    best_any = np.zeros(len(source))
    np.maximum.at(best_any, left, probability)
    result["probability"] = best_any
    picked = np.flatnonzero(chosen)
    rows = left[picked]
    result.loc[rows, "master"] = right[picked]
    result.loc[rows, "probability"] = probability[picked]
    result.loc[rows, "weight"] = weight[picked]

    levels = pairs.comparison_levels(config, picked)
    facts = rules.facts(REVIEW)
    if TWIN.name in facts:
        levels[TWIN.name] = twin_residents(master)[right[picked]].astype(np.int8)
    if MARGIN.name in facts:
        levels[MARGIN.name] = (weight[picked] - runner[rows] >= options.margin_bits).astype(np.int8)
    if GRADE.name in facts:
        levels[GRADE.name] = grade_levels(
            rows, right[picked], master, extra=extra, reference_date=options.reference_date
        )
    rule_reason = rules.review_reasons(levels, len(picked))
    auto = (probability[picked] >= options.auto_threshold) & (rule_reason == "")
    review = ~auto & (probability[picked] >= options.review_threshold)
    outcome = np.where(auto, "auto", np.where(review, "review", "none"))
    reasons = np.where(auto | (rule_reason != ""), rule_reason, "一致度が自動しきい値未満")
    result.loc[rows, "outcome"] = outcome
    result.loc[rows, "reason"] = np.where(outcome == "none", "一致度が低い", reasons)
    result.loc[result["outcome"] == "none", "master"] = -1
    result.loc[rows, "detail"] = _details(config, pairs.gammas[picked])
    return result


def match_people(
    source: pd.DataFrame,
    master: pd.DataFrame,
    options: MatchOptions,
    *,
    model: LinkModel | None = None,
    extra: pd.DataFrame | None = None,
    forbidden: tuple[np.ndarray, np.ndarray] | set[tuple[int, int]] | None = None,
    groups: np.ndarray | None = None,
    stats: dict | None = None,
    taken: np.ndarray | None = None,
    master_codes: ColumnCodes | None = None,
) -> tuple[pd.DataFrame, LinkModel]:
    """Match prepared source records to prepared master records.

    Steps: :func:`score_candidates` (block, compare, weigh), :func:`apply_source_priors`,
    :func:`exclude_pairs` (staff 別人, residents taken, 候補から除外 rules),
    :func:`assign_records` (one-to-one per source) and :func:`decide_links` (thresholds
    and 要確認 rules).

    Args:
        source: :func:`~macros_py.link.prepare.prepare_people` output of the source.
        master: the same for the resident master.
        options: thresholds and decision rules.
        model: a trained model to re-use; trained without labels when ``None``.
        extra: optional ``school`` and ``grade`` columns aligned with ``source``.
        forbidden: (source position, master position) pairs never to link: decided 別人
            by staff, or a resident already linked to another record of the same source.
        groups: source of each record (integer codes) when several sources are matched
            in one pass: one-to-one assignment, duplicate rows and the prior are per
            group, and the model is trained once over all of them.
        stats: when given, filled with ``pairs`` (candidate pairs per group code).
        taken: codes ``group * len(master) + master position`` of residents already
            linked to another record of that group (source): never candidates again.
        master_codes: ``ColumnCodes(master)`` shared by the calls of one run, so that the
            master's columns are coded once.

    Returns:
        ``(result, model)``: one row per source record with ``master`` (position or -1),
        ``outcome`` (auto/review/none), ``probability``, ``weight``, ``reason`` and
        ``detail`` (JSON text of per-field agreement).
    """
    groups = np.zeros(len(source), dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    rules = options.rules or default_link_rules()
    pairs, model = score_candidates(source, master, model=model, groups=groups, master_codes=master_codes)
    apply_source_priors(pairs, model=model, groups=groups, stats=stats)
    exclude_pairs(pairs, master, config=model.config, rules=rules, forbidden=forbidden, taken=taken)
    chosen = assign_records(pairs, source, master, groups=groups, review_threshold=options.review_threshold)
    result = decide_links(pairs, chosen, source, master, config=model.config, options=options, extra=extra)
    logger.info("matched %d records: %s", len(source), result["outcome"].value_counts().to_dict())
    return result, model
