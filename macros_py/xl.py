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

import xlwings as xw

from macros_py.actions import ActionResult
from macros_py.book.live import run_in_book

logger = logging.getLogger(__name__)

__all__ = ["run"]


def run(action_id: str) -> ActionResult:
    """Run ``action_id`` on the workbook whose button called us.

    ``xw.Book.caller()`` is called here, inside the entry function, as xlwings requires
    (it also honours ``xw.Book(...).set_mock_caller()``).

    Args:
        action_id: An id of the action registry.

    Returns:
        The action's result, already written into the book and shown in a message box.
    """
    book = xw.Book.caller()
    logger.info("live run %s on %s", action_id, book.name)
    return run_in_book(book, action_id)
