"""The role check every action (and every audit command) passes before it runs.

The 利用者 tab grants rights: a user may run an operation when one of their active rows
has a role the operation allows. Refusals are explained in Japanese. When the tab lists
nobody, :mod:`macros_py.governance.administrator` decides (never "everyone is 管理者"
once the store holds personal data).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from macros_py.config.users import UserEntry, active_users, entries_of
from macros_py.sheets import ROLES


@dataclass(frozen=True)
class Operation:
    """What is about to run, as the role check sees it."""

    id: str
    label: str  # Japanese, as staff know it (the button's label)
    roles: tuple[str, ...]  # keys of macros_py.sheets.ROLES allowed to run it
    touches_personal_data: bool  # reads or writes the store or the exports folder


@dataclass(frozen=True)
class Access:
    """The outcome of the role check."""

    allowed: bool
    roles: tuple[str, ...] = ()  # the roles the user holds (keys of ROLES)
    schools: tuple[str, ...] = ()  # schools of the user's 学校 rows
    reason: str = ""  # refusal reason id for the audit log: not_listed / role / not_administrator
    message: str = ""  # Japanese explanation of a refusal (or of a recorded administrator)
    recorded_administrator: str | None = None  # set when this run recorded the user as 管理者
    notes: tuple[str, ...] = field(default=())  # Japanese notes for staff on an allowed run


def _labels(roles: tuple[str, ...]) -> str:
    return "・".join(ROLES.get(role, role) for role in roles)


def role_access(operation: Operation, users: tuple[UserEntry, ...], user_name: str) -> Access:
    """Whether ``user_name`` may run ``operation`` under a 利用者 tab that lists somebody.

    Args:
        operation: The operation about to run.
        users: The parsed 利用者 tab; at least one active row.
        user_name: The Windows account running it.

    Returns:
        ``Access`` with the user's roles; refusals carry a Japanese message.
    """
    if not active_users(users):
        raise ValueError("role_access needs a 利用者 tab that lists somebody")
    mine = entries_of(users, user_name)
    roles = tuple(dict.fromkeys(entry.role for entry in mine if entry.role))
    schools = tuple(dict.fromkeys(entry.school for entry in mine if entry.school))
    if not mine:
        return Access(
            False,
            reason="not_listed",
            message=(
                f"利用者「{user_name}」は利用者タブに登録されていない(または有効が「いいえ」の)ため、"
                f"「{operation.label}」を実行する権限がありません。管理者に利用者タブへの登録を依頼してください。"
            ),
        )
    if not set(roles) & set(operation.roles):
        return Access(
            False,
            roles=roles,
            schools=schools,
            reason="role",
            message=(
                f"利用者「{user_name}」(役割: {_labels(roles) or 'なし'})には「{operation.label}」を実行する"
                f"権限がありません(実行できる役割: {_labels(operation.roles)})。"
                "必要な場合は管理者に役割の変更を依頼してください。"
            ),
        )
    return Access(True, roles=roles, schools=schools)
