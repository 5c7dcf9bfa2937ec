"""Staff decisions a run stored: one audit entry each.

The 名寄せ action stores the 判定 staff typed on 名寄せ確認 and the 取消 on 名寄せ判定 as
``crosswalk`` rows in its own transaction. The runner notes the newest crosswalk row
before an action and audits every staff row after it, so any action that stores
decisions is covered without auditing code inside it. An entry names the decision by its
判定ID, source and kind (同一/別人/取消), never by the person's 宛名番号 or record key.
"""

from __future__ import annotations

from sqlalchemy import func, select

from macros_py.governance.vocabulary import LINK_DECISION
from macros_py.link.crosswalk import AUTO_CONFIRMED_BY
from macros_py.link.decisions_tab import decision_id
from macros_py.store import Store
from macros_py.store.audit_chain import AuditEntry
from macros_py.store.tables_link import crosswalk


def decision_watermark(store: Store) -> int:
    """The newest crosswalk row's number (0 when none)."""
    with store.engine.connect() as connection:
        return int(connection.execute(select(func.max(crosswalk.c.crosswalk_id))).scalar() or 0)


def decision_entries(store: Store, since: int) -> list[AuditEntry]:
    """Audit entries for the staff decisions stored after crosswalk row ``since``, oldest first."""
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(
                crosswalk.c.crosswalk_id, crosswalk.c.source_id, crosswalk.c.decision, crosswalk.c.decided_by
            )
            .where(crosswalk.c.crosswalk_id > since, crosswalk.c.decided_by != AUTO_CONFIRMED_BY)
            .order_by(crosswalk.c.crosswalk_id)
        ).all()
    return [
        AuditEntry(
            action=LINK_DECISION,
            user_name=row.decided_by,
            target=decision_id(row.crosswalk_id),
            detail={"source_id": row.source_id, "decision": row.decision},
        )
        for row in rows
    ]
