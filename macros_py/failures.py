"""Where failures go: full technical detail to a log file, Japanese guidance to staff.

Staff never see a traceback, an English exception or SQL. Each run (file mode, CLI,
live) writes the engine's log lines, tracebacks included, to ``mimamori.log`` beside
the workbook (rotating, a few files of 1 MB); what staff read names that file.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import traceback
from collections.abc import Iterator
from logging.handlers import RotatingFileHandler
from pathlib import Path

__all__ = [
    "LOG_FILE_NAME",
    "current_log_file",
    "error_detail",
    "run_log",
    "unexpected_error_message",
]

LOG_FILE_NAME = "mimamori.log"
_LOG_FILE_BYTES = 1_000_000
_LOG_FILE_COUNT = 3
# The engine's loggers, and Python warnings (e.g. openpyxl's on workbooks Excel saved).
_CAPTURED_LOGGERS = ("macros_py", "py.warnings")
_FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"
_active_log_file: Path | None = None


def current_log_file() -> Path | None:
    """The log file of the run in progress (``None`` outside :func:`run_log`)."""
    return _active_log_file


class _QuietRotatingFileHandler(RotatingFileHandler):
    """A rotating log file whose own failures (a rollover blocked by another run) stay silent.

    The default handler prints "--- Logging error ---" and a traceback to the console.
    """

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        return

    def flush(self) -> None:
        # A full disk must not turn the end of a run into an English traceback.
        with contextlib.suppress(OSError):
            super().flush()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            super().close()


def _open_handler(folder: Path) -> tuple[RotatingFileHandler, Path]:
    """A rotating handler beside the workbook, or in the temp folder if that folder is read-only."""
    for candidate in (folder / LOG_FILE_NAME, Path(tempfile.gettempdir()) / LOG_FILE_NAME):
        try:
            handler = _QuietRotatingFileHandler(
                candidate, maxBytes=_LOG_FILE_BYTES, backupCount=_LOG_FILE_COUNT, encoding="utf-8"
            )
        except OSError:
            continue
        return handler, candidate
    raise OSError("no writable place for the log file")


@contextlib.contextmanager
def run_log(folder: Path, *, echo: bool = False) -> Iterator[Path | None]:
    """Send the engine's log (tracebacks included) to ``folder/mimamori.log`` during a run.

    Args:
        folder: The workbook's folder.
        echo: Also let records reach the console handlers (the CLI's ``--verbose``).
            Otherwise they go to the file only, so no English text reaches staff.

    Yields:
        The log file's path (``None`` if no file could be opened anywhere).
    """
    global _active_log_file
    try:
        handler, path = _open_handler(Path(folder))
    except OSError:
        handler, path = None, None
    loggers = [logging.getLogger(name) for name in _CAPTURED_LOGGERS]
    previous = [(logger.propagate, logger.level) for logger in loggers]
    previous_file = _active_log_file
    if handler is not None:
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler.setLevel(logging.INFO)
    for logger in loggers:
        if handler is not None:
            logger.addHandler(handler)
            if logger.getEffectiveLevel() > logging.INFO:
                logger.setLevel(logging.INFO)
        logger.propagate = echo
    logging.captureWarnings(True)
    _active_log_file = path
    try:
        yield path
    finally:
        logging.captureWarnings(False)
        _active_log_file = previous_file
        for logger, (propagate, level) in zip(loggers, previous, strict=True):
            logger.propagate = propagate
            logger.setLevel(level)
            if handler is not None:
                logger.removeHandler(handler)
        if handler is not None:
            handler.close()


def error_detail(error: BaseException) -> str:
    """The full technical text of an exception (type, message, traceback) for logs and run records."""
    return "".join(traceback.format_exception(error)).strip()


def unexpected_error_message(label: str) -> str:
    """Japanese guidance for an error nobody foresaw (the English detail is in the log file)."""
    where = current_log_file()
    place = f"ログファイル「{where}」" if where else "ログファイル"
    return (
        f"「{label}」の実行中に予期しないエラーが発生しました。詳細は{place}に記録しました。"
        "管理者に連絡してください。"
    )
