"""The audit log's actions (English ids in the store) and what staff and auditors read."""

from __future__ import annotations

RUN = "run"  # an action of the registry ran (ok or failed)
REFUSED = "refused"  # an action was refused (role, empty 利用者 tab)
IMPORT_FILE = "import_file"  # one file of an import (written by macros_py.ingest)
ACCEPT_HELD = "accept_held"  # a held extract accepted (written by macros_py.ingest)
LINK_DECISION = "link_decision"  # a staff 名寄せ decision or revocation stored
SETTINGS_CHANGE = "settings_change"  # a settings tab differs from its last stored copy
SETTINGS_RECORDED = "settings_recorded"  # a settings tab's first stored copy
ADMINISTRATOR_RECORDED = "administrator_recorded"  # the 利用者 tab was empty: first user recorded
EXPORT = "export"  # data given out of the workbook (school lists, extracts)
CHILD_VIEW = "child_view"  # one child's details opened
STAFF_DECISION = "staff_decision"  # a meeting or support decision recorded
AUDIT_VERIFY = "audit_verify"  # the audit log's chain was checked
AUDIT_REPORT = "audit_report"  # the yearly access report was produced

AUDIT_ACTION_LABELS: dict[str, str] = {
    RUN: "操作の実行",
    REFUSED: "操作の拒否",
    IMPORT_FILE: "ファイルの取込",
    ACCEPT_HELD: "保留の承認",
    LINK_DECISION: "名寄せの判定",
    SETTINGS_CHANGE: "設定の変更",
    SETTINGS_RECORDED: "設定の初回記録",
    ADMINISTRATOR_RECORDED: "管理者の記録",
    EXPORT: "書き出し",
    CHILD_VIEW: "児童の詳細の表示",
    STAFF_DECISION: "職員の判断の記録",
    AUDIT_VERIFY: "監査ログの検証",
    AUDIT_REPORT: "アクセス報告の作成",
}


def audit_action_label(action: str) -> str:
    """The Japanese label of an audit action (the id itself for one this version does not know)."""
    return AUDIT_ACTION_LABELS.get(action, action)
