"""Which extract of a source is current: the duplicate check, superseding, holding a
doubtful extract, accepting it, and withdrawing an accepted file that was removed.

"Current" itself is defined once, in ``macros_py.store.tables_ingest.current_import_condition``;
the functions here only move imports in and out of it. Every function takes the
connection of a transaction that already holds the source's lock (:func:`lock_source`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row

from macros_py.store.tables_ingest import current_import_condition, import_locks, imports

__all__ = [
    "HoldRules",
    "file_role",
    "find_same_import",
    "hold_reasons",
    "lock_source",
    "NewExtract",
    "accept_held",
    "pending_held",
    "removed_accepted",
    "retire_older_held",
    "supersede",
    "withdraw_removed",
]

_DATE_DIGITS = re.compile(r"(?<!\d)\d{8}(?!\d)")


@dataclass(frozen=True)
class HoldRules:
    """When a new extract is held instead of replacing the current one (設定 保留: ...)."""

    max_quarantine_percent: float = 50.0
    max_decrease_percent: float = 20.0
    max_increase_percent: float = 100.0


def lock_source(connection: Connection, source_id: str) -> None:
    """Take the source's import lock for the rest of the transaction.

    SQLite: the first write takes the database write lock (and a fresh snapshot), so a
    second process waits here. PostgreSQL: the row lock on the source's row.
    """
    values = {"source_id": source_id, "locked_at": None}
    dialect = connection.dialect.name
    if dialect in ("sqlite", "postgresql"):
        module = sqlite if dialect == "sqlite" else postgresql
        connection.execute(module.insert(import_locks).values(values).on_conflict_do_nothing())
    elif not connection.execute(
        select(func.count()).select_from(import_locks).where(import_locks.c.source_id == source_id)
    ).scalar_one():
        connection.execute(import_locks.insert().values(values))
    connection.execute(
        update(import_locks).where(import_locks.c.source_id == source_id).values(locked_at=dt.datetime.now())
    )


_SAME_COLUMNS = (
    imports.c.import_id,
    imports.c.file_name,
    imports.c.extract_date,
    imports.c.status,
    imports.c.superseded_by,
    imports.c.mapping_fingerprint,
    imports.c.rows_read,
    imports.c.rows_stored,
    imports.c.rows_quarantined,
    imports.c.rows_unchanged,
    imports.c.message,
)


def find_same_import(
    connection: Connection,
    *,
    source_id: str,
    sha: str,
    file_name: str,
    extract: dt.date | None,
    fingerprint: str,
) -> Row | None:
    """The import this file need not be read again for, or ``None`` (read it).

    A current import of the same content and extract read under the same mapping
    (``status`` stored: the file is unchanged), or the pending held import of it
    (``status`` held: still held). Identical content with a newer extract date is
    imported again so that the newer extract is complete; so is a file put back after
    being replaced, and a current file whose mapping, codes or settings changed.
    """
    matches = connection.execute(
        select(*_SAME_COLUMNS)
        .where(
            imports.c.source_id == source_id,
            imports.c.file_sha256 == sha,
            imports.c.status.in_(("stored", "held")),
        )
        .order_by(imports.c.import_id.desc())
    ).all()
    same = [m for m in matches if (m.extract_date == extract if extract else m.file_name == file_name)]
    if not same:
        return None
    for match in same:
        if match.superseded_by is None:  # current (stored) or pending (held)
            return match if match.mapping_fingerprint == fingerprint else None
    replaced_by_same_file = connection.execute(
        select(func.count()).where(
            current_import_condition(source_id),
            imports.c.file_name == file_name,
            imports.c.extract_date == same[0].extract_date,
        )
    ).scalar_one()
    return None if replaced_by_same_file else same[0]


def supersede(connection: Connection, *, import_id: int, source_id: str, file_name: str) -> bool:
    """Make a stored import current, or history when a newer extract is current.

    Older extracts of the source (and an earlier version of the same file) become
    history, and pending held files they outdate are retired. Returns whether the
    import is current.
    """
    extract = connection.execute(
        select(imports.c.extract_date).where(imports.c.import_id == import_id)
    ).scalar_one()
    newer = connection.execute(
        select(imports.c.import_id)
        .where(
            current_import_condition(source_id),
            imports.c.extract_date > extract,
            imports.c.import_id != import_id,
        )
        .order_by(imports.c.extract_date.desc(), imports.c.import_id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if newer is not None:
        connection.execute(
            update(imports).where(imports.c.import_id == import_id).values(superseded_by=newer)
        )
        return False
    older = or_(
        imports.c.extract_date < extract,
        imports.c.extract_date.is_(None),
        and_(imports.c.extract_date == extract, imports.c.file_name == file_name),
    )
    for status in ("stored", "held"):
        connection.execute(
            update(imports)
            .where(
                imports.c.source_id == source_id,
                imports.c.status == status,
                imports.c.superseded_by.is_(None),
                imports.c.import_id != import_id,
                older,
            )
            .values(superseded_by=import_id)
        )
    return True


def retire_older_held(connection: Connection, *, import_id: int, source_id: str, file_name: str) -> None:
    """A file held again (re-read) replaces its earlier pending held import."""
    connection.execute(
        update(imports)
        .where(
            imports.c.source_id == source_id,
            imports.c.status == "held",
            imports.c.superseded_by.is_(None),
            imports.c.file_name == file_name,
            imports.c.import_id != import_id,
        )
        .values(superseded_by=import_id)
    )


def file_role(file_name: str) -> str:
    """The file's name with its dates blanked: the same role in the next extract."""
    return _DATE_DIGITS.sub("*", file_name)


@dataclass(frozen=True)
class NewExtract:
    """What a just-written file holds, for :func:`hold_reasons`."""

    import_id: int
    source_id: str
    file_name: str
    extract_date: dt.date | None
    rows_read: int
    rows_kept: int  # stored + unchanged
    rows_quarantined: int
    missing_columns: tuple[str, ...]


_COMPARED = (
    imports.c.import_id,
    imports.c.file_name,
    imports.c.extract_date,
    imports.c.rows_read,
    imports.c.rows_quarantined,
    imports.c.missing_columns,
)


def _counterpart(connection: Connection, new: NewExtract) -> tuple[list[Row], Row | None]:
    """The source's current imports, and the file of the previous extract in the new
    file's role. A sibling of the new extract stored just before (several files per
    extract) has already superseded the previous extract: its files are looked up too."""
    current = connection.execute(
        select(*_COMPARED).where(
            current_import_condition(new.source_id), imports.c.import_id != new.import_id
        )
    ).all()
    siblings = [row.import_id for row in current if new.extract_date and row.extract_date == new.extract_date]
    replaced = (
        connection.execute(
            select(*_COMPARED).where(imports.c.status == "stored", imports.c.superseded_by.in_(siblings))
        ).all()
        if siblings
        else []
    )
    role = file_role(new.file_name)
    same_role = [row for row in [*current, *replaced] if file_role(row.file_name) == role]
    same_role.sort(key=lambda row: (row.extract_date or dt.date.min, row.import_id))
    return current, (same_role[-1] if same_role else None)


def hold_reasons(connection: Connection, new: NewExtract, rules: HoldRules) -> list[str]:
    """Why a new extract must not replace the current one (Japanese), or ``[]``.

    Only an extract that would become current while the source has a current extract
    is judged; it is compared with the current file of the same role (same name but for
    its date).
    """
    current, counterpart = _counterpart(connection, new)
    if not current or any(
        row.extract_date and new.extract_date and row.extract_date > new.extract_date for row in current
    ):
        return []
    reasons: list[str] = []
    if new.rows_kept == 0:
        reasons.append("取り込める行が1行もありません(見出しだけのファイルか、すべての行が取込エラーです)。")
    elif new.rows_read and 100 * new.rows_quarantined / new.rows_read > rules.max_quarantine_percent:
        share = 100 * new.rows_quarantined / new.rows_read
        reasons.append(
            f"{new.rows_read}行のうち{new.rows_quarantined}行({share:.0f}%)が取込エラーです"
            f"(設定「保留: 取込エラー率の上限(%)」は {rules.max_quarantine_percent:g}%)。"
        )
    if counterpart is None:  # a file of a new role: nothing of the same kind to compare
        return reasons
    reasons += _count_change(new, counterpart, rules)
    # Columns the current file lacked too (or unknown: stored before schema 3) are no news.
    missing_before = (
        set(new.missing_columns)
        if counterpart.missing_columns is None
        else set(json.loads(counterpart.missing_columns))
    )
    newly_missing = [column for column in new.missing_columns if column not in missing_before]
    if newly_missing:
        reasons.append(
            f"項目マッピングにある列「{'」「'.join(newly_missing)}」がファイルにありません"
            "(現在のデータにはありました)。"
        )
    return reasons


def _count_change(new: NewExtract, counterpart: Row, rules: HoldRules) -> list[str]:
    before = (counterpart.rows_read or 0) - (counterpart.rows_quarantined or 0)
    if before <= 0 or new.rows_kept == 0:
        return []
    change = 100 * (new.rows_kept - before) / before
    where = f"現在のデータ「{counterpart.file_name}」の{before}行から{new.rows_kept}行に"
    if change < -rules.max_decrease_percent:
        return [
            f"{where}減りました({-change:.0f}%減。設定「保留: 件数減少の上限(%)」は "
            f"{rules.max_decrease_percent:g}%)。ファイルが途中で切れていないか確認してください。"
        ]
    if change > rules.max_increase_percent:
        return [
            f"{where}増えました({change:.0f}%増。設定「保留: 件数増加の上限(%)」は "
            f"{rules.max_increase_percent:g}%)。別のファイルが混ざっていないか確認してください。"
        ]
    return []


def pending_held(connection: Connection, source_id: str | None = None) -> list[Row]:
    """Held imports not yet accepted nor replaced, oldest extract first."""
    statement = select(
        imports.c.import_id,
        imports.c.source_id,
        imports.c.file_name,
        imports.c.file_sha256,
        imports.c.extract_date,
        imports.c.message,
    ).where(imports.c.status == "held", imports.c.superseded_by.is_(None))
    if source_id is not None:
        statement = statement.where(imports.c.source_id == source_id)
    rows = connection.execute(statement).all()
    return sorted(rows, key=lambda row: (row.extract_date or dt.date.min, row.import_id))


def accept_held(connection: Connection, row: Row, *, user_name: str) -> bool:
    """Accept one held import: it is stored and supersedes like a normal import.

    Returns whether it became current (``False``: a newer extract is current already).
    """
    connection.execute(
        update(imports)
        .where(imports.c.import_id == row.import_id)
        .values(status="stored", accepted_by=user_name, accepted_at=dt.datetime.now())
    )
    return supersede(connection, import_id=row.import_id, source_id=row.source_id, file_name=row.file_name)


def removed_accepted(connection: Connection, source_id: str, present_files: set[str]) -> list[Row]:
    """Current accepted imports of the source whose file left the import folder (a read:
    the caller takes the lock only when there is something to withdraw)."""
    return [
        row
        for row in connection.execute(
            select(imports.c.import_id, imports.c.file_name).where(
                current_import_condition(source_id), imports.c.accepted_at.is_not(None)
            )
        ).all()
        if row.file_name not in present_files
    ]


def withdraw_removed(connection: Connection, source_id: str, present_files: set[str]) -> list[str]:
    """Withdraw current accepted imports whose file left the import folder.

    The imports they replaced are current again. Returns the withdrawn file names.
    """
    gone = removed_accepted(connection, source_id, present_files)
    for row in gone:
        connection.execute(
            update(imports)
            .where(imports.c.superseded_by == row.import_id, imports.c.status == "stored")
            .values(superseded_by=None)
        )
        connection.execute(
            update(imports)
            .where(imports.c.import_id == row.import_id)
            .values(
                status="withdrawn", message="承認したファイルが取込フォルダから削除されたため取り消しました。"
            )
        )
    return [row.file_name for row in gone]
