"""The 保留の承認 action: staff accept the held extracts they have checked.

A held file (see ``macros_py.ingest.extracts.hold_reasons``) stays aside until staff
press 保留の承認. Every held file still in the import folder, unchanged since it was
held, is then made current like a normal import (older extracts become history).
Removing an accepted file from the folder later makes the extract before it current
again at the next 取込.
"""

from __future__ import annotations

import logging

from macros_py.actions import ActionContext, ActionResult
from macros_py.ingest import extracts
from macros_py.ingest.action import import_errors_table, log_rows
from macros_py.ingest.encoding import file_sha256
from macros_py.ingest.mapping import parse_mapping_tables
from macros_py.ingest.quality import freshness_table, quality_report

__all__ = ["accept_held_action"]

logger = logging.getLogger(__name__)
ACTION_LABEL = "保留の承認"


def _accept_all(context: ActionContext, folder) -> tuple[list[str], list[str]]:
    """Accept each pending held file; returns (accepted messages, skipped messages)."""
    store = context.store
    accepted: list[str] = []
    skipped: list[str] = []
    with store.engine.connect() as connection:
        pending = extracts.pending_held(connection)
    for row in pending:
        path = folder / row.file_name
        if not path.is_file():
            skipped.append(f"「{row.file_name}」は取込フォルダにないため承認しませんでした。")
            continue
        if file_sha256(path) != row.file_sha256:
            skipped.append(
                f"「{row.file_name}」は保留した後に変更されています。先に「取込」を実行してください。"
            )
            continue
        with store.engine.begin() as connection:
            extracts.lock_source(connection, row.source_id)
            current = extracts.accept_held(connection, row, user_name=context.user_name)
        store.audit(
            context.user_name, "accept_held", target=row.file_name, detail={"import_id": row.import_id}
        )
        if current:
            accepted.append(
                f"「{row.file_name}」を承認し、ソース「{row.source_id}」の現在のデータにしました。"
            )
        else:
            accepted.append(
                f"「{row.file_name}」を承認しました。より新しい抽出があるため履歴として保存しました。"
            )
    return accepted, skipped


def accept_held_action(context: ActionContext) -> ActionResult:
    """Action ``accept_held``: make every held extract still in the import folder current.

    Returns the 取込エラー (without the accepted files' hold notes), 品質レポート,
    freshness and log tables, like 取込.
    """
    settings = context.settings
    folder = settings.import_path(context.workbook_dir)
    accepted, skipped = _accept_all(context, folder)
    config = parse_mapping_tables(context.tables)
    reference_date = context.reference_date().date()
    store = context.store
    quality = quality_report(store, config, reference_date, settings.resident_source_id)
    messages = accepted + skipped or ["保留中のファイルはありません。"]
    entries = [("情報", text) for text in accepted] + [("警告", text) for text in skipped]
    return ActionResult(
        action="accept_held",
        ok=not skipped,
        summary={"accepted": len(accepted), "skipped": len(skipped)},
        tables={
            "import_errors": import_errors_table(store, []),
            "quality_report": quality,
            "freshness": freshness_table(quality, config, reference_date),
            "log": log_rows(context, entries or [("情報", messages[0])], ACTION_LABEL),
        },
        messages=messages,
        counts=f"承認 {len(accepted)} ファイル、承認しなかったファイル {len(skipped)}",
    )
