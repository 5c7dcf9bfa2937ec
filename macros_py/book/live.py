"""The live adapter: read and write whole tables of the open workbook through xlwings.

Works with Excel over COM (production) and with xlwings' JSON-payload engine (tests).
Every read is one range read per table and every write replaces a whole table in one
range write: no cell loops.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import xlwings as xw

from macros_py.actions import ACTION_BY_ID, ActionContext, ActionResult, run_action
from macros_py.book.carry_over import CARRIED_COLUMNS, carry_typed, merged_log
from macros_py.book.cells import cell_text, source_names, table_records, with_source_names
from macros_py.book.status import update_status
from macros_py.config.check import validate_all_settings
from macros_py.failures import unexpected_error_message
from macros_py.sheets import LOG, SETTINGS_SHEETS, SHEET_BY_KEY, STATUS, SheetSpec

logger = logging.getLogger(__name__)

__all__ = ["ALERT_TITLE", "LiveTableError", "read_table", "run_in_book", "write_table"]

ALERT_TITLE = "みまもり台帳"
_MAX_ALERT_MESSAGES = 10
# Positional arguments of Worksheet.Protect matching the build's protection:
# Password, DrawingObjects, Contents, Scenarios, UserInterfaceOnly, AllowFormattingCells,
# AllowFormattingColumns, AllowFormattingRows, AllowInsertingColumns, AllowInsertingRows,
# AllowInsertingHyperlinks, AllowDeletingColumns, AllowDeletingRows, AllowSorting,
# AllowFiltering, AllowUsingPivotTables.
_PROTECT_ARGUMENTS = (
    "",
    True,
    True,
    True,
    False,
    False,
    True,
    True,
    False,
    False,
    False,
    False,
    False,
    False,
    True,
    False,
)


class LiveTableError(ValueError):
    """A tab or table of the open book is missing or changed; the message is Japanese guidance."""


# An older workbook lacks the tabs and columns a newer engine adds: file mode renders the
# workbook afresh from the current specification, which is the upgrade path staff have.
_UPGRADE_HINT = (
    "台帳が古い形式のままの可能性があります。Excelで台帳を閉じ、"
    "コマンド「mimamori run 設定チェック --workbook 台帳ファイル」を一度実行すると、"
    "入力内容を保ったまま新しい形式に作り直されます。"
)


def _table(book: xw.Book, sheet: SheetSpec) -> tuple[xw.Sheet, xw.main.Table]:
    if sheet.name not in [worksheet.name for worksheet in book.sheets]:
        raise LiveTableError(f"台帳にシート「{sheet.name}」がありません。{_UPGRADE_HINT}")
    worksheet = book.sheets[sheet.name]
    if sheet.table_name not in [table.name for table in worksheet.tables]:
        raise LiveTableError(f"シート「{sheet.name}」に表「{sheet.table_name}」がありません。{_UPGRADE_HINT}")
    return worksheet, worksheet.tables[sheet.table_name]


def read_table(book: xw.Book, sheet: SheetSpec) -> pd.DataFrame:
    """One table of the open book as an all-text DataFrame (trailing empty rows dropped).

    Raises:
        ValueError: In Japanese, if the table's headers were changed.
    """
    _worksheet, table = _table(book, sheet)
    header = [cell_text(value) for value in table.header_row_range.value]
    if header != sheet.headers:
        raise LiveTableError(
            f"シート「{sheet.name}」の表「{sheet.table_name}」の見出しが変更されています。"
            f"見出しは {'・'.join(sheet.headers)} のままにしてください。{_UPGRADE_HINT}"
        )
    body_range = table.data_body_range
    values = body_range.options(ndim=2).value if body_range is not None else []
    body = [[cell_text(value) for value in row] for row in values]
    while body and not any(body[-1]):
        body.pop()
    return pd.DataFrame(body, columns=sheet.headers, dtype=str)


def _guard(value: int | float | str) -> int | float | str:
    """Text goes in with Excel's quote prefix, so it is never parsed as a formula or number."""
    if isinstance(value, str) and value:
        return "'" + value
    return value


@contextlib.contextmanager
def _unprotected(worksheet: xw.Sheet) -> Iterator[None]:
    """Lift sheet protection (no password) while writing, over COM; no-op elsewhere."""
    api = worksheet.api
    protected = hasattr(api, "Unprotect") and bool(api.ProtectContents)
    if protected:
        api.Unprotect("")
    try:
        yield
    finally:
        if protected:
            api.Protect(*_PROTECT_ARGUMENTS)


def write_table(book: xw.Book, sheet: SheetSpec, frame: pd.DataFrame | None) -> None:
    """Replace the whole table of ``sheet`` with ``frame`` (columns = the sheet's headers).

    The old body is cleared, the table resized to the new row count (at least one row)
    and all values written with one range write. Text is written as text.
    """
    worksheet, table = _table(book, sheet)
    records = [[_guard(value) for value in row] for row in table_records(frame, sheet.columns)]
    width = len(sheet.columns)
    if not records:
        records = [[""] * width]
    with _unprotected(worksheet):
        body = table.data_body_range
        if body is not None:
            body.clear_contents()
        table.resize(worksheet.range((sheet.header_row, 1), (sheet.header_row + len(records), width)))
        worksheet.range((sheet.header_row + 1, 1)).value = records


def _keys_to_read(action_id: str) -> list[str]:
    spec = ACTION_BY_ID[action_id]
    # Every settings tab is read (they are small) because validation checks them together.
    keys = [*(sheet.key for sheet in SETTINGS_SHEETS), *spec.reads, STATUS.key]
    return [key for key in dict.fromkeys(keys) if key in SHEET_BY_KEY]


def _alert_text(label: str, result: ActionResult) -> str:
    head = f"「{label}」が完了しました。" if result.ok else f"「{label}」を実行できませんでした。"
    lines = [head]
    if result.counts:
        lines.append(result.counts)
    lines += result.messages[:_MAX_ALERT_MESSAGES]
    if len(result.messages) > _MAX_ALERT_MESSAGES:
        lines.append(f"ほか {len(result.messages) - _MAX_ALERT_MESSAGES} 件(ログタブを見てください)")
    return "\n".join(lines)


def _execute(
    book: xw.Book, action_id: str, user_name: str, workbook_dir: Path
) -> tuple[ActionResult, pd.DataFrame]:
    tables = {key: read_table(book, SHEET_BY_KEY[key]) for key in _keys_to_read(action_id)}
    status = tables[STATUS.key]
    errors = validate_all_settings(tables)
    if errors:
        messages = ["設定タブに誤りがあるため実行しませんでした。", *(e.as_japanese() for e in errors)]
        summary = {"refused": True, "errors": [e.__dict__ for e in errors]}
        return ActionResult(action_id, False, summary=summary, messages=messages), status
    context = ActionContext(tables=tables, workbook_dir=workbook_dir, user_name=user_name)
    result = run_action(action_id, context)
    names = source_names(tables.get("sources"))  # staff read source names, not IDs
    for key, table in result.tables.items():
        if key == LOG.key:  # the ログ tab keeps the recent history of every action
            table = merged_log(read_table(book, LOG), table)
        for typed in CARRIED_COLUMNS:  # memos on undecided rows follow their row
            if key == typed.sheet_key:
                table, _lost = carry_typed(typed, tables.get(key), table)
        if key in SHEET_BY_KEY:
            write_table(book, SHEET_BY_KEY[key], with_source_names(table, SHEET_BY_KEY[key].columns, names))
        else:
            logger.warning("action %s returned a table for unknown sheet %r", action_id, key)
    return result, status


def run_in_book(
    book: xw.Book, action_id: str, user_name: str | None = None, workbook_dir: Path | None = None
) -> ActionResult:
    """Run one action on an open workbook and report in the status area and a message box.

    Args:
        book: The calling workbook (``xw.Book.caller()``), or a JSON-payload book in tests.
        action_id: An id of the action registry.
        user_name: Who runs it; defaults to the logged-on user (the 利用者 tab's ID).
        workbook_dir: Folder the settings' relative paths start from; defaults to the
            workbook's folder.

    Returns:
        The action's result (also shown to staff).
    """
    user_name = user_name or getpass.getuser()
    spec = ACTION_BY_ID.get(action_id)
    if spec is None:
        message = f"「{action_id}」という操作はありません。台帳を作り直してください。"
        book.app.alert(message, ALERT_TITLE, "ok", "critical", None)
        return ActionResult(action_id, False, messages=[message])
    if workbook_dir is None:
        workbook_dir = Path(book.fullname).resolve().parent
    status: pd.DataFrame | None = None
    try:
        result, status = _execute(book, action_id, user_name, workbook_dir)
    except LiveTableError as error:  # staff can fix this: say how, in Japanese
        logger.warning("live action %s refused: %s", action_id, error)
        result = ActionResult(action_id, False, summary={"refused": True}, messages=[str(error)])
    except Exception:  # the workbook itself is damaged or unexpected: tell staff (detail in the log)
        logger.exception("live action %s failed", action_id)
        result = ActionResult(
            action_id,
            False,
            messages=[unexpected_error_message(spec.label)],
        )
    try:
        write_table(book, STATUS, update_status(status, result, datetime.now(), user_name))
    except Exception:
        logger.exception("cannot update the status area")
    book.app.alert(
        _alert_text(spec.label, result), ALERT_TITLE, "ok", "info" if result.ok else "critical", None
    )
    return result
