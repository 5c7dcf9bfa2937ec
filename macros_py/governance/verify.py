"""Checking the audit log's hash chain (``mimamori audit verify``).

Walks the entries in number order, recomputing each hash and checking that each entry
points at the one before it; the newest entry must be the head recorded in
``schema_info``. The first entry that fails is named: an edited entry fails its own hash,
a deleted or moved entry breaks the link of the entry after it, deleted last entries
leave the recorded head without its entry.

The chain has no secret key: it shows accidental and casual tampering (an entry edited,
deleted or reordered with a database tool), not a rewrite of the whole chain by someone
who also recomputes every hash. Keeping the head's number in the run log beside the
workbook (written after every run) lets an auditor compare it with the store.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import String, cast, select

from macros_py.governance.vocabulary import audit_action_label
from macros_py.store import Store
from macros_py.store.audit_chain import GENESIS_HASH, read_head, row_entry_hash
from macros_py.store.schema import audit_log

_BATCH_ROWS = 5_000


@dataclass(frozen=True)
class BadEntry:
    """The first entry that breaks the chain, and why (Japanese)."""

    audit_id: int
    at: str
    user_name: str
    action: str
    problem: str


@dataclass(frozen=True)
class ChainCheck:
    """The result of checking the chain."""

    entries: int
    last_id: int | None
    first_bad: BadEntry | None

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    def message(self) -> str:
        """One Japanese sentence for staff and auditors."""
        if self.first_bad is None:
            return f"監査ログは改ざんされていません({self.entries} 件を確認しました)。"
        bad = self.first_bad
        where = f"番号 {bad.audit_id}"
        if bad.at:
            where += f"({bad.at}、{bad.user_name}、{audit_action_label(bad.action)})"
        return f"監査ログに異常があります。最初の異常は{where}の記録です: {bad.problem}"

    def as_json(self) -> dict:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "last_id": self.last_id,
            "first_bad": asdict(self.first_bad) if self.first_bad else None,
            "message": self.message(),
        }


def _bad(row, problem: str) -> BadEntry:
    return BadEntry(
        int(row.audit_id),
        str(row.at_text or "")[:19],
        str(row.user_name or ""),
        str(row.action or ""),
        problem,
    )


def _timestamp(text: str | None) -> datetime | None:
    """The stored timestamp, read as text so that an edited, unreadable one is reported, not raised."""
    try:
        return datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None


def _row_problem(row, expected_previous: str) -> str | None:
    at = _timestamp(row.at_text)
    if at is None:
        return "日時が読めません(書き換えられています)。"
    if not row.entry_hash or not row.prev_hash:
        return "ハッシュがありません(記録の仕組みを通さずに追加された記録です)。"
    if row.prev_hash != expected_previous:
        return "直前の記録とつながっていません(この記録の前の記録が削除・追加されたか、記録の順序が入れ替えられています)。"
    if row_entry_hash(row, at=at, prev_hash=row.prev_hash) != row.entry_hash:
        return "記録の内容が書き換えられています(ハッシュが一致しません)。"
    return None


def verify_audit_log(store: Store) -> ChainCheck:
    """Check every entry of the audit log; stop at the first that breaks the chain."""
    count = 0
    previous = GENESIS_HASH
    last_id: int | None = None
    with store.engine.connect() as connection:
        head = read_head(connection)
        columns = [column for column in audit_log.columns if column.name != "at"]
        result = connection.execution_options(yield_per=_BATCH_ROWS).execute(
            select(*columns, cast(audit_log.c.at, String).label("at_text")).order_by(audit_log.c.audit_id)
        )
        for row in result:
            count += 1
            problem = _row_problem(row, previous)
            if problem:
                result.close()
                return ChainCheck(count, row.audit_id, _bad(row, problem))
            previous, last_id = row.entry_hash, int(row.audit_id)
    return ChainCheck(count, last_id, _head_problem(head, last_id, previous))


def _head_problem(head: tuple[int, str] | None, last_id: int | None, last_hash: str) -> BadEntry | None:
    """Compare the newest entry with the head recorded when it was written."""
    if head is None:
        if last_id is None:
            return None
        return BadEntry(
            last_id, "", "", "", "最新の記録の控え(audit_head)がありません。控えが削除されています。"
        )
    head_id, head_hash = head
    if last_id is None:
        return BadEntry(
            head_id, "", "", "", f"記録がありません。番号 {head_id} までの記録が削除されています。"
        )
    if (head_id, head_hash) == (last_id, last_hash):
        return None
    if head_id > last_id:
        return BadEntry(
            last_id + 1,
            "",
            "",
            "",
            f"番号 {last_id + 1} 以降の記録がありません。番号 {head_id} までの記録があったはずです(削除されています)。",
        )
    return BadEntry(
        last_id, "", "", "", f"最新の記録が控え(番号 {head_id})と一致しません。記録が書き換えられています。"
    )
