"""An empty 利用者 tab: who is the administrator?

A new workbook has an empty 利用者 tab, and setting it up (checking the settings before any
data is imported) must not need one. But once personal data is involved, an empty tab
must not make everyone a 管理者. So the first user who runs an operation that touches
personal data while the tab is empty is recorded as the administrator: an
``administrator_recorded`` entry in the hash-chained audit log, and a row written into
the 利用者 tab. While the tab stays empty, only that recorded administrator may work; every
other user is refused and told to ask the administrator to register them.
"""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy import Connection, select

from macros_py.governance.access import Access, Operation
from macros_py.governance.vocabulary import ADMINISTRATOR_RECORDED
from macros_py.sheets import ROLES, USERS
from macros_py.store import Store
from macros_py.store.audit_chain import AuditEntry, append_entries, take_write_lock
from macros_py.store.schema import audit_log
from macros_py.store.tables_ingest import records

logger = logging.getLogger(__name__)

ADMIN_ROLE = "admin"


def recorded_administrator(connection: Connection) -> tuple[str, str] | None:
    """(user, when) of the newest ``administrator_recorded`` audit entry, if any."""
    row = connection.execute(
        select(audit_log.c.target, audit_log.c.at)
        .where(audit_log.c.action == ADMINISTRATOR_RECORDED)
        .order_by(audit_log.c.audit_id.desc())
        .limit(1)
    ).first()
    return None if row is None else (str(row.target), f"{row.at:%Y-%m-%d %H:%M}")


def holds_personal_data(connection: Connection) -> bool:
    """Whether any imported record is stored (then an empty 利用者 tab grants nobody everything)."""
    return connection.execute(select(records.c.record_id).limit(1)).first() is not None


def empty_tab_access(store: Store, operation: Operation, user_name: str) -> Access:
    """The role check when the 利用者 tab lists nobody.

    Runs in one transaction under the store's write lock, so two staff starting their
    first run at once cannot both become the recorded administrator.

    Returns:
        Allowed as 管理者 during setup (no personal data involved yet) or for the recorded
        administrator; allowed with ``recorded_administrator`` set when this run records
        the user; refused for anyone else.
    """
    with store.engine.begin() as connection:
        take_write_lock(connection)
        recorded = recorded_administrator(connection)
        if recorded is not None:
            administrator, since = recorded
            if administrator.casefold() == user_name.strip().casefold():
                return Access(True, roles=(ADMIN_ROLE,), recorded_administrator=administrator)
            return Access(
                False,
                reason="not_administrator",
                message=(
                    f"利用者タブにだれも登録されていません。この台帳の管理者は「{administrator}」として"
                    f"記録されています({since})。「{operation.label}」を実行するには、管理者に利用者タブへの"
                    "登録を依頼してください。"
                ),
            )
        if not (operation.touches_personal_data or holds_personal_data(connection)):
            return Access(True, roles=(ADMIN_ROLE,))
        append_entries(
            connection,
            [
                AuditEntry(
                    action=ADMINISTRATOR_RECORDED,
                    user_name=user_name,
                    target=user_name,
                    detail={"operation": operation.id, "reason": "利用者タブが空"},
                )
            ],
        )
    logger.info("the 利用者 tab is empty: %s recorded as administrator", user_name)
    return Access(
        True,
        roles=(ADMIN_ROLE,),
        recorded_administrator=user_name,
        notes=(
            f"利用者タブにだれも登録されていないため、実行した「{user_name}」をこの台帳の管理者として記録し、"
            "利用者タブに登録しました。ほかの職員は、管理者が利用者タブに登録するまで操作できません。",
        ),
    )


def users_table_with_administrator(users_table: pd.DataFrame | None, administrator: str) -> pd.DataFrame:
    """The 利用者 tab with the recorded administrator's row added (other rows, e.g. inactive ones, kept)."""
    row = pd.DataFrame([[administrator, "", ROLES[ADMIN_ROLE], "", "はい"]], columns=USERS.headers)
    if users_table is None or users_table.empty:
        return row
    kept = users_table.reindex(columns=USERS.headers).fillna("")
    kept = kept[(kept != "").any(axis=1)]
    return pd.concat([kept, row], ignore_index=True)
