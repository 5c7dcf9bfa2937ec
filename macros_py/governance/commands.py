"""The audit commands (``mimamori audit verify`` / ``report``) over a workbook's harvested tables.

The CLI harvests the workbook and calls these; they check the user's role like every
action (a refusal is audited), open the store the 設定 tab names, and write their own
use to the audit log: checking the log and reading who did what are accesses too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from macros_py.config import parse_settings
from macros_py.governance.access import Operation
from macros_py.governance.gate import audit_refusal, check_access
from macros_py.governance.report import access_report, write_report
from macros_py.governance.verify import verify_audit_log
from macros_py.governance.vocabulary import AUDIT_REPORT, AUDIT_VERIFY
from macros_py.sheets import USERS
from macros_py.store import Store, open_store
from macros_py.store.engine import describe_store_error

logger = logging.getLogger(__name__)

EXIT_OK = 0  # the chain is intact / the report was written
EXIT_TAMPERED = 1  # the chain is broken: an entry was edited, deleted or reordered
EXIT_USAGE = 2  # wrong arguments (argparse)
EXIT_CANNOT_CHECK = 3  # workbook or store unreadable, or the user may not run the command

VERIFY = Operation(
    id=AUDIT_VERIFY,
    label="監査ログの検証",
    roles=("admin", "center_staff", "viewer"),
    touches_personal_data=False,
)
REPORT = Operation(id=AUDIT_REPORT, label="アクセス報告の作成", roles=("admin",), touches_personal_data=False)


@dataclass
class CommandOutcome:
    """Exit code, Japanese lines for the terminal and a JSON summary."""

    exit_code: int
    lines: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


def _open(tables: Mapping[str, pd.DataFrame], workbook_dir: Path) -> Store | CommandOutcome:
    try:
        settings = parse_settings(tables["settings"])
        return open_store(settings.store_url_or_path(workbook_dir))
    except Exception as error:  # unreadable settings or store: say so in Japanese
        logger.warning("cannot open the store of %s", workbook_dir, exc_info=True)
        message = (
            describe_store_error(error)
            or "台帳の設定からデータベースを開けませんでした。設定タブの「データベース」を確認してください。"
        )
        return CommandOutcome(EXIT_CANNOT_CHECK, [message], {"ok": False, "error": "store"})


def _gate(
    operation: Operation, tables: Mapping[str, pd.DataFrame], store: Store, user_name: str
) -> CommandOutcome | None:
    access = check_access(operation, tables.get(USERS.key), user_name, store)
    if access.allowed:
        return None
    audit_refusal(store, operation, user_name, access)
    return CommandOutcome(
        EXIT_CANNOT_CHECK, [access.message], {"ok": False, "refused": True, "reason": access.reason}
    )


def verify_command(tables: Mapping[str, pd.DataFrame], workbook_dir: Path, user_name: str) -> CommandOutcome:
    """Check the audit log's chain; exit 0 when intact, 1 naming the first bad entry."""
    store = _open(tables, workbook_dir)
    if isinstance(store, CommandOutcome):
        return store
    try:
        refused = _gate(VERIFY, tables, store, user_name)
        if refused:
            return refused
        check = verify_audit_log(store)
        store.audit(
            user_name,
            AUDIT_VERIFY,
            counts={"entries": check.entries},
            detail={"ok": check.ok, "first_bad": check.first_bad.audit_id if check.first_bad else None},
        )
        return CommandOutcome(EXIT_OK if check.ok else EXIT_TAMPERED, [check.message()], check.as_json())
    finally:
        store.dispose()


def report_command(
    tables: Mapping[str, pd.DataFrame], workbook_dir: Path, user_name: str, *, year: int, out: Path
) -> CommandOutcome:
    """Write the yearly access report for ``year`` to ``out``; exit 0 when written."""
    store = _open(tables, workbook_dir)
    if isinstance(store, CommandOutcome):
        return store
    try:
        refused = _gate(REPORT, tables, store, user_name)
        if refused:
            return refused
        check = verify_audit_log(store)
        sheets = access_report(store, year=year, check=check, made_by=user_name)
        write_report(out, sheets)
        entries = len(sheets["記録一覧"])
        store.audit(
            user_name, AUDIT_REPORT, target=str(year), counts={"entries": entries}, detail={"file": out.name}
        )
        lines = [f"{year}年のアクセス報告を作成しました: {out}(記録 {entries} 件)", check.message()]
        return CommandOutcome(
            EXIT_OK,
            lines,
            {"ok": True, "year": year, "out": str(out), "entries": entries, "chain": check.as_json()},
        )
    finally:
        store.dispose()
