"""Validation errors that name sheet, row and column, in Japanese."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigError:
    """One invalid cell (or row, or sheet) of a settings tab.

    ``row`` is the row number as Excel shows it, ``None`` for a whole-sheet problem.
    """

    sheet: str
    row: int | None
    column: str | None
    message: str

    def as_japanese(self) -> str:
        where = f"シート「{self.sheet}」"
        if self.row is not None:
            where += f" {self.row}行目"
        if self.column:
            where += f" 「{self.column}」列"
        return f"{where}: {self.message}"


class ConfigErrors(ValueError):
    """Raised when a settings tab holds invalid values; carries every error found."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = list(errors)
        super().__init__("\n".join(error.as_japanese() for error in self.errors))
