"""Bring a database to the newest schema; every command that needs the database calls this.

Several processes may migrate one fresh database at once (two commands on a new state
directory): the migration is serialized. SQLite: `fcntl.flock` on `<database>.migrate-lock`
beside the file, taken before the first connection. PostgreSQL: `pg_advisory_xact_lock` inside
the migration transaction (released at its commit or rollback). Under the lock the revision is
read again, so the second process finds the schema at head and applies nothing. A lock not
granted within `MIGRATION_LOCK_TIMEOUT_SECS` raises LockedError (exit 75).

A database already at head is told by one query of `alembic_version` against the newest
revision of the shipped scripts (read from their files): alembic itself is imported only when a
migration is due, which keeps it out of every command's start-up.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from mismarterad.core.errors import LockedError, StorageError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["MIGRATION_LOCK_TIMEOUT_SECS", "current_revision", "head_revision", "shipped_head", "upgrade"]

_MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK_TIMEOUT_SECS = 120.0
#: pg_advisory_xact_lock key of the migration: the bytes "mismarte" as a signed 64-bit integer
_PG_LOCK_KEY = int.from_bytes(b"mismarte", "big", signed=True)


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest revision this version of the package knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


_REVISION = re.compile(r'^(down_revision|revision)\s*=\s*"([^"]*)"', re.MULTILINE)


@lru_cache(maxsize=1)
def shipped_head() -> str | None:
    """The head of the shipped scripts read from their `revision`/`down_revision` lines without
    alembic; None if they do not form one chain (then alembic decides)."""
    revisions, parents = set(), set()
    for script in (_MIGRATIONS / "versions").glob("*.py"):
        found = dict((key, value) for key, value in _REVISION.findall(script.read_text()))
        if "revision" in found:
            revisions.add(found["revision"])
            if found.get("down_revision"):
                parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _stored_revisions(engine: Engine) -> list[str] | None:
    """The revisions `alembic_version` holds; None when there is no such table yet."""
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except DBAPIError:
        return None


def upgrade(engine: Engine) -> bool:
    """Migrate to head in one transaction, serialized across processes (see the module
    docstring); return True if anything was applied."""
    shipped = shipped_head()
    if shipped is not None and _stored_revisions(engine) == [shipped]:
        return False  # at head: nothing to take a lock for, nor to import alembic for
    head = head_revision()
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return _upgrade(engine, head)
        with _file_lock(Path(database).with_name(Path(database).name + ".migrate-lock")):
            return _upgrade(engine, head)
    if current_revision(engine) == head:
        return False
    return _upgrade(engine, head, lock=_pg_lock if backend == "postgresql" else None)


def _upgrade(engine: Engine, head: str, lock=None) -> bool:  # type: ignore[no-untyped-def]
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    cfg = _config()
    with engine.begin() as conn:
        if lock is not None:
            lock(conn)
        if MigrationContext.configure(conn).get_current_revision() == head:
            return False  # another process migrated while we waited
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return True


def _pg_lock(conn: Connection) -> None:
    conn.execute(text(f"SET LOCAL lock_timeout = '{int(MIGRATION_LOCK_TIMEOUT_SECS * 1000)}ms'"))
    try:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    except Exception as exc:  # lock_timeout: psycopg's LockNotAvailable, wrapped by SQLAlchemy
        if "lock timeout" in str(exc).lower() or "LockNotAvailable" in type(getattr(exc, "orig", exc)).__name__:
            raise LockedError("another process is migrating this database; try again") from None
        raise


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise StorageError(f"cannot open the migration lock {path}: {exc.strerror or exc}") from exc
    try:
        deadline = time.monotonic() + MIGRATION_LOCK_TIMEOUT_SECS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockedError(f"{path}: another process is migrating this database; try again") from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)
