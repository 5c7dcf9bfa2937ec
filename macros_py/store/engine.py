"""Opening the store: URL resolution, SQLite pragmas and the network-share guard."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, insert

from macros_py.store.migrations import upgrade
from macros_py.store.schema import audit_log

logger = logging.getLogger(__name__)

_NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smbfs", "smb3", "fuse.sshfs", "9p", "afs"}


class StoreLocationError(ValueError):
    """The SQLite file would sit somewhere it must not (a network share)."""


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
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
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
        self, user_name: str, action: str, target: str | None = None, detail: dict | None = None
    ) -> None:
        """Append one audit-log row (who did what, when)."""
        with self.engine.begin() as connection:
            connection.execute(
                insert(audit_log).values(
                    at=datetime.now(),
                    user_name=user_name,
                    action=action,
                    target=target,
                    detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
                )
            )

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(location: str | os.PathLike[str]) -> Store:
    """Open (creating or migrating as needed) the store at a path or SQLAlchemy URL."""
    url = resolve_store_url(location)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    upgrade(engine)
    logger.debug("opened store %s", engine.url.render_as_string(hide_password=True))
    return Store(engine=engine, url=url)
