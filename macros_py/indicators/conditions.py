"""The condition language of 判定ルール and 教師データ (docs/dev/SCORING.md §1).

Administrators type conditions such as ``欠席日数 >= 30``, ``受診日 が 空欄`` or
``基準日 - 受診日 <= 1年`` into Excel. A hand-written tokenizer and recursive-descent
parser turn the text into an immutable tree of frozen dataclasses, which is evaluated
over whole columns at once. Nothing is ever handed to ``eval``/``exec``/``compile``:
text that is not in the grammar is a :class:`ConditionError`, so no condition can run code.

Semantics kept deliberately simple (and documented for staff in README
「判定ルールの書き方」): a comparison with a missing value is false; ``空欄`` tests for
missing values; ``not``/``でない`` inverts the result (so ``not (X = 1)`` is true when X
is missing); a bare value used as a condition is true when it is はい, a non-zero number
or a non-blank text other than the usual "no" words.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from macros_py.ingest.mapping import DEFAULT_FALSE_VALUES, DEFAULT_TRUE_VALUES

__all__ = [
    "Condition",
    "ConditionError",
    "Duration",
    "check_condition",
    "parse_condition",
]

# ----------------------------------------------------------------------------- errors


class ConditionError(ValueError):
    """A condition that cannot be parsed or evaluated; ``message`` is Japanese.

    ``position`` is the 0-based index of the offending character in the text as typed
    (``None`` when the whole condition is at fault).
    """

    def __init__(self, message: str, position: int | None = None):
        self.message = message
        self.position = position
        super().__init__(message)


def _where(position: int | None) -> str:
    return "" if position is None else f"({position + 1}文字目)"


class _KindError(Exception):
    """A type rule broken; turned into a ConditionError or a check problem with a position."""


# ----------------------------------------------------------------------------- tree


@dataclass(frozen=True)
class Duration:
    """A calendar duration such as ``1年6か月`` or ``30日`` (weeks are stored as days)."""

    years: int = 0
    months: int = 0
    days: int = 0

    def negated(self) -> Duration:
        return Duration(-self.years, -self.months, -self.days)

    def offset(self) -> pd.DateOffset:
        return pd.DateOffset(years=self.years, months=self.months, days=self.days)


@dataclass(frozen=True)
class Literal:
    kind: str  # number / text / date / duration / flag
    value: object
    position: int


@dataclass(frozen=True)
class FieldRef:
    name: str
    position: int


@dataclass(frozen=True)
class ReferenceDate:
    position: int


@dataclass(frozen=True)
class Negate:
    operand: object
    position: int


@dataclass(frozen=True)
class Arithmetic:
    operator: str  # + / -
    left: object
    right: object
    position: int


@dataclass(frozen=True)
class Comparison:
    operator: str  # = != < <= > >=
    left: object
    right: object
    position: int


@dataclass(frozen=True)
class BlankTest:
    operand: object
    negated: bool
    position: int


@dataclass(frozen=True)
class Not:
    operand: object
    position: int


@dataclass(frozen=True)
class Logical:
    operator: str  # and / or
    operands: tuple
    position: int


@dataclass(frozen=True)
class Always:
    position: int = 0


_BOOLEAN_NODES = (Comparison, BlankTest, Not, Logical, Always)

# ----------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Token:
    kind: str  # op / ( / ) / , / number / text / date / duration / flag / ident / keyword / end
    text: str
    position: int
    value: object = None


_QUOTES = {'"': '"', "「": "」", "“": "”", "『": "』"}
_SYMBOLS = {"≦": "<=", "≤": "<=", "≧": ">=", "≥": ">=", "≠": "!=", "、": ","}
_OPERATORS = {"<=": "<=", ">=": ">=", "!=": "!=", "<>": "!=", "==": "=", "=": "=", "<": "<", ">": ">"}
_WORD = re.compile(r"[\w・.%#/\u3099\u309a]+")  # + combining (half-width) voicing marks
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_ISO_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?![\w.])")
_JAPANESE_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_DURATION = re.compile(
    r"(?:(\d+)年)?(?:(\d+)(?:か月|ヶ月|ケ月|カ月|ヵ月|箇月|ヶ月間))?(?:(\d+)週)?(?:(\d+)日)?"
)
_KEYWORDS = {
    "and": "and",
    "かつ": "and",
    "or": "or",
    "または": "or",
    "not": "not",
    "in": "in",
    "between": "between",
    "でない": "postfix_not",
    "ではない": "postfix_not",
    "が": "ga",
    "空欄": "blank",
    "空欄でない": "not_blank",
}
_SUFFIXES = ("が空欄でない", "が空欄", "空欄でない", "空欄", "ではない", "でない")


def _fold(text: str) -> tuple[str, list[int]]:
    """NFKC-fold ``text`` outside string literals; keep each folded char's original index."""
    folded: list[str] = []
    origins: list[int] = []
    closer: str | None = None
    for index, raw in enumerate(text):
        char = unicodedata.normalize("NFKC", raw)
        if closer is not None:  # inside a string literal: keep the text as typed
            if char == closer:
                closer = None
            else:
                char = raw
        elif char in _QUOTES:
            closer = _QUOTES[char]
        else:
            char = _SYMBOLS.get(char, char)
        folded.extend(char)
        origins.extend([index] * len(char))
    origins.append(len(text))
    return "".join(folded), origins


def _tokenize(text: str) -> list[_Token]:
    folded, origins = _fold(text)
    tokens: list[_Token] = []
    index = 0
    while index < len(folded):
        char = folded[index]
        if char.isspace():
            index += 1
            continue
        token, end = _next_token(folded, index, origins[index])
        tokens.extend(token)
        index = end
    tokens.append(_Token("end", "", len(text)))
    return _split_trailing_ga(tokens)


def _next_token(folded: str, index: int, position: int) -> tuple[list[_Token], int]:
    char = folded[index]
    if char in _QUOTES:
        end = folded.find(_QUOTES[char], index + 1)
        if end < 0:
            raise ConditionError(
                f"文字列の終わりの「{_QUOTES[char]}」がありません{_where(position)}。", position
            )
        value = unicodedata.normalize("NFKC", folded[index + 1 : end]).strip()
        return [_Token("text", folded[index : end + 1], position, value)], end + 1
    if char == "[":
        end = folded.find("]", index + 1)
        name = unicodedata.normalize("NFKC", folded[index + 1 : max(end, index)]).strip()
        if end < 0 or not name:
            raise ConditionError(f"「[」で始めた項目名を「]」で閉じてください{_where(position)}。", position)
        return [_Token("ident", name, position, name)], end + 1
    date = _ISO_DATE.match(folded, index)
    if date:
        return [_date_token(date, position)], date.end()
    for length in (2, 1):
        symbol = folded[index : index + length]
        if symbol in _OPERATORS:
            return [_Token("op", symbol, position, _OPERATORS[symbol])], index + length
    if char in "(),+-":
        return [_Token(char, char, position)], index + 1
    word = _WORD.match(folded, index)
    if word is None:
        raise ConditionError(f"使えない文字「{char}」があります{_where(position)}。", position)
    return _word_tokens(word.group(), position), word.end()


def _date_token(match: re.Match, position: int) -> _Token:
    try:
        value = pd.Timestamp(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise ConditionError(
            f"日付「{match.group()}」は正しくありません{_where(position)}。", position
        ) from None
    return _Token("date", match.group(), position, value)


def _word_tokens(word: str, position: int) -> list[_Token]:
    word = unicodedata.normalize("NFKC", word)  # composes half-width kana with their marks
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix) and word not in _KEYWORDS:
            head = word[: -len(suffix)]
            rest = ["が", suffix[1:]] if suffix.startswith("が") else [suffix]
            tokens = _word_tokens(head, position)
            offset = position + len(head)
            for part in rest:
                tokens.append(_classify(part, offset))
                offset += len(part)
            return tokens
    return [_classify(word, position)]


def _classify(word: str, position: int) -> _Token:
    lowered = word.lower()
    if lowered in _KEYWORDS:
        return _Token("keyword", word, position, _KEYWORDS[lowered])
    if word in ("はい", "いいえ"):
        return _Token("flag", word, position, word == "はい")
    if word == "基準日":
        return _Token("refdate", word, position)
    if _NUMBER.fullmatch(word):
        return _Token("number", word, position, float(word))
    duration = _DURATION.fullmatch(word)
    if duration and any(duration.groups()):
        years, months, weeks, days = (int(group or 0) for group in duration.groups())
        return _Token("duration", word, position, Duration(years, months, weeks * 7 + days))
    japanese_date = _JAPANESE_DATE.fullmatch(word)
    if japanese_date:
        return _date_token(japanese_date, position)
    return _Token("ident", word, position, word)


def _split_trailing_ga(tokens: list[_Token]) -> list[_Token]:
    """``受診日が 空欄``: an identifier ending in が right before 空欄 loses the が."""
    result: list[_Token] = []
    for token, following in zip(tokens, tokens[1:] + [tokens[-1]], strict=True):
        blank_next = following.kind == "keyword" and following.value in ("blank", "not_blank")
        if token.kind == "ident" and blank_next and token.text.endswith("が") and len(token.text) > 1:
            head = token.text[:-1]
            result.append(_Token("ident", head, token.position, head))
            continue
        result.append(token)
    return result


# ----------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over the grammar in the module docstring of SCORING.md §1."""

    def __init__(self, tokens: list[_Token]):
        self.tokens = tokens
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.current
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def at_keyword(self, *values: str) -> bool:
        return self.current.kind == "keyword" and self.current.value in values

    def fail(self, token: _Token | None = None):
        token = token or self.current
        if token.kind == "end":
            raise ConditionError("条件が途中で終わっています(値や「)」が足りません)。", token.position)
        raise ConditionError(
            f"「{token.text}」はここには書けません{_where(token.position)}。", token.position
        )

    def expect(self, kind: str) -> _Token:
        if self.current.kind != kind:
            self.fail()
        return self.advance()

    def parse(self):
        node = self.or_expression()
        if self.current.kind != "end":
            self.fail()
        return node

    def or_expression(self):
        return self._chain("or", self.and_expression)

    def and_expression(self):
        return self._chain("and", self.not_expression)

    def _chain(self, keyword: str, operand: Callable[[], object]):
        position = self.current.position
        operands = [operand()]
        while self.at_keyword(keyword):
            self.advance()
            operands.append(operand())
        return operands[0] if len(operands) == 1 else Logical(keyword, tuple(operands), position)

    def not_expression(self):
        if self.at_keyword("not"):
            token = self.advance()
            return Not(self.not_expression(), token.position)
        node = self.comparison()
        while self.at_keyword("postfix_not"):
            node = Not(node, self.advance().position)
        return node

    def comparison(self):
        left = self.additive()
        token = self.current
        if token.kind == "op":
            self.advance()
            return Comparison(str(token.value), left, self.additive(), token.position)
        if self.at_keyword("not") and self.tokens[self.index + 1].value == "in":
            self.advance()
            return self._membership(left, negated=True)
        if self.at_keyword("in"):
            return self._membership(left, negated=False)
        if self.at_keyword("between"):
            return self._between(left)
        if self.at_keyword("ga", "blank", "not_blank"):
            return self._blank_test(left)
        return left

    def _membership(self, operand, *, negated: bool):
        position = self.advance().position  # "in"
        self.expect("(")
        items = [self.additive()]
        while self.current.kind == ",":
            self.advance()
            items.append(self.additive())
        self.expect(")")
        operator_ = "!=" if negated else "="
        tests = tuple(Comparison(operator_, operand, item, position) for item in items)
        return tests[0] if len(tests) == 1 else Logical("and" if negated else "or", tests, position)

    def _between(self, operand):
        position = self.advance().position
        low = self.additive()
        if not self.at_keyword("and"):
            self.fail()
        self.advance()
        high = self.additive()
        tests = (Comparison(">=", operand, low, position), Comparison("<=", operand, high, position))
        return Logical("and", tests, position)

    def _blank_test(self, operand):
        if self.at_keyword("ga"):
            self.advance()
        token = self.current
        if not self.at_keyword("blank", "not_blank"):
            self.fail()
        self.advance()
        return BlankTest(operand, token.value == "not_blank", token.position)

    def additive(self):
        node = self.primary()
        while self.current.kind in ("+", "-"):
            token = self.advance()
            node = Arithmetic(token.kind, node, self.primary(), token.position)
        return node

    def primary(self):
        token = self.advance()
        if token.kind in ("number", "text", "date", "duration", "flag"):
            return Literal(token.kind, token.value, token.position)
        if token.kind == "ident":
            return FieldRef(str(token.value), token.position)
        if token.kind == "refdate":
            return ReferenceDate(token.position)
        if token.kind == "-":
            return Negate(self.primary(), token.position)
        if token.kind == "(":
            node = self.or_expression()
            if self.current.kind != ")":
                if self.current.kind == "end":
                    raise ConditionError(
                        f"「(」{_where(token.position)}に対応する「)」がありません。", token.position
                    )
                self.fail()
            self.advance()
            return node
        self.fail(token)


def _fields_of(node) -> frozenset[str]:
    if isinstance(node, FieldRef):
        return frozenset({node.name})
    children: list = []
    for name in ("operand", "left", "right"):
        children.append(getattr(node, name, None))
    children.extend(getattr(node, "operands", ()))
    return frozenset().union(*(_fields_of(child) for child in children if child is not None))


# ----------------------------------------------------------------------------- kind rules
# Shared by check_condition (kinds from the mapping) and evaluation (kinds from the data).
# "any" is a field whose kind is unknown (text in the store): it takes the other side's kind.

_KIND_NAMES = {
    "number": "数値",
    "text": "文字",
    "date": "日付",
    "flag": "はい/いいえ",
    "duration": "期間",
    "datediff": "日付の差",
    "bool": "条件",
    "any": "値",
}
_PRIORITY = ("date", "number", "flag", "text")


def _comparison_kind(operator_: str, left: str, right: str) -> str:
    kinds = {left, right}
    if "bool" in kinds:
        raise _KindError("条件の結果をさらに比べることはできません。かつ・またはでつないでください")
    if kinds == {"datediff", "duration"}:
        return "calendar"
    if "duration" in kinds:
        raise _KindError("期間(30日、1年など)は「日付 - 日付」と比べるか、日付に足し引きしてください")
    kinds = {"number" if kind == "datediff" else kind for kind in kinds}
    if "date" in kinds and kinds & {"number", "flag"}:
        raise _KindError(f"日付と{_KIND_NAMES[(kinds - {'date'}).pop()]}は比べられません")
    kind = next((kind for kind in _PRIORITY if kind in kinds), "text")
    if kind == "flag" and operator_ not in ("=", "!="):
        raise _KindError("はい/いいえ は「=」か「!=」で比べてください")
    return kind


def _arithmetic_kind(operator_: str, left: str, right: str) -> str:
    kinds = {left, right}
    if kinds & {"bool", "text", "flag"}:
        bad = next(kind for kind in ("bool", "text", "flag") if kind in kinds)
        raise _KindError(f"{_KIND_NAMES[bad]}は足し算・引き算に使えません")
    if left in ("date", "any") and right in ("date", "any") and "date" in kinds:
        if operator_ == "+":
            raise _KindError("日付どうしは足せません")
        return "datediff"
    if "duration" in kinds:
        other = right if left == "duration" else left
        if other not in ("date", "any") or (left == "duration" and operator_ == "-"):
            raise _KindError("期間(30日など)は「日付 + 期間」「日付 - 期間」の形で使ってください")
        return "date"
    if "date" in kinds:
        raise _KindError("日付に足し引きする日数には単位を付けてください(例: 30日、6か月、1年)")
    return "number"


def _negation_kind(kind: str) -> str:
    if kind in ("number", "duration", "datediff", "any"):
        return "number" if kind == "any" else kind
    raise _KindError(f"{_KIND_NAMES[kind]}に「-」は付けられません")


def _truth_kind(kind: str) -> str:
    if kind in ("duration", "datediff"):
        raise _KindError(f"{_KIND_NAMES[kind]}だけでは条件になりません。比べる相手を書いてください")
    return "bool"


# ----------------------------------------------------------------------------- checking

_FIELD_KINDS = {
    "文字": "text",
    "コード": "text",
    "日付": "date",
    "数値": "number",
    "フラグ": "flag",
    "text": "text",
    "code": "text",
    "date": "date",
    "int": "number",
    "float": "number",
    "number": "number",
    "flag": "flag",
    "bool": "flag",
}


def check_condition(condition: Condition, field_types: Mapping[str, str]) -> list[str]:
    """Japanese problems of ``condition`` given the fields it may use and their types.

    Args:
        condition: a parsed condition.
        field_types: field name → type (文字/日付/数値/コード/フラグ, or text/date/int/
            float/code/flag); other type names mean "unknown" and are not checked.

    Returns:
        One Japanese sentence per problem (unknown field, comparing a date with a number,
        a duration outside date arithmetic, ...), each naming the character position.
    """
    known = {_fold_name(name): kind for name, kind in field_types.items()}
    problems: list[str] = []
    _infer(condition.root, known, problems, boolean=True)
    return problems


def _fold_name(name: str) -> str:
    return unicodedata.normalize("NFKC", str(name)).strip()


def _infer(node, known: Mapping[str, str], problems: list[str], *, boolean: bool = False) -> str:
    try:
        kind = _infer_node(node, known, problems)
        return _truth_kind(kind) if boolean and kind != "bool" else kind
    except _KindError as error:
        problems.append(f"{error}{_where(node.position)}。")
        return "bool" if boolean else "any"


def _infer_node(node, known: Mapping[str, str], problems: list[str]) -> str:
    if isinstance(node, Literal):
        return node.kind
    if isinstance(node, ReferenceDate):
        return "date"
    if isinstance(node, FieldRef):
        if node.name not in known:
            names = "、".join(list(known)[:30]) or "(なし)"
            problems.append(
                f"「{node.name}」という項目はありません{_where(node.position)}。使える項目: {names}"
            )
            return "any"
        return _FIELD_KINDS.get(str(known[node.name]), "any")
    if isinstance(node, Negate):
        return _negation_kind(_infer(node.operand, known, problems))
    if isinstance(node, Arithmetic):
        left, right = _infer(node.left, known, problems), _infer(node.right, known, problems)
        return _arithmetic_kind(node.operator, left, right)
    if isinstance(node, Comparison):
        left, right = _infer(node.left, known, problems), _infer(node.right, known, problems)
        _comparison_kind(node.operator, left, right)
        return "bool"
    if isinstance(node, BlankTest):
        _infer(node.operand, known, problems)
        return "bool"
    if isinstance(node, Not):
        _infer(node.operand, known, problems, boolean=True)
        return "bool"
    if isinstance(node, Logical):
        for operand in node.operands:
            _infer(operand, known, problems, boolean=True)
        return "bool"
    return "bool"  # Always


# ----------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class _Value:
    kind: str
    data: object  # pd.Series (RangeIndex), Duration, or (Series, Series) for datediff


@dataclass(frozen=True)
class _Environment:
    columns: Mapping[str, pd.Series]
    reference_date: pd.Timestamp | None
    length: int
    values: dict[str, _Value] = field(default_factory=dict)  # each column is prepared once

    def broadcast(self, value) -> pd.Series:
        return pd.Series(value, index=pd.RangeIndex(self.length))


_COMPARE: dict[str, Callable] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_TRUE_WORDS = {unicodedata.normalize("NFKC", word).upper() for word in DEFAULT_TRUE_VALUES} | {"TRUE"}
_FALSE_WORDS = {unicodedata.normalize("NFKC", word).upper() for word in DEFAULT_FALSE_VALUES} | {"FALSE"}


def _objects(values) -> np.ndarray:
    """An object array (Arrow-backed indexes convert in one call, not element by element)."""
    return values.to_numpy(dtype=object) if hasattr(values, "to_numpy") else np.asarray(values, dtype=object)


def _by_uniques(series: pd.Series, convert: Callable[[pd.Series], pd.Series], missing) -> pd.Series:
    """Apply ``convert`` to the distinct values only (columns repeat few values), then spread."""
    codes, uniques = pd.factorize(series)
    converted = convert(pd.Series(_objects(uniques), dtype=object))
    values = converted.to_numpy()
    values = np.append(values, np.array([missing], dtype=values.dtype))  # code -1 takes the last
    return pd.Series(values.take(codes), dtype=converted.dtype)


def _fold_values(values: np.ndarray) -> np.ndarray:
    """NFKC-fold and trim each value of an object array; blank and missing become None."""
    folded = np.empty(len(values), dtype=object)
    for index, value in enumerate(values):
        missing = value is None or value is pd.NA or value != value
        folded[index] = None if missing else (unicodedata.normalize("NFKC", str(value)).strip() or None)
    return folded


def _folded_text(series: pd.Series) -> pd.Series:
    """NFKC-folded, trimmed text as a categorical (distinct values folded once); blank is missing."""
    codes, uniques = pd.factorize(series)
    folded_codes, categories = pd.factorize(_fold_values(_objects(uniques)))
    codes = np.append(folded_codes, -1).take(codes)  # code -1 (missing) takes the appended -1
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype=object)))


def _flags(text: pd.Series) -> pd.Series:
    upper = text.str.upper()
    flags = np.where(upper.isin(_TRUE_WORDS), 1.0, np.where(upper.isin(_FALSE_WORDS), 0.0, np.nan))
    return pd.Series(flags, dtype="float64")


def _column_value(series: pd.Series) -> _Value:
    """Give a column its kind; text columns are folded once, kind "any", coerced where used."""
    series = series.reset_index(drop=True)
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _Value("date", series.dt.tz_localize(None) if getattr(dtype, "tz", None) else series)
    if pd.api.types.is_bool_dtype(dtype):
        return _Value("flag", series.astype("Float64").astype("float64"))
    if pd.api.types.is_numeric_dtype(dtype):
        return _Value("number", series.astype("Float64").astype("float64"))
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred in ("datetime", "datetime64", "date"):
        return _Value("date", pd.to_datetime(series, errors="coerce"))
    if inferred == "boolean":
        return _Value("flag", series.map({True: 1.0, False: 0.0}).astype("float64"))
    if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
        return _Value("number", pd.to_numeric(series, errors="coerce").astype("float64"))
    return _Value("any", _folded_text(series))


def _coerce(value: _Value, kind: str) -> pd.Series:
    data = value.data
    if value.kind == "datediff":
        return (data[0] - data[1]).dt.days.astype("float64")
    if value.kind == kind or (kind == "text" and value.kind == "any"):
        return data  # text literals and text columns are folded already
    if kind == "number":
        if value.kind == "flag":
            return data
        return _by_uniques(data, lambda text: pd.to_numeric(text, errors="coerce").astype("float64"), np.nan)
    if kind == "date":
        return _by_uniques(data, lambda text: pd.to_datetime(text, errors="coerce"), np.datetime64("NaT"))
    if kind == "flag":
        if value.kind == "number":
            return (data != 0).astype("float64").mask(data.isna())
        return _by_uniques(data, lambda text: _flags(text.astype("string")), np.nan)
    return _folded_text(data)


def _is_missing(value: _Value) -> np.ndarray:
    if value.kind == "datediff":
        return (value.data[0].isna() | value.data[1].isna()).to_numpy(dtype=bool)
    return value.data.isna().to_numpy(dtype=bool)


def _shifted(dates: pd.Series, duration: Duration, *, sign: int = 1) -> pd.Series:
    """``dates`` plus (or minus) a calendar duration; out-of-range results are refused."""
    try:
        return dates + duration.offset() if sign > 0 else dates - duration.offset()
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime, pd.errors.OutOfBoundsTimedelta):
        raise _KindError("日付の計算が扱える範囲を超えています") from None


_MIRRORED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _text_literal(node) -> str | None:
    return node.value if isinstance(node, Literal) and node.kind == "text" else None


def _categories_against(column: pd.Series, operator_: str, literal: str) -> np.ndarray:
    """Compare a categorical text column with a text literal on its distinct values only."""
    if not literal:
        return np.zeros(len(column), dtype=bool)  # a blank literal is missing: never equal
    compare = _COMPARE[operator_]
    categories = column.cat.categories
    hits = np.array([bool(compare(category, literal)) for category in categories] + [False], dtype=bool)
    return hits.take(column.cat.codes.to_numpy())


def _compare(node: Comparison, left: _Value, right: _Value) -> np.ndarray:
    kind = _comparison_kind(node.operator, left.kind, right.kind)
    compare = _COMPARE[node.operator]
    if kind == "calendar":  # (a - b) op D  <=>  a op b + D, so 1年 and 6か月 follow the calendar
        if left.kind == "datediff":
            (later, earlier), duration = left.data, right.data
            result = compare(later, _shifted(earlier, duration))
        else:
            (later, earlier), duration = right.data, left.data
            result = compare(_shifted(earlier, duration), later)
        valid = ~_is_missing(left if left.kind == "datediff" else right)
        return np.asarray(result.to_numpy(dtype=bool, na_value=False) & valid)
    left_data, right_data = _coerce(left, kind), _coerce(right, kind)
    if kind == "text":
        literal = _text_literal(node.right) if isinstance(left_data.dtype, pd.CategoricalDtype) else None
        if literal is not None:
            return _categories_against(left_data, node.operator, literal)
        mirrored = _text_literal(node.left) if isinstance(right_data.dtype, pd.CategoricalDtype) else None
        if mirrored is not None:
            return _categories_against(right_data, _MIRRORED[node.operator], mirrored)
        left_data, right_data = left_data.astype("string"), right_data.astype("string")
    result = compare(left_data, right_data)
    valid = left_data.notna().to_numpy(dtype=bool) & right_data.notna().to_numpy(dtype=bool)
    return result.to_numpy(dtype=bool, na_value=False) & valid


def _arithmetic(node: Arithmetic, left: _Value, right: _Value) -> _Value:
    kind = _arithmetic_kind(node.operator, left.kind, right.kind)
    if kind == "datediff":
        return _Value("datediff", (_coerce(left, "date"), _coerce(right, "date")))
    if kind == "date":
        date, duration = (left, right) if right.kind == "duration" else (right, left)
        sign = 1 if node.operator == "+" else -1
        return _Value("date", _shifted(_coerce(date, "date"), duration.data, sign=sign))
    left_data, right_data = _coerce(left, "number"), _coerce(right, "number")
    return _Value("number", left_data + right_data if node.operator == "+" else left_data - right_data)


def _truth(value: _Value) -> np.ndarray:
    _truth_kind(value.kind)
    if value.kind == "date":
        return value.data.notna().to_numpy(dtype=bool)
    if value.kind == "number":
        return (value.data.fillna(0) != 0).to_numpy(dtype=bool)
    if value.kind == "flag":
        return (value.data == 1).to_numpy(dtype=bool)
    flags = _coerce(value, "flag")
    present = ~_is_missing(value)
    return np.where(flags.isna().to_numpy(dtype=bool), present, (flags == 1).to_numpy(dtype=bool))


def _evaluate_value_unchecked(node, environment: _Environment) -> _Value:
    if isinstance(node, Literal):
        if node.kind == "duration":
            return _Value("duration", node.value)
        value = {"flag": float(bool(node.value))}.get(node.kind, node.value)
        return _Value(node.kind, environment.broadcast(value))
    if isinstance(node, ReferenceDate):
        if environment.reference_date is None:
            raise ConditionError(f"基準日が決まっていません{_where(node.position)}。", node.position)
        return _Value("date", environment.broadcast(pd.Timestamp(environment.reference_date)))
    if isinstance(node, FieldRef):
        series = environment.columns.get(node.name)
        if series is None:
            message = f"「{node.name}」という項目がありません{_where(node.position)}。"
            raise ConditionError(message, node.position)
        if node.name not in environment.values:
            environment.values[node.name] = _column_value(series)
        return environment.values[node.name]
    if isinstance(node, Negate):
        operand = _evaluate_value(node.operand, environment)
        kind = _negation_kind(operand.kind)
        if kind == "duration":
            return _Value("duration", operand.data.negated())
        if kind == "datediff":
            return _Value("datediff", operand.data[::-1])
        return _Value("number", -_coerce(operand, "number"))
    if isinstance(node, Arithmetic):
        left = _evaluate_value(node.left, environment)
        return _arithmetic(node, left, _evaluate_value(node.right, environment))
    return _Value("bool", _evaluate_bool(node, environment))


def _evaluate_bool_unchecked(node, environment: _Environment) -> np.ndarray:
    if isinstance(node, Always):
        return np.ones(environment.length, dtype=bool)
    if isinstance(node, Comparison):
        left = _evaluate_value(node.left, environment)
        return _compare(node, left, _evaluate_value(node.right, environment))
    if isinstance(node, BlankTest):
        operand = _evaluate_value(node.operand, environment)
        if operand.kind in ("bool", "duration"):  # a condition or a duration is never blank
            missing = np.zeros(environment.length, dtype=bool)
        else:
            missing = _is_missing(operand)
        return ~missing if node.negated else missing
    if isinstance(node, Not):
        return ~_evaluate_bool(node.operand, environment)
    if isinstance(node, Logical):
        combine = np.logical_and if node.operator == "and" else np.logical_or
        result = _evaluate_bool(node.operands[0], environment)
        for operand in node.operands[1:]:
            result = combine(result, _evaluate_bool(operand, environment))
        return result
    value = _evaluate_value(node, environment)
    return value.data if value.kind == "bool" else _truth(value)


def _evaluate_value(node, environment: _Environment) -> _Value:
    try:
        return _evaluate_value_unchecked(node, environment)
    except _KindError as error:
        raise ConditionError(f"{error}{_where(node.position)}。", node.position) from None


def _evaluate_bool(node, environment: _Environment) -> np.ndarray:
    try:
        return _evaluate_bool_unchecked(node, environment)
    except _KindError as error:
        raise ConditionError(f"{error}{_where(node.position)}。", node.position) from None


# ----------------------------------------------------------------------------- public


@dataclass(frozen=True)
class Condition:
    """A parsed condition: the text as typed, the fields it reads and its tree."""

    text: str
    fields: frozenset[str]
    root: object = field(default=Always(), repr=False)

    @property
    def is_always(self) -> bool:
        """True for a blank condition (matches every row)."""
        return isinstance(self.root, Always)

    def evaluate(
        self,
        columns: Mapping[str, pd.Series | np.ndarray],
        *,
        reference_date: pd.Timestamp | None,
        length: int,
    ) -> np.ndarray:
        """Evaluate over whole columns; returns a bool array of ``length``.

        Args:
            columns: field name → values (Series or array of ``length``, aligned by
                position); names are matched after NFKC folding.
            reference_date: the run's 基準日.
            length: number of rows.

        Raises:
            ConditionError: a field is missing or the values' types do not fit.
        """
        prepared: dict[str, pd.Series] = {}
        for name, values in columns.items():
            series = values if isinstance(values, pd.Series) else pd.Series(values)
            if len(series) != length:
                raise ValueError(f"column {name!r} has {len(series)} rows, expected {length}")
            prepared[_fold_name(name)] = series
        environment = _Environment(prepared, reference_date, length)
        return np.asarray(_evaluate_bool(self.root, environment), dtype=bool)


def parse_condition(text: str | None) -> Condition:
    """Parse a condition typed by staff; blank text matches every row.

    Raises:
        ConditionError: with a Japanese message naming the character position.
    """
    text = "" if text is None else str(text)
    if not text.strip():
        return Condition(text=text, fields=frozenset(), root=Always())
    root = _Parser(_tokenize(text)).parse()
    return Condition(text=text, fields=_fields_of(root), root=root)
