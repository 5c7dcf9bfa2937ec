"""File mode: run an action on a closed workbook and replace it with a fresh rendering.

The workbook is harvested (read-only), the action runs, and a new workbook is rendered
from the harvested settings, the preserved outputs, the action's tables and the updated
status area. The file is replaced atomically; the previous version is kept in a backup
folder beside it. Nothing is written when the file is open in Excel, is not ours, is
read-only, holds invalid settings, or holds content a rendering would drop (a sheet or
cell staff added outside the tables). Staff memos on 名寄せ確認 and the ログ history are
carried over. Every failure comes back as a Japanese message; the technical detail goes
to ``mimamori.log`` beside the workbook (see :mod:`macros_py.failures`).
"""

from __future__ import annotations

import errno
import getpass
import hashlib
import logging
import os
import shutil
import stat
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

from macros_py.actions import ACTION_BY_ID, ACTIONS, ActionContext, ActionResult, ActionSpec, run_action
from macros_py.book.build import render_workbook, write_atomically
from macros_py.book.carry_over import CARRIED_COLUMNS, carry_typed, log_rows_for, merged_log
from macros_py.book.foreign import find_foreign_content
from macros_py.book.harvest import BACKUP_FOLDER, NotOurWorkbook, harvest_workbook
from macros_py.book.status import update_status
from macros_py.config.check import validate_all_settings
from macros_py.config.defaults import default_table
from macros_py.config.errors import ConfigErrors
from macros_py.config.settings import Settings, parse_settings
from macros_py.failures import run_log, unexpected_error_message
from macros_py.sheets import LOG, SETTINGS_SHEETS, SHEET_BY_KEY, STATUS

logger = logging.getLogger(__name__)

__all__ = ["BACKUP_FOLDER", "STALE_TEMPORARY_SECONDS", "lock_file", "run_in_file_mode"]

# write_atomically (book/build.py) writes ".mimamori-*.tmp" beside the target; one older
# than this was left by a killed run (a live write keeps touching its file).
STALE_TEMPORARY_SECONDS = 600
_TEMPORARY_PATTERN = ".mimamori-*.tmp"
_NO_SPACE = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


class _Refusal(Exception):
    """A run stopped before writing; the message is Japanese and the file untouched."""


def lock_file(workbook_path: Path) -> Path:
    """The owner file Excel keeps beside a workbook while it is open (``~$<name>``)."""
    return workbook_path.with_name("~$" + workbook_path.name)


def _refused(action_id: str, message: str, **summary: object) -> ActionResult:
    return ActionResult(action_id, False, summary={"refused": True, **summary}, messages=[message])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files a killed run left in ``folder`` (never a live run's file)."""
    if not folder.is_dir():
        return
    now = time.time()
    for leftover in folder.glob(_TEMPORARY_PATTERN):
        try:
            if now - leftover.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                leftover.unlink()
                logger.info("removed leftover temporary file %s", leftover)
        except OSError:
            logger.warning("cannot remove leftover temporary file %s", leftover, exc_info=True)


def _can_write_in(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (tried for real: permissions, ACLs, read-only media)."""
    try:
        handle, probe = tempfile.mkstemp(prefix=".mimamori-probe-", dir=folder)
    except OSError:
        return False
    os.close(handle)
    Path(probe).unlink(missing_ok=True)
    return True


def _check_writable(workbook_path: Path) -> None:
    """Refuse a read-only workbook file or a folder where it cannot be replaced."""
    if not os.stat(workbook_path).st_mode & stat.S_IWUSR:
        raise _Refusal(
            f"台帳「{workbook_path.name}」は読み取り専用のため、実行しませんでした(台帳は変更していません)。"
            "ファイルのプロパティで「読み取り専用」を外してから、もう一度実行してください。"
        )
    if not _can_write_in(workbook_path.parent):
        raise _Refusal(
            f"台帳のあるフォルダ「{workbook_path.parent}」に書き込めないため、実行しませんでした(台帳は変更していません)。"
            "フォルダの書き込み権限を確認してください。"
        )


def _check_backup_folder(workbook_path: Path, keep: int) -> None:
    """Refuse when backups are kept but the backup folder cannot be created or written."""
    if keep <= 0:
        return
    folder = workbook_path.parent / BACKUP_FOLDER
    try:
        folder.mkdir(exist_ok=True)
    except OSError:
        logger.warning("cannot create %s", folder, exc_info=True)
    if not folder.is_dir() or not _can_write_in(folder):
        raise _Refusal(
            f"バックアップフォルダ「{folder}」を作れないか、書き込めないため、実行しませんでした(台帳は変更していません)。"
            "フォルダの書き込み権限を確認してください(バックアップが不要なら、設定タブの「バックアップ保存数」を 0 にします)。"
        )


def _backup(workbook_path: Path, keep: int, when: datetime) -> Path | None:
    """Copy the current workbook into the backup folder and prune old copies.

    The copy is made under a temporary name and renamed, so a full disk never leaves
    a half-written backup.
    """
    if keep <= 0:
        return None
    folder = workbook_path.parent / BACKUP_FOLDER
    folder.mkdir(exist_ok=True)
    _remove_stale_temporaries(folder)
    stem, suffix = workbook_path.stem, workbook_path.suffix
    target = folder / f"{stem}_{when:%Y%m%d_%H%M%S}{suffix}"
    counter = 2
    while target.exists():
        target = folder / f"{stem}_{when:%Y%m%d_%H%M%S}_{counter}{suffix}"
        counter += 1
    handle, temporary = tempfile.mkstemp(prefix=".mimamori-", suffix=".tmp", dir=folder)
    os.close(handle)
    try:
        shutil.copy2(workbook_path, temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    backups = sorted(
        (p for p in folder.glob(f"{stem}_*{suffix}") if p.is_file()),
        key=lambda p: (p.stat().st_mtime_ns, p.name),
    )
    for old in backups[: max(len(backups) - keep, 0)]:
        old.unlink()
    return target


def _write_failure(workbook_path: Path, error: OSError) -> str:
    if error.errno in _NO_SPACE:
        reason = "ディスクの空きが足りません"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = "書き込みが許可されていません"
    else:
        reason = "ファイルを書き込めませんでした"
    return (
        f"台帳「{workbook_path.name}」に結果を書き込めませんでした({reason})。"
        "台帳は実行前のまま残っています。空きや書き込み権限を確認してから、もう一度実行してください。"
    )


def _settings_or_defaults(tables: dict[str, pd.DataFrame]) -> Settings:
    try:
        return parse_settings(tables["settings"])
    except ConfigErrors:
        return Settings()


def _open_checks(workbook_path: Path) -> None:
    """Refusals before the workbook is read: missing, open in Excel, read-only, folder."""
    if not workbook_path.is_file():
        raise _Refusal(f"台帳ファイル「{workbook_path}」が見つかりません。")
    if lock_file(workbook_path).exists():
        raise _Refusal(
            f"台帳「{workbook_path.name}」はExcelで開かれています。Excelで閉じてから実行してください"
            f"(閉じても続く場合は、同じフォルダの「{lock_file(workbook_path).name}」が残っていないか確認してください)。"
        )
    _check_writable(workbook_path)
    _remove_stale_temporaries(workbook_path.parent)


def _add_missing_settings_tabs(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Give settings tabs the workbook lacks (added by a newer version) their defaults, in place.

    The run then uses exactly the rows the rewritten workbook will show, instead of
    silently running without them (an older workbook has no 判定ルール: a 判定 run would
    list nobody). Returns the Japanese names of the tabs added.
    """
    added = []
    for sheet in SETTINGS_SHEETS:
        if sheet.key not in tables:
            tables[sheet.key] = default_table(sheet.key)
            added.append(sheet.name)
    if added:
        logger.info("settings tabs missing from the workbook take their defaults: %s", added)
    return added


def _harvest_checked(
    action_id: str, workbook_path: Path
) -> tuple[dict[str, pd.DataFrame], list[str]] | ActionResult:
    """The harvested tables and the tabs given defaults, or the refusal (damaged, not ours,
    invalid settings, foreign content)."""
    try:
        tables = harvest_workbook(workbook_path)
    except NotOurWorkbook as error:
        return _refused(action_id, str(error))
    added_tabs = _add_missing_settings_tabs(tables)
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
    foreign = find_foreign_content(workbook_path, tables)
    if foreign:
        return _refused(
            action_id,
            foreign.as_japanese(workbook_path.name),
            foreign_sheets=list(foreign.sheets),
            foreign_cells=list(foreign.cells),
        )
    _check_backup_folder(workbook_path, _settings_or_defaults(tables).backups_to_keep)
    return tables, added_tabs


def _new_tables(
    spec: ActionSpec,
    tables: dict[str, pd.DataFrame],
    result: ActionResult,
    finished: datetime,
    user_name: str,
) -> dict[str, pd.DataFrame]:
    """The tables to render: harvested ones, the action's, memos and log history carried over."""
    new_tables = dict(tables)
    for key, table in result.tables.items():
        if key in SHEET_BY_KEY:
            new_tables[key] = table
        else:
            logger.warning("action %s returned a table for unknown sheet %r", spec.id, key)
    log = result.tables.get(LOG.key)
    for typed in CARRIED_COLUMNS:  # what staff typed on tabs the action replaces
        if typed.sheet_key not in result.tables or typed.sheet_key not in SHEET_BY_KEY:
            continue
        carried, lost = carry_typed(typed, tables.get(typed.sheet_key), result.tables[typed.sheet_key])
        new_tables[typed.sheet_key] = carried
        if lost:
            note = (
                f"「{SHEET_BY_KEY[typed.sheet_key].name}」タブの「{typed.column}」{lost} 件は、その行が表から外れたため"
                f"引き継げませんでした(実行前の台帳は「{BACKUP_FOLDER}」フォルダにあります)。"
            )
            log = pd.concat([log, _log(spec, user_name, finished, "警告", [note])], ignore_index=True)
    if log is None or log.empty:
        messages = result.messages or [result.counts or "完了しました。"]
        log = _log(spec, user_name, finished, "情報" if result.ok else "エラー", messages)
    else:  # staff read the button's label, never the action's internal id
        log = log.assign(操作=log["操作"].replace({action.id: action.label for action in ACTIONS}))
    new_tables[LOG.key] = merged_log(tables.get(LOG.key), log)
    new_tables[STATUS.key] = update_status(tables.get(STATUS.key), result, finished, user_name)
    return new_tables


def _log(spec: ActionSpec, user_name: str, when: datetime, kind: str, messages: list[str]) -> pd.DataFrame:
    return log_rows_for(
        when=f"{when:%Y-%m-%d %H:%M:%S}", user_name=user_name, label=spec.label, kind=kind, messages=messages
    )


def _run(spec: ActionSpec, workbook_path: Path, user_name: str) -> ActionResult:
    _open_checks(workbook_path)
    digest = _digest(workbook_path)
    harvested = _harvest_checked(spec.id, workbook_path)
    if isinstance(harvested, ActionResult):
        return harvested
    tables, added_tabs = harvested
    context = ActionContext(tables=tables, workbook_dir=workbook_path.parent.resolve(), user_name=user_name)
    result = run_action(spec.id, context)
    if added_tabs:
        result.messages.append(
            f"台帳になかったタブ({'・'.join(added_tabs)})を既定の内容で追加し、今回の実行にも使いました。内容を確認してください。"
        )
    finished = datetime.now()
    content = render_workbook(_new_tables(spec, tables, result, finished, user_name))

    if lock_file(workbook_path).exists() or _digest(workbook_path) != digest:
        result.ok = False
        result.summary["refused"] = True
        result.messages.append(
            f"実行中に台帳「{workbook_path.name}」が開かれたか変更されたため、結果を書き込みませんでした。もう一度実行してください。"
        )
        return result
    try:
        backup = _backup(workbook_path, _settings_or_defaults(tables).backups_to_keep, finished)
        write_atomically(workbook_path, content)
    except OSError as error:
        logger.exception("cannot write %s", workbook_path)
        result.ok = False
        result.summary["refused"] = True
        result.messages.append(_write_failure(workbook_path, error))
        return result
    result.summary["file_mode"] = {"workbook": str(workbook_path), "backup": str(backup) if backup else None}
    logger.info("file mode %s on %s: ok=%s", spec.id, workbook_path, result.ok)
    return result


def run_in_file_mode(action_id: str, workbook_path: Path, user_name: str | None = None) -> ActionResult:
    """Run one action on a closed workbook file.

    Args:
        action_id: An id of the action registry.
        workbook_path: The ``.xlsm`` built by ``mimamori workbook build``.
        user_name: Who runs it (the 利用者 tab decides the role); defaults to the
            logged-on user.

    Returns:
        The action's result. Refusals (file open in Excel, read-only, damaged, not our
        workbook, invalid settings, content outside the tables, unknown action) come
        back with ``ok=False``, ``summary["refused"]`` and a Japanese message; the file
        is then left untouched. Never raises: an unexpected error is logged with its
        traceback in ``mimamori.log`` beside the workbook and reported in Japanese.
    """
    workbook_path = Path(workbook_path)
    user_name = user_name or getpass.getuser()
    spec = ACTION_BY_ID.get(action_id)
    if spec is None:
        return _refused(action_id, f"「{action_id}」という操作はありません。")
    echo = logging.getLogger().isEnabledFor(logging.DEBUG)  # the CLI's --verbose
    with run_log(workbook_path.parent, echo=echo):
        logger.info("file mode %s on %s by %s", action_id, workbook_path, user_name)
        try:
            return _run(spec, workbook_path, user_name)
        except _Refusal as refusal:
            return _refused(action_id, str(refusal))
        except Exception:
            logger.exception("file mode %s on %s failed", action_id, workbook_path)
            return _refused(action_id, unexpected_error_message(spec.label) + "(台帳は変更していません)")
