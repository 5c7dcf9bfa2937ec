"""The gate every operation passes: the role check, and the audit entry of a refusal."""

from __future__ import annotations

import logging

import pandas as pd

from macros_py.config.users import active_users, parse_users
from macros_py.governance.access import Access, Operation, role_access
from macros_py.governance.administrator import empty_tab_access
from macros_py.governance.vocabulary import REFUSED
from macros_py.store import Store

logger = logging.getLogger(__name__)


def check_access(
    operation: Operation, users_table: pd.DataFrame | None, user_name: str, store: Store
) -> Access:
    """The role check of one operation; an empty 利用者 tab asks the store (recorded administrator).

    Args:
        operation: What is about to run.
        users_table: The harvested 利用者 tab (``None`` when not read).
        user_name: The Windows account running it.
        store: The opened store (an empty tab may record the administrator in it).
    """
    users = parse_users(users_table)
    if active_users(users):
        return role_access(operation, users, user_name)
    return empty_tab_access(store, operation, user_name)


def audit_refusal(store: Store, operation: Operation, user_name: str, access: Access) -> None:
    """Write a refused operation to the audit log (a failure to write is logged, not raised)."""
    try:
        store.audit(
            user_name,
            REFUSED,
            target=operation.id,
            detail={
                "label": operation.label,
                "reason": access.reason,
                "roles": list(access.roles),
                "allowed_roles": list(operation.roles),
            },
        )
    except Exception:
        logger.exception("cannot audit the refusal of %s for %s", operation.id, user_name)
