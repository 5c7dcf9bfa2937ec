"""Live entry point: what each workbook button runs through xlwings ``RunPython``.

The generated VBA ``Buttons`` module calls ``import macros_py.xl as x; x.run('<id>')``.
For debugging without clicking, open the workbook in Excel and run::

    import xlwings as xw
    xw.Book("mimamori.xlsm").set_mock_caller()
    import macros_py.xl
    macros_py.xl.run("check_settings")
"""

from __future__ import annotations

import logging
from pathlib import Path

import xlwings as xw

from macros_py.actions import ACTION_BY_ID, ActionResult
from macros_py.book.live import ALERT_TITLE, run_in_book
from macros_py.failures import run_log, unexpected_error_message

logger = logging.getLogger(__name__)

__all__ = ["run"]


def run(action_id: str) -> ActionResult:
    """Run ``action_id`` on the workbook whose button called us.

    ``xw.Book.caller()`` is called here, inside the entry function, as xlwings requires
    (it also honours ``xw.Book(...).set_mock_caller()``). Nothing escapes: an error
    Python did not foresee would make xlwings show its English traceback box, so it is
    logged to ``mimamori.log`` beside the workbook and shown to staff in Japanese.

    Args:
        action_id: An id of the action registry.

    Returns:
        The action's result, already written into the book and shown in a message box.
    """
    book = xw.Book.caller()
    folder = Path(book.fullname).resolve().parent
    with run_log(folder):
        try:
            logger.info("live run %s on %s", action_id, book.name)
            return run_in_book(book, action_id)
        except Exception:
            logger.exception("live run %s failed", action_id)
            spec = ACTION_BY_ID.get(action_id)
            message = unexpected_error_message(spec.label if spec else action_id)
            try:
                book.app.alert(message, ALERT_TITLE, "ok", "critical", None)
            except Exception:
                logger.exception("cannot show the error message")
            return ActionResult(action_id, False, messages=[message])
