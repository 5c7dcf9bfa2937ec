"""What happened to one file of an import: one frozen result type per outcome."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

__all__ = ["FileResult", "Held", "Refused", "Stored", "Unchanged"]


@dataclass(frozen=True, kw_only=True)
class FileResult:
    """Common fields; ``read == stored + quarantined + unchanged`` unless refused.

    ``reason`` says (in Japanese) why a file was refused or held; ``notes`` are warnings
    (an unreadable character, a mapped optional column missing, ...);
    ``missing_columns`` lists mapped columns the file lacks.
    """

    status: ClassVar[str] = ""
    source: str
    file: str
    read: int = 0
    stored: int = 0
    quarantined: int = 0
    unchanged: int = 0
    reason: str = ""
    import_id: int | None = None
    extract_date: dt.date | None = None
    notes: tuple[str, ...] = ()
    missing_columns: tuple[str, ...] = ()

    @property
    def refused(self) -> bool:
        return self.status == "refused"

    @property
    def held(self) -> bool:
        return self.status == "held"

    def as_json(self) -> dict:
        """The per-file entry of the ``import`` action's JSON."""
        return {
            "source": self.source,
            "file": self.file,
            "status": self.status,
            "read": self.read,
            "stored": self.stored,
            "quarantined": self.quarantined,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "held": self.held,
            "reason": self.reason,
            "warnings": list(self.notes),
        }


@dataclass(frozen=True, kw_only=True)
class Stored(FileResult):
    """The file's rows are stored (current, or history when a newer extract is current)."""

    status: ClassVar[str] = "stored"


@dataclass(frozen=True, kw_only=True)
class Unchanged(FileResult):
    """The same content was stored before under the same mapping: nothing new written."""

    status: ClassVar[str] = "unchanged"


@dataclass(frozen=True, kw_only=True)
class Held(FileResult):
    """Stored aside, not current: the current extract stays until staff accept this one."""

    status: ClassVar[str] = "held"


@dataclass(frozen=True, kw_only=True)
class Refused(FileResult):
    """The whole file was rejected; ``reason`` names the file."""

    status: ClassVar[str] = "refused"
