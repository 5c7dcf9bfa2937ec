"""The common vocabulary: canonical fields every export is mapped to.

Mapping tabs name fields by their Japanese label; code and the store use the English
identifier. Anything a mapping targets that is not listed here is a value field of its
source (for example 欠席日数) and is stored by its Japanese name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CanonicalField:
    """One field of the common vocabulary."""

    label: str  # Japanese label used in mapping tabs and sheets
    identifier: str  # English identifier used in code and the store
    kind: str  # text / date / int / code


CANONICAL_FIELDS: tuple[CanonicalField, ...] = (
    CanonicalField("宛名番号", "resident_id", "text"),
    CanonicalField("世帯番号", "household_id", "text"),
    CanonicalField("氏名", "name", "text"),
    CanonicalField("氏名カナ", "name_kana", "text"),
    CanonicalField("生年月日", "birth_date", "date"),
    CanonicalField("性別", "sex", "code"),
    CanonicalField("住所", "address", "text"),
    CanonicalField("続柄", "relationship", "code"),
    CanonicalField("学校", "school", "text"),
    CanonicalField("学年", "grade", "int"),
    CanonicalField("組", "class_name", "text"),
    CanonicalField("生徒番号", "student_number", "text"),
)

FIELD_BY_LABEL: dict[str, CanonicalField] = {field.label: field for field in CANONICAL_FIELDS}
FIELD_BY_IDENTIFIER: dict[str, CanonicalField] = {field.identifier: field for field in CANONICAL_FIELDS}
LABEL_BY_IDENTIFIER: dict[str, str] = {field.identifier: field.label for field in CANONICAL_FIELDS}

# Canonical values of the coded canonical fields (after code-table translation).
SEX_VALUES: tuple[str, ...] = ("男", "女")

KEY_KINDS: tuple[str, ...] = ("宛名番号", "世帯番号", "なし")
SUBJECT_KINDS: tuple[str, ...] = ("全住民", "児童", "保護者", "世帯員")
UPDATE_RHYTHMS: tuple[str, ...] = ("日次", "週次", "月次", "学期", "年次", "随時")
VALUE_TYPES: tuple[str, ...] = ("文字", "日付", "数値", "コード", "フラグ")
YES_NO: tuple[str, ...] = ("はい", "いいえ")
