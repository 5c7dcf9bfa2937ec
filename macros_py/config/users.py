"""The 利用者 tab: who may use the workbook, with which role.

A row gives a Windows account (利用者ID) one role: 管理者, センター職員, SSW, 閲覧者 or
学校. A school's staff see only their own school, so the 学校 role needs the school:
in 所属学校, or written into the role as ``学校:<学校名>``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from macros_py.config.errors import ConfigError
from macros_py.sheets import ROLES, USERS

SCHOOL_ROLE = "school"
_SCHOOL_PREFIXES = (f"{ROLES[SCHOOL_ROLE]}:", f"{ROLES[SCHOOL_ROLE]}\uff1a")  # half- and full-width colon
_ROLE_BY_LABEL = {label: key for key, label in ROLES.items()}


@dataclass(frozen=True)
class UserEntry:
    """One row of the 利用者 tab, typed."""

    user_id: str
    display_name: str
    role: str  # a key of macros_py.sheets.ROLES; "" for a label that is not a role
    role_label: str  # as written in the tab
    school: str  # the school a 学校 user belongs to ("" otherwise)
    active: bool
    excel_row: int


def parse_role(label: str, school_column: str = "") -> tuple[str, str]:
    """(role key, school) of a 役割 cell; ``学校:第一小学校`` carries its school in the role.

    Returns ``("", "")`` for a label that is not a role.
    """
    label = str(label or "").strip()
    for prefix in _SCHOOL_PREFIXES:
        if label.startswith(prefix):
            return SCHOOL_ROLE, label.removeprefix(prefix).strip()
    role = _ROLE_BY_LABEL.get(label, "")
    return role, (str(school_column or "").strip() if role == SCHOOL_ROLE else "")


def _cell(row: pd.Series, column: str) -> str:
    value = row.get(column, "")
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value).strip()


def parse_users(table: pd.DataFrame | None) -> tuple[UserEntry, ...]:
    """Every non-blank row of the 利用者 tab (validation problems are :func:`validate_users`'s job)."""
    if table is None or table.empty:
        return ()
    entries = []
    for index, row in table.reset_index(drop=True).iterrows():
        user_id, label = _cell(row, "利用者ID"), _cell(row, "役割")
        if not user_id and not label:
            continue
        role, school = parse_role(label, _cell(row, "所属学校"))
        entries.append(
            UserEntry(
                user_id=user_id,
                display_name=_cell(row, "氏名"),
                role=role,
                role_label=label,
                school=school,
                active=_cell(row, "有効") != "いいえ",
                excel_row=USERS.excel_row(int(index)),
            )
        )
    return tuple(entries)


def active_users(entries: tuple[UserEntry, ...]) -> tuple[UserEntry, ...]:
    """The rows that grant rights (有効 is not いいえ and an ID is given)."""
    return tuple(entry for entry in entries if entry.active and entry.user_id)


def entries_of(entries: tuple[UserEntry, ...], user_name: str) -> tuple[UserEntry, ...]:
    """The active rows of one Windows account (IDs compare case-insensitively, as Windows does)."""
    wanted = user_name.strip().casefold()
    return tuple(entry for entry in active_users(entries) if entry.user_id.casefold() == wanted)


def validate_users(table: pd.DataFrame) -> list[ConfigError]:
    """Return every problem in the 利用者 tab (unknown role, school missing, duplicate or missing ID)."""
    errors: list[ConfigError] = []
    seen: dict[str, int] = {}
    role_choices = "・".join(ROLES.values())
    for entry in parse_users(table):
        if not entry.user_id:
            errors.append(
                ConfigError(USERS.name, entry.excel_row, "利用者ID", "利用者IDを入力してください。")
            )
        elif entry.user_id.casefold() in seen:
            errors.append(
                ConfigError(
                    USERS.name,
                    entry.excel_row,
                    "利用者ID",
                    f"「{entry.user_id}」は{seen[entry.user_id.casefold()]}行目と重複しています。",
                )
            )
        else:
            seen[entry.user_id.casefold()] = entry.excel_row
        if not entry.role:
            errors.append(
                ConfigError(
                    USERS.name,
                    entry.excel_row,
                    "役割",
                    f"「{entry.role_label}」は役割ではありません。{role_choices}から選んでください"
                    "(学校の人は「学校」を選び、所属学校に学校名を入力します)。",
                )
            )
        elif entry.role == SCHOOL_ROLE and not entry.school:
            errors.append(
                ConfigError(
                    USERS.name,
                    entry.excel_row,
                    "所属学校",
                    "役割が学校の人は、所属学校に学校名を入力してください(その学校のこどもだけを扱えます)。",
                )
            )
    errors.extend(_active_errors(table))
    return errors


def _active_errors(table: pd.DataFrame) -> list[ConfigError]:
    errors = []
    for index, row in table.reset_index(drop=True).iterrows():
        active = _cell(row, "有効")
        if (_cell(row, "利用者ID") or _cell(row, "役割")) and active and active not in {"はい", "いいえ"}:
            errors.append(
                ConfigError(
                    USERS.name, USERS.excel_row(int(index)), "有効", "「はい」か「いいえ」を選んでください。"
                )
            )
    return errors
