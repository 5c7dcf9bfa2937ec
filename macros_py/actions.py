"""The action registry: the one list of what the workbook's buttons and the CLI can do.

Each :class:`ActionSpec` generates a button on the 操作 tab, a ``Public Sub`` in the
VBA ``Buttons`` module, a ``mimamori run`` subcommand and a line in the README's action
list. Action functions take an :class:`ActionContext` and return an
:class:`ActionResult`; they never touch a workbook directly.
"""

from __future__ import annotations

import getpass
import importlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import insert, update

from macros_py.config import ConfigErrors, Settings, parse_settings
from macros_py.config.users import active_users, entries_of, parse_users
from macros_py.failures import error_detail, unexpected_error_message
from macros_py.governance.access import Access, Operation, role_access
from macros_py.governance.administrator import users_table_with_administrator
from macros_py.governance.decisions import decision_entries, decision_watermark
from macros_py.governance.gate import audit_refusal, check_access
from macros_py.governance.settings_history import record_settings
from macros_py.governance.vocabulary import RUN
from macros_py.sheets import ROLES, SHEET_BY_KEY, USERS
from macros_py.store import Store, open_store
from macros_py.store.audit_chain import AuditEntry, read_head
from macros_py.store.engine import describe_store_error
from macros_py.store.schema import action_runs

logger = logging.getLogger(__name__)

_ACTION_ID = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


@dataclass
class ActionContext:
    """Everything an action may read: harvested settings tables, the store, the user."""

    tables: Mapping[str, pd.DataFrame]  # sheet key -> harvested table (settings and review tabs)
    workbook_dir: Path
    user_name: str = field(default_factory=getpass.getuser)

    @cached_property
    def settings(self) -> Settings:
        return parse_settings(self.tables["settings"])

    @cached_property
    def store(self) -> Store:
        return open_store(self.settings.store_url_or_path(self.workbook_dir))

    def reference_date(self) -> pd.Timestamp:
        """The 基準日 setting, or today."""
        if self.settings.reference_date:
            return pd.Timestamp(self.settings.reference_date)
        return pd.Timestamp(datetime.now().date())


@dataclass
class ActionResult:
    """What an action did: a JSON summary, tables to write back, messages for staff."""

    action: str
    ok: bool
    summary: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # sheet key -> table to write
    messages: list[str] = field(default_factory=list)  # Japanese, shown to staff
    counts: str = ""  # one-line Japanese count summary for the status area
    # Japanese warnings for the 操作 tab's 警告 column; None = not classified (the status
    # area then falls back to the messages the action's log marks 警告/エラー).
    warnings: list[str] | None = None
    error_detail: str = ""  # technical text of a failure (log file and run record only, never staff)

    def to_json(self) -> dict[str, Any]:
        """The machine-readable summary printed by ``mimamori run ... --json``."""
        return {"action": self.action, "ok": self.ok, **self.summary, "messages": list(self.messages)}


ActionFunction = Callable[[ActionContext], ActionResult]


@dataclass(frozen=True)
class ActionSpec:
    """One action: identity, label, who may run it, and what it reads and writes."""

    id: str  # ASCII identifier, used as VBA Sub name suffix and CLI subcommand
    label: str  # Japanese button label
    roles: tuple[str, ...]  # keys of macros_py.sheets.ROLES
    reads: tuple[str, ...]  # sheet keys harvested (plus "store", "exports")
    writes: tuple[str, ...]  # sheet keys written back (plus "store")
    function_path: str  # "module:function", imported on use so the registry stays light
    description: str  # Japanese, one sentence, for the README and the 操作 tab

    @property
    def vba_sub_name(self) -> str:
        return f"Run_{self.id}"

    def load_function(self) -> ActionFunction:
        module_name, function_name = self.function_path.split(":")
        return getattr(importlib.import_module(module_name), function_name)


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        id="check_settings",
        label="設定チェック",
        roles=("admin", "center_staff"),
        reads=("settings", "sources", "column_mappings", "code_tables", "users"),
        writes=("log",),
        function_path="macros_py.config.check:check_settings_action",
        description="設定タブ(設定・取込設定・項目マッピング・コード表・利用者)の入力内容を検査します。",
    ),
    ActionSpec(
        id="import",
        label="取込",
        roles=("admin", "center_staff"),
        reads=("settings", "sources", "column_mappings", "code_tables", "exports"),
        writes=("import_errors", "quality_report", "freshness", "log", "store"),
        function_path="macros_py.ingest.action:import_action",
        description="取込フォルダにある各部署のファイルを項目マッピングに従って読み込み、取り込めない行を取込エラータブに出します。",
    ),
    ActionSpec(
        id="accept_held",
        label="保留の承認",
        roles=("admin", "center_staff"),
        reads=("settings", "sources", "column_mappings", "code_tables", "exports"),
        writes=("import_errors", "quality_report", "freshness", "log", "store"),
        function_path="macros_py.ingest.accept:accept_held_action",
        description="取込で保留になった新しい抽出(件数が大きく違う・取込エラーが多い・列が足りないもの)を、確認したうえで現在のデータとして採用します。",
    ),
    ActionSpec(
        id="link",
        label="名寄せ",
        roles=("admin", "center_staff"),
        reads=("settings", "sources", "link_review", "link_decisions", "store"),
        writes=("link_review", "link_decisions", "link_unmatched", "log", "store"),
        function_path="macros_py.link.action:link_action",
        description=(
            "取り込んだ各ソースの記録を住民記録と突き合わせ(名寄せ)、確認が必要な組み合わせを名寄せ確認タブに、"
            "職員の判定を名寄せ判定タブに、結び付かなかった記録を名寄せ不一致タブに出します。"
        ),
    ),
    ActionSpec(
        id="score",
        label="判定",
        roles=("admin", "center_staff"),
        reads=(
            "settings",
            "item_rules",
            "hardship_types",
            "label_sources",
            "sources",
            "column_mappings",
            "code_tables",
            "store",
        ),
        writes=("candidates", "model_evaluation", "coefficients", "score_history", "log", "store"),
        function_path="macros_py.score.action:score_action",
        description=(
            "名寄せした記録から判定ルールで児童ごとの項目を作り、困難類型ごとの点数と統計モデルの確率で候補リストを作ります。"
            "モデル評価・係数・履歴(前回からの変化)のタブも更新します。候補リストは判定会議で確かめるための資料です。"
        ),
    ),
)

ACTION_BY_ID: dict[str, ActionSpec] = {action.id: action for action in ACTIONS}


def validate_registry(actions: tuple[ActionSpec, ...] = ACTIONS) -> None:
    """Fail loudly at build time if the registry is inconsistent."""
    seen: set[str] = set()
    for action in actions:
        if not _ACTION_ID.match(action.id):
            raise ValueError(f"action id {action.id!r} must be a short ASCII identifier")
        if action.id in seen:
            raise ValueError(f"duplicate action id {action.id!r}")
        seen.add(action.id)
        for role in action.roles:
            if role not in ROLES:
                raise ValueError(f"action {action.id}: unknown role {role!r}")
        for key in (*action.reads, *action.writes):
            if key not in SHEET_BY_KEY and key not in {"store", "exports"}:
                raise ValueError(f"action {action.id}: unknown sheet key {key!r}")


def operation_of(spec: ActionSpec) -> Operation:
    """The action as the role check sees it."""
    touches = bool({"store", "exports"} & {*spec.reads, *spec.writes})
    return Operation(id=spec.id, label=spec.label, roles=spec.roles, touches_personal_data=touches)


def user_roles(users_table: pd.DataFrame | None, user_name: str) -> tuple[str, ...] | None:
    """Roles of a user from the 利用者 tab; ``None`` when the tab lists nobody (see ``check_access``)."""
    users = parse_users(users_table)
    if not active_users(users):
        return None
    return tuple(entry.role for entry in entries_of(users, user_name))


def _record_run_start(store: Store, action_id: str, user_name: str) -> int:
    with store.engine.begin() as connection:
        return connection.execute(
            insert(action_runs).values(action=action_id, started_at=datetime.now(), user_name=user_name)
        ).inserted_primary_key[0]


def _error_type(detail: str) -> str:
    """The exception's type from its traceback text (the audit log keeps no message: it may hold data)."""
    last = detail.strip().splitlines()[-1] if detail.strip() else ""
    return last.split(":", 1)[0].strip()[:200]


def _record_run_end(
    store: Store, run_id: int, result: ActionResult, user_name: str, decisions_since: int
) -> None:
    """Close the run record (with the error text, if any) and audit it; a failure here is only logged.

    The audit entries are the staff decisions the run stored, then the run itself (ok or
    failed, with the error's type; the full text stays in ``action_runs`` and the log file).
    """
    record = result.to_json()
    if result.error_detail:
        record["error"] = result.error_detail
    try:
        with store.engine.begin() as connection:
            connection.execute(
                update(action_runs)
                .where(action_runs.c.run_id == run_id)
                .values(
                    finished_at=datetime.now(),
                    ok=int(result.ok),
                    summary_json=json.dumps(record, ensure_ascii=False, default=str),
                )
            )
        decisions = decision_entries(store, decisions_since)
        label = ACTION_BY_ID[result.action].label if result.action in ACTION_BY_ID else result.action
        detail: dict[str, Any] = {"run_id": run_id, "label": label, "counts": result.counts}
        if result.error_detail:
            detail["error"] = _error_type(result.error_detail)
        run_entry = AuditEntry(
            action=RUN,
            user_name=user_name,
            target=result.action,
            counts={"ok": result.ok, "decisions": len(decisions)},
            detail=detail,
        )
        number = store.audit_entries([*decisions, run_entry])[-1]
        with store.engine.connect() as connection:
            head = read_head(connection)
        # A copy of the chain's head outside the store (mimamori.log), for an auditor to compare.
        logger.info("audit log: run %s is entry %s, head %s", run_id, number, head)
    except Exception:  # the store went away (locked, disk full): the result still reaches staff
        logger.exception("cannot record the end of run %s", run_id)


def _store_failure(action_id: str, error: Exception) -> ActionResult:
    """The result when the store cannot be opened or written: Japanese, detail in the log only."""
    message = describe_store_error(error)
    if message is None:
        logger.exception("cannot open store for %s", action_id)
        message = unexpected_error_message(ACTION_BY_ID[action_id].label)
    else:
        logger.warning("store problem for %s: %s", action_id, error_detail(error))
    return ActionResult(action_id, False, messages=[message], error_detail=error_detail(error))


def _run_function(spec: ActionSpec, context: ActionContext) -> ActionResult:
    """Call the action; a failure becomes a Japanese message (the detail goes to the log)."""
    try:
        return spec.load_function()(context)
    except ConfigErrors as error:
        return ActionResult(spec.id, False, messages=[e.as_japanese() for e in error.errors])
    except Exception as error:
        logger.exception("action %s failed", spec.id)
        message = describe_store_error(error) or unexpected_error_message(spec.label)
        return ActionResult(spec.id, False, messages=[message], error_detail=error_detail(error))


def _refused(action_id: str, access: Access) -> ActionResult:
    return ActionResult(
        action_id,
        False,
        summary={"refused": True, "reason": access.reason},
        messages=[access.message],
        counts="権限がないため実行しませんでした",
    )


def _open_store(context: ActionContext) -> Store | Exception:
    """The store, or why it cannot be opened (ConfigErrors, unreachable, locked, damaged, newer schema)."""
    try:
        return context.store
    except Exception as error:
        return error


def run_action(action_id: str, context: ActionContext) -> ActionResult:
    """Check the user's role, run one action, and record the run in the store.

    Every run passes the role check of the 利用者 tab first; a refusal is explained in
    Japanese and written to the audit log. Then the settings tabs are compared with
    their last stored copy (a change is audited), the action runs, and the staff
    decisions it stored and the run itself (ok or failed) are appended to the audit log.

    Never raises for problems staff can fix: they come back as ``ok=False`` with a
    Japanese message. Programming errors are logged with their traceback (to the run's
    log file, see :mod:`macros_py.failures`), kept in the run record, and reported to
    staff in Japanese without the English exception text.
    """
    spec = ACTION_BY_ID.get(action_id)
    if spec is None:
        return ActionResult(action_id, False, messages=[f"「{action_id}」という操作はありません。"])
    operation = operation_of(spec)
    users_table = context.tables.get(USERS.key)
    users = parse_users(users_table)
    if active_users(users):  # refused by role before the store is even opened
        access = role_access(operation, users, context.user_name)
        if not access.allowed:
            store = _open_store(context)
            if isinstance(store, Store):
                audit_refusal(store, operation, context.user_name, access)
            return _refused(action_id, access)
    store = _open_store(context)
    if isinstance(store, ConfigErrors):
        return ActionResult(action_id, False, messages=[e.as_japanese() for e in store.errors])
    if isinstance(store, Exception):
        return _store_failure(action_id, store)
    try:
        access = check_access(operation, users_table, context.user_name, store)
        if not access.allowed:
            audit_refusal(store, operation, context.user_name, access)
            return _refused(action_id, access)
        record_settings(store, context.tables, context.user_name)
        decisions_since = decision_watermark(store)
        run_id = _record_run_start(store, action_id, context.user_name)
    except Exception as error:  # locked, disk full, read-only...
        return _store_failure(action_id, error)
    result = _run_function(spec, context)
    _record_run_end(store, run_id, result, context.user_name, decisions_since)
    if access.recorded_administrator and not active_users(users):
        result.tables[USERS.key] = users_table_with_administrator(users_table, access.recorded_administrator)
    result.messages.extend(access.notes)
    return result


validate_registry()
