"""File mode: run an action on a closed workbook and replace it with a fresh rendering.

The workbook is harvested (read-only), the action runs, and a new workbook is rendered
from the harvested settings, the preserved outputs, the action's tables and the updated
status area. The file is replaced atomically; the previous version is kept in a backup
folder beside it. Nothing is written when the file is open in Excel, is not ours, or
holds invalid settings.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd

from macros_py.actions import ACTION_BY_ID, ActionContext, ActionResult, run_action
from macros_py.book.build import render_workbook, write_atomically
from macros_py.book.harvest import NotOurWorkbook, harvest_workbook
from macros_py.book.status import update_status
from macros_py.config.check import validate_all_settings
from macros_py.config.errors import ConfigErrors
from macros_py.config.settings import Settings, parse_settings
from macros_py.sheets import SHEET_BY_KEY, STATUS

logger = logging.getLogger(__name__)

__all__ = ["BACKUP_FOLDER", "lock_file", "run_in_file_mode"]

BACKUP_FOLDER = "バックアップ"


def lock_file(workbook_path: Path) -> Path:
    """The owner file Excel keeps beside a workbook while it is open (``~$<name>``)."""
    return workbook_path.with_name("~$" + workbook_path.name)


def _refused(action_id: str, message: str, **summary: object) -> ActionResult:
    return ActionResult(action_id, False, summary={"refused": True, **summary}, messages=[message])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _backup(workbook_path: Path, keep: int, when: datetime) -> Path | None:
    """Copy the current workbook into the backup folder and prune old copies."""
    if keep <= 0:
        return None
    folder = workbook_path.parent / BACKUP_FOLDER
    folder.mkdir(exist_ok=True)
    stem, suffix = workbook_path.stem, workbook_path.suffix
    target = folder / f"{stem}_{when:%Y%m%d_%H%M%S}{suffix}"
    counter = 2
    while target.exists():
        target = folder / f"{stem}_{when:%Y%m%d_%H%M%S}_{counter}{suffix}"
        counter += 1
    shutil.copy2(workbook_path, target)
    backups = sorted(
        (p for p in folder.glob(f"{stem}_*{suffix}") if p.is_file()),
        key=lambda p: (p.stat().st_mtime_ns, p.name),
    )
    for old in backups[: max(len(backups) - keep, 0)]:
        old.unlink()
    return target


def _settings_or_defaults(tables: dict[str, pd.DataFrame]) -> Settings:
    try:
        return parse_settings(tables["settings"])
    except ConfigErrors:
        return Settings()


def run_in_file_mode(action_id: str, workbook_path: Path, user_name: str | None = None) -> ActionResult:
    """Run one action on a closed workbook file.

    Args:
        action_id: An id of the action registry.
        workbook_path: The ``.xlsm`` built by ``mimamori workbook build``.
        user_name: Who runs it (the 利用者 tab decides the role); defaults to the
            logged-on user.

    Returns:
        The action's result. Refusals (file open in Excel, not our workbook, invalid
        settings, unknown action) come back with ``ok=False``, ``summary["refused"]``
        and a Japanese message; the file is then left untouched.
    """
    workbook_path = Path(workbook_path)
    user_name = user_name or getpass.getuser()
    spec = ACTION_BY_ID.get(action_id)
    if spec is None:
        return _refused(action_id, f"「{action_id}」という操作はありません。")
    if not workbook_path.is_file():
        return _refused(action_id, f"台帳ファイル「{workbook_path}」が見つかりません。")
    if lock_file(workbook_path).exists():
        return _refused(
            action_id,
            f"台帳「{workbook_path.name}」はExcelで開かれています。Excelで閉じてから実行してください"
            f"(閉じても続く場合は、同じフォルダの「{lock_file(workbook_path).name}」が残っていないか確認してください)。",
        )
    digest = _digest(workbook_path)
    try:
        tables = harvest_workbook(workbook_path)
    except NotOurWorkbook as error:
        return _refused(action_id, str(error))
    errors = validate_all_settings(tables)
    if errors:
        return ActionResult(
            action_id,
            False,
            summary={"refused": True, "errors": [error.__dict__ for error in errors]},
            messages=[
                "設定タブに誤りがあるため実行しませんでした(台帳は変更していません)。",
                *(error.as_japanese() for error in errors),
            ],
        )
    context = ActionContext(tables=tables, workbook_dir=workbook_path.parent.resolve(), user_name=user_name)
    result = run_action(action_id, context)
    finished = datetime.now()

    new_tables = dict(tables)
    for key, table in result.tables.items():
        if key in SHEET_BY_KEY:
            new_tables[key] = table
        else:
            logger.warning("action %s returned a table for unknown sheet %r", action_id, key)
    new_tables[STATUS.key] = update_status(tables.get(STATUS.key), result, finished, user_name)
    content = render_workbook(new_tables)

    if lock_file(workbook_path).exists() or _digest(workbook_path) != digest:
        result.ok = False
        result.summary["refused"] = True
        result.messages.append(
            f"実行中に台帳「{workbook_path.name}」が開かれたか変更されたため、結果を書き込みませんでした。もう一度実行してください。"
        )
        return result
    backup = _backup(workbook_path, _settings_or_defaults(tables).backups_to_keep, finished)
    write_atomically(workbook_path, content)
    result.summary["file_mode"] = {"workbook": str(workbook_path), "backup": str(backup) if backup else None}
    logger.info("file mode %s on %s: ok=%s", action_id, workbook_path, result.ok)
    return result
