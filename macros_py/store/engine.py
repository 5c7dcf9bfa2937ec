"""Opening the store: URL resolution, SQLite pragmas and the network-share guard."""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from macros_py.store.audit_chain import AuditEntry, append_entries
from macros_py.store.migrations import upgrade

logger = logging.getLogger(__name__)

_NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smbfs", "smb3", "fuse.sshfs", "9p", "afs"}
_SQLITE_HEADER = b"SQLite format 3\x00"
STORE_BACKUP_FOLDER = "バックアップ"  # the workbook's backup folder; copies of the store may sit there too
LOCK_TIMEOUT_ENVIRONMENT = "MIMAMORI_LOCK_TIMEOUT_SECONDS"
DEFAULT_LOCK_TIMEOUT_SECONDS = 30.0


class StoreLocationError(ValueError):
    """The SQLite file would sit somewhere it must not (a network share)."""


class StoreUnreadableError(ValueError):
    """The store file exists but is not a usable SQLite database; the message is Japanese.

    An empty (0-byte) or damaged file is never treated as a new store: that would
    silently start again from nothing while the staff's data sits in a backup.
    """


def lock_timeout_seconds() -> float:
    """How long a run waits for another run's write transaction (``MIMAMORI_LOCK_TIMEOUT_SECONDS``)."""
    try:
        return max(float(os.environ.get(LOCK_TIMEOUT_ENVIRONMENT, DEFAULT_LOCK_TIMEOUT_SECONDS)), 0.0)
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT_SECONDS


def resolve_store_url(location: str | os.PathLike[str]) -> str:
    """Turn a setting value (a file path or an SQLAlchemy URL) into an SQLAlchemy URL.

    Args:
        location: ``postgresql+psycopg://...``, ``sqlite:///...`` or a plain file path.

    Returns:
        An SQLAlchemy URL string.

    Raises:
        StoreLocationError: if an SQLite file would be on a network share.
    """
    text = str(location)
    if "://" in text:
        if text.startswith("sqlite:///") and text != "sqlite:///:memory:":
            _refuse_network_path(Path(text.removeprefix("sqlite:///")))
        return text
    path = Path(text).expanduser().resolve()
    _refuse_network_path(path)
    return f"sqlite:///{path}"


def _refuse_network_path(path: Path) -> None:
    text = str(path)
    if text.startswith(("\\\\", "//")):
        raise StoreLocationError(
            f"データベースファイル {text} がネットワーク共有上にあります。SQLite はネットワーク共有に置けません。"
            "ローカルディスクに置くか、設定タブの「データベース」に PostgreSQL の URL を指定してください。"
        )
    fs_type = _filesystem_type(path)
    if fs_type in _NETWORK_FILESYSTEMS:
        raise StoreLocationError(
            f"データベースファイル {text} はネットワークファイルシステム({fs_type})上にあります。"
            "ローカルディスクに置くか、PostgreSQL を使ってください。"
        )


def _filesystem_type(path: Path) -> str | None:
    mounts = Path("/proc/mounts")
    if not mounts.exists():
        return None
    best, best_type = "", None
    target = str(path)
    for line in mounts.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 3 and target.startswith(parts[1]) and len(parts[1]) > len(best):
            best, best_type = parts[1], parts[2]
    return best_type


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # The wait comes first: switching to WAL itself needs a lock another run may hold.
    cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout_seconds() * 1000)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@dataclass(frozen=True)
class Store:
    """An opened, migrated store."""

    engine: Engine
    url: str

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def audit(
        self,
        user_name: str,
        action: str,
        target: str | None = None,
        detail: dict | None = None,
        *,
        counts: dict | None = None,
    ) -> int:
        """Append one entry to the hash-chained audit log (who did what, where, when); return its number.

        Args:
            user_name: Who did it (the Windows account).
            action: What was done (an id of ``macros_py.governance.vocabulary``).
            target: To what: an action id, a file name, a 判定ID, a tab name. Never a
                child's name or 宛名番号.
            detail: Further ids and figures (JSON).
            counts: How many (JSON).
        """
        entry = AuditEntry(action=action, user_name=user_name, target=target, counts=counts, detail=detail)
        return self.audit_entries([entry])[0]

    def audit_entries(self, entries: list[AuditEntry]) -> list[int]:
        """Append several entries in one transaction (one lock), in order; return their numbers."""
        with self.engine.begin() as connection:
            return append_entries(connection, entries)

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL (``None`` for other databases and memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _check_sqlite_file(path: Path) -> None:
    """Refuse an existing store file that is empty or not an SQLite database."""
    with path.open("rb") as file:
        header = file.read(len(_SQLITE_HEADER))
    if header == _SQLITE_HEADER:
        return
    what = "空(0バイト)" if not header else "データベースとして読めない内容"
    backup = newest_store_backup(path)
    advice = (
        f"最新のバックアップ「{backup}」を「{path.name}」としてコピーして元に戻すか、管理者に連絡してください。"
        if backup
        else "バックアップから元に戻すか、管理者に連絡してください。"
    )
    raise StoreUnreadableError(
        f"データベースファイル「{path}」が{what}になっています。新しいデータベースとしては扱わず、処理を中止しました。"
        + advice
    )


def newest_store_backup(path: Path) -> Path | None:
    """The newest copy of the store file (``<name>*<suffix>`` beside it or in バックアップ), if any."""
    candidates = [
        candidate
        for folder in (path.parent, path.parent / STORE_BACKUP_FOLDER)
        if folder.is_dir()
        for candidate in folder.glob(f"{path.stem}*{path.suffix}")
        if candidate.is_file() and candidate.resolve() != path.resolve() and candidate.stat().st_size > 0
    ]
    return max(candidates, key=lambda candidate: candidate.stat().st_mtime_ns, default=None)


_STALE_NEW_STORE_SECONDS = 600


def _remove_stale_new_stores(path: Path) -> None:
    """Delete half-built stores a killed first run left (``.<name>.<hex>.new``, older than 10 minutes)."""
    now = time.time()
    for leftover in path.parent.glob(f".{path.name}.*.new*"):
        try:
            if now - leftover.stat().st_mtime > _STALE_NEW_STORE_SECONDS:
                leftover.unlink()
        except OSError:
            logger.warning("cannot remove %s", leftover, exc_info=True)


def _create_sqlite_file(path: Path) -> None:
    """Create a new SQLite store atomically: build it under a temporary name, then link it in.

    Two first runs at once both build a copy; the first link wins and the other run
    opens the winner's store, so nobody ever sees a half-created file.
    """
    _remove_stale_new_stores(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.new")
    engine = create_engine(f"sqlite:///{temporary}")
    try:
        upgrade(engine)
        engine.dispose()
        try:
            os.link(temporary, path)
        except FileExistsError:
            logger.info("another run created %s first", path)
        except OSError:  # a file system without hard links: rename does not overwrite on Windows
            if not path.exists():
                os.rename(temporary, path)
    finally:
        engine.dispose()
        for leftover in (temporary, Path(f"{temporary}-journal")):
            leftover.unlink(missing_ok=True)


def open_store(location: str | os.PathLike[str]) -> Store:
    """Open (creating or migrating as needed) the store at a path or SQLAlchemy URL.

    Raises:
        StoreLocationError: An SQLite file on a network share.
        StoreUnreadableError: An existing SQLite file that is empty or damaged.
    """
    url = resolve_store_url(location)
    sqlite_file = _sqlite_file(url)
    if sqlite_file is not None:
        if sqlite_file.exists():
            _check_sqlite_file(sqlite_file)
        else:
            _create_sqlite_file(sqlite_file)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    upgrade(engine)
    logger.debug("opened store %s", engine.url.render_as_string(hide_password=True))
    return Store(engine=engine, url=url)


# Words of SQLite's (and PostgreSQL's) own error texts -> what staff are told (the English text goes to the log).
_SQLITE_PROBLEMS: tuple[tuple[str, str], ...] = (
    (
        "database is locked",
        "データベースは他の職員の処理で使用中です({seconds:.0f}秒待ちましたが終わりませんでした)。"
        "しばらく待ってからもう一度実行してください。",
    ),
    (
        "database or disk is full",
        "データベースのあるディスクの空きがなくなりました。空きを作ってからもう一度実行してください。",
    ),
    (
        "readonly database",
        "データベースファイルに書き込めません(読み取り専用か、書き込み権限がありません)。管理者に連絡してください。",
    ),
    (
        "unable to open database file",
        "データベースファイルを開けません。フォルダがあるか、書き込み権限があるかを確認してください。",
    ),
    (
        "file is not a database",
        "データベースファイルが壊れているか、データベースではありません。バックアップから元に戻すか、管理者に連絡してください。",
    ),
    (
        "could not connect",
        "データベースのサーバーに接続できません。サーバーが動いているか、設定タブの「データベース」を確認してください。",
    ),
    (
        "connection refused",
        "データベースのサーバーに接続できません。サーバーが動いているか、設定タブの「データベース」を確認してください。",
    ),
    (
        "password authentication failed",
        "データベースのサーバーにログインできません。設定タブの「データベース」の利用者名とパスワードを確認してください。",
    ),
    (
        "database disk image is malformed",
        "データベースファイルが壊れています。バックアップから元に戻すか、管理者に連絡してください。",
    ),
)


def describe_store_error(error: BaseException) -> str | None:
    """A Japanese sentence for a store problem staff can act on, or ``None`` if unknown.

    Our own errors already speak Japanese; SQLite's English errors (locked, disk full,
    read-only, damaged) are recognised by their text anywhere in the exception chain.
    """
    if isinstance(error, StoreLocationError | StoreUnreadableError):
        return str(error)
    from macros_py.store.migrations import StoreVersionError

    if isinstance(error, StoreVersionError):
        return str(error)
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current).lower()
        for words, message in _SQLITE_PROBLEMS:
            if words in text:
                return message.format(seconds=lock_timeout_seconds())
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return None
