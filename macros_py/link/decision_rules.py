"""The automatic / review decision rules of probabilistic matching, as data.

Each rule of the 名寄せルール tab (default ``mappings/link_rules.csv``) names what must
hold for a candidate pair, in terms of named levels of the model's comparisons
(:mod:`macros_py.link.compare`) and of a few checks made while deciding
(:data:`CHECKS`), and what happens when it does not hold:

* ``候補から除外``: the pair is never linked; the record's other candidates stay (the
  twins rule). Applied before the one-to-one assignment.
* ``要確認``: the assigned pair is not linked automatically; it goes to review with the
  rule's Japanese reason. When several rules fail, the first in table order gives the
  reason.

The thresholds are settings, not rules: a pair under the review threshold is not linked
(``一致度が低い``), and one under the auto threshold that passes every rule goes to review
with ``一致度が自動しきい値未満``.

A condition is ``比較 演算子 水準`` terms joined by ``かつ`` (and) and ``または`` (or;
``かつ`` binds first), e.g. ``名 ≥ 読み一致 または 名 = 欠損``. Operators: ``=``,
``≠``, ``≥`` and ``≤`` (also ``!=``, ``>=``, ``<=``, ``≧``, ``≦``). Levels are ordered
from 不一致 upwards; ``≥``/``≤`` never hold for 欠損 (a missing value), which is named
explicitly with ``= 欠損``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from macros_py.config.errors import ConfigError, ConfigErrors
from macros_py.link.compare import MISSING, ComparisonSpec, Level
from macros_py.sheets import LINK_RULES

__all__ = [
    "ASSIGNED",
    "CANDIDATE",
    "CHECKS",
    "DECISIONS",
    "EXCLUDE",
    "HEADERS",
    "REVIEW",
    "Check",
    "LinkRule",
    "LinkRules",
    "Term",
    "default_link_rules",
    "link_rules_from_tab",
    "parse_link_rules",
    "rule_vocabulary",
    "validate_link_rule_tables",
]

HEADERS = ("ルールID", "ルール名", "条件", "満たさないとき", "理由", "説明")
EXCLUDE = "候補から除外"
REVIEW = "要確認"
DECISIONS = (REVIEW, EXCLUDE)
CANDIDATE = "candidate"  # facts known for every candidate pair
ASSIGNED = "assigned"  # facts known only once a record's pair is chosen


@dataclass(frozen=True)
class Check:
    """A name a condition may use, with named levels: a comparison, or a decision check.

    The decision checks (:data:`CHECKS`) are facts about a pair that are not model
    comparisons: twins, the margin over the runner-up, grade against birth date.

    Attributes:
        name: Japanese name used in conditions.
        levels: the named levels, index = level number (-1 = 欠損, unknown).
        stage: :data:`CANDIDATE` or :data:`ASSIGNED` (when it is known).
    """

    name: str
    levels: tuple[Level, ...]
    stage: str

    def number(self, level_name: str) -> int | None:
        """Number of the level called ``level_name`` (name or label; -1 for 欠損), ``None`` if unknown."""
        if level_name == MISSING:
            return -1
        for number, level in enumerate(self.levels):
            if level_name in (level.name, level.label):
                return number
        return None


TWIN = Check("双子", (Level("いない", "いない"), Level("いる", "いる")), CANDIDATE)
MARGIN = Check("次点との差", (Level("不足", "不足"), Level("十分", "十分")), ASSIGNED)
GRADE = Check("学年と生年月日", (Level("合わない", "合わない"), Level("合う", "合う")), ASSIGNED)
CHECKS: tuple[Check, ...] = (TWIN, MARGIN, GRADE)

_OPERATORS = {"=": "=", "==": "=", "≠": "!=", "!=": "!=", "≥": ">=", ">=": ">=", "≧": ">=",
              "≤": "<=", "<=": "<=", "≦": "<="}  # fmt: skip
_TERM = re.compile(r"^(?P<fact>.+?)\s*(?P<op>==|!=|>=|<=|=|≠|≥|≤|≧|≦)\s*(?P<level>.+)$")


def rule_vocabulary(comparisons: Iterable[ComparisonSpec]) -> dict[str, Check]:
    """Names usable in conditions: each comparison (by label and by name) and each check."""
    facts: dict[str, Check] = {}
    for spec in comparisons:
        fact = Check(spec.title, spec.comparison.levels(), CANDIDATE)
        facts.setdefault(spec.title, fact)
        facts.setdefault(spec.name, fact)
    for check in CHECKS:
        facts[check.name] = check
    return facts


@dataclass(frozen=True)
class Term:
    """``fact operator level``: one comparison of a pair's level with a named level."""

    fact: str  # canonical name (the comparison's label or the check's name)
    operator: str  # = != >= <=
    level: int  # -1 = 欠損
    stage: str

    def holds(self, levels: np.ndarray) -> np.ndarray:
        """Where the term holds, given the fact's level per pair."""
        if self.operator == "=":
            return levels == self.level
        if self.operator == "!=":
            return levels != self.level
        if self.operator == ">=":
            return (levels >= self.level) & (levels >= 0)
        return (levels <= self.level) & (levels >= 0)


@dataclass(frozen=True)
class LinkRule:
    """One row of the 名寄せルール tab, parsed.

    Attributes:
        rule_id: identifier (``given``, ``twins`` …).
        name: Japanese name.
        condition: what must hold: any of the groups, each all of its terms.
        decision: :data:`REVIEW` or :data:`EXCLUDE` when the condition does not hold.
        reason: Japanese reason shown to staff.
        text: the condition as written.
    """

    rule_id: str
    name: str
    condition: tuple[tuple[Term, ...], ...]
    decision: str
    reason: str
    text: str

    @property
    def facts(self) -> tuple[str, ...]:
        """The facts the condition reads."""
        return tuple(dict.fromkeys(term.fact for group in self.condition for term in group))

    def holds(self, levels: Mapping[str, np.ndarray], count: int) -> np.ndarray:
        """Where the condition holds, given each fact's levels for ``count`` pairs."""
        out = np.zeros(count, dtype=bool)
        for group in self.condition:
            both = np.ones(count, dtype=bool)
            for term in group:
                # A comparison the model lacks is missing for every pair (欠損).
                values = levels.get(term.fact)
                both &= term.holds(np.full(count, -1, dtype=np.int8) if values is None else values)
            out |= both
        return out


@dataclass(frozen=True)
class LinkRules:
    """The decision rules of one run, in table order."""

    rules: tuple[LinkRule, ...]

    def of(self, decision: str) -> tuple[LinkRule, ...]:
        """The rules with the given decision, in table order."""
        return tuple(rule for rule in self.rules if rule.decision == decision)

    def facts(self, decision: str) -> tuple[str, ...]:
        """Every fact the rules with ``decision`` read."""
        return tuple(dict.fromkeys(fact for rule in self.of(decision) for fact in rule.facts))

    def excluded(self, levels: Mapping[str, np.ndarray], count: int) -> np.ndarray:
        """Pairs that a 候補から除外 rule removes."""
        out = np.zeros(count, dtype=bool)
        for rule in self.of(EXCLUDE):
            out |= ~rule.holds(levels, count)
        return out

    def review_reasons(self, levels: Mapping[str, np.ndarray], count: int) -> np.ndarray:
        """Reason of the first failing 要確認 rule per pair ("" when every rule holds)."""
        reason = np.full(count, "", dtype=object)
        undecided = np.ones(count, dtype=bool)
        for rule in self.of(REVIEW):
            failing = undecided & ~rule.holds(levels, count)
            reason[failing] = rule.reason
            undecided &= ~failing
        return reason


def _normalized(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _parse_condition(text: str, facts: Mapping[str, Check], decision: str) -> tuple:
    """(condition groups, Japanese problem or "")."""
    groups: list[tuple[Term, ...]] = []
    for alternative in re.split(r"\s*(?:または|\|)\s*", _normalized(text)):
        terms: list[Term] = []
        for part in re.split(r"\s*(?:かつ|&)\s*", alternative):
            match = _TERM.match(part)
            if not part or match is None:
                return (
                    (),
                    f"「{part}」を読めません。「名 ≥ 読み一致」のように 比較 演算子 水準 で書いてください。",
                )
            fact_name, operator, level_name = match["fact"].strip(), match["op"], match["level"].strip()
            fact = facts.get(fact_name)
            if fact is None:
                known = "・".join(dict.fromkeys(f.name for f in facts.values()))
                return (), f"「{fact_name}」という比較はありません(使えるもの: {known})。"
            level = fact.number(level_name)
            if level is None:
                names = "・".join([*(lv.name for lv in fact.levels), MISSING])
                return (), f"「{fact.name}」に「{level_name}」という水準はありません(水準: {names})。"
            operator = _OPERATORS[operator]
            if level == -1 and operator in (">=", "<="):
                return (), f"欠損には = か ≠ を使ってください(「{part}」)。"
            if decision == EXCLUDE and fact.stage == ASSIGNED:
                return (
                    (),
                    f"「{fact.name}」は候補を選んだ後に決まるため、「{EXCLUDE}」のルールには使えません。",
                )
            terms.append(Term(fact.name, operator, level, fact.stage))
        groups.append(tuple(terms))
    return tuple(groups), ""


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def parse_link_rules(
    table: pd.DataFrame | None,
    *,
    comparisons: Iterable[ComparisonSpec] | None = None,
    first_row: int = 5,
    sheet: str = LINK_RULES.name,
) -> LinkRules:
    """Parse the 名寄せルール tab (all-text frame with :data:`HEADERS`; blank rows skipped).

    Args:
        table: the harvested tab or the default CSV; row *i* is Excel row ``first_row + i``.
        comparisons: the model's comparisons (the resident model's by default).
        first_row: Excel row of the table's first data row.
        sheet: where the rows come from, as named in messages.

    Returns:
        The rules in table order.

    Raises:
        ConfigErrors: every problem found, each naming 名寄せルール, the row and the column.
    """
    if comparisons is None:
        from macros_py.link.match import resident_model_config

        comparisons = resident_model_config().comparisons
    facts = rule_vocabulary(comparisons)
    if table is None:
        return LinkRules(())
    missing = [header for header in HEADERS[:5] if header not in table.columns]
    if missing:
        raise ConfigErrors([ConfigError(sheet, None, header, "列が見つかりません。") for header in missing])
    rules: list[LinkRule] = []
    errors: list[ConfigError] = []
    seen: set[str] = set()
    for position, (_, row) in enumerate(table.reset_index(drop=True).iterrows()):
        cells = {header: _cell(row.get(header)) for header in HEADERS}
        if not any(cells.values()):
            continue
        excel_row = first_row + position
        row_errors: list[ConfigError] = []

        def error(column: str, message: str, row_errors=row_errors, excel_row=excel_row) -> None:
            row_errors.append(ConfigError(sheet, excel_row, column, message))

        rule_id = cells["ルールID"]
        if not rule_id:
            error("ルールID", "ルールIDが空欄です(例: given)。")
        elif rule_id in seen:
            error("ルールID", f"ルールID「{rule_id}」が重複しています。")
        seen.add(rule_id)
        decision = cells["満たさないとき"]
        if decision not in DECISIONS:
            error(
                "満たさないとき",
                f"「{decision}」は使えません。{'・'.join(DECISIONS)}のどれかを入れてください。",
            )
        condition: tuple = ()
        if not cells["条件"]:
            error("条件", "条件が空欄です(例: 名 ≥ 読み一致 または 名 = 欠損)。")
        else:
            condition, problem = _parse_condition(cells["条件"], facts, decision)
            if problem:
                error("条件", problem)
        if decision == REVIEW and not cells["理由"]:
            error("理由", "要確認のルールには、名寄せ確認タブに出す理由を入れてください。")
        if row_errors:
            errors += row_errors
            continue
        rules.append(LinkRule(rule_id, cells["ルール名"], condition, decision, cells["理由"], cells["条件"]))
    if errors:
        raise ConfigErrors(errors)
    return LinkRules(tuple(rules))


@lru_cache(maxsize=1)
def default_link_rules() -> LinkRules:
    """The rules of ``mappings/link_rules.csv`` (the CSV command and runs without the tab)."""
    from macros_py.config.defaults import read_mapping_csv

    return parse_link_rules(read_mapping_csv("link_rules.csv"), first_row=2, sheet="mappings/link_rules.csv")


def link_rules_from_tab(table: pd.DataFrame | None) -> LinkRules:
    """The rules of a run: the harvested 名寄せルール tab, or the defaults.

    A workbook without the tab (made before it existed), or whose tab has no rows, uses
    ``mappings/link_rules.csv``: deleting every rule must not silently drop the twins
    protection.

    Raises:
        ConfigErrors: a row that cannot be used, naming 名寄せルール, the Excel row and the column.
    """
    if table is None or not any(_cell(value) for value in table.to_numpy(dtype=object).ravel()):
        return default_link_rules()
    return parse_link_rules(table, first_row=LINK_RULES.excel_row(0))


def validate_link_rule_tables(tables: Mapping[str, pd.DataFrame]) -> list[ConfigError]:
    """Problems of the 名寄せルール tab, for the 設定チェック action (none when the tab is absent)."""
    try:
        link_rules_from_tab(tables.get(LINK_RULES.key))
    except ConfigErrors as error:
        return list(error.errors)
    return []
