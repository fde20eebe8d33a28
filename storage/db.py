"""Engines and sessions for SQLite (one machine) and PostgreSQL (shared).

SQLite runs in WAL mode with a busy timeout, and writers take the lock up front with
``BEGIN IMMEDIATE`` so two writers queue instead of failing mid-transaction; a long read (an
export) takes a :func:`read_snapshot` instead, which holds no lock writers wait for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, *, read_only: bool = False, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with leakmon's per-dialect settings.

    ``read_only`` (SQLite on a read-only file system): open the file read-only so commands that
    only read still work; any write fails with SQLite's "attempt to write a readonly database".
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    parsed = make_url(url)
    if read_only and parsed.get_backend_name() == "sqlite" and parsed.database:
        url = _read_only_sqlite_url(parsed.database)
    # A statement's parameters are crawled text, hit rows and subject references: an error message
    # (logged, stored as a run's reason, sent from a crawl child) never carries them.
    kwargs.setdefault("hide_parameters", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, wal=not read_only)
    return engine


def _read_only_sqlite_url(database: str) -> str:
    """A read-only URI for a database nobody can write through this mount.

    Without a -wal file the database file holds everything committed: ``immutable`` lets SQLite
    read it without creating the -shm it cannot create here. With one, plain ``mode=ro`` reads
    the WAL through its existing -shm.
    """
    path = Path(database).resolve()
    wal = Path(f"{path}-wal")
    mode = "mode=ro" if wal.exists() and wal.stat().st_size else "mode=ro&immutable=1"
    return f"sqlite:///file:{quote(str(path))}?{mode}&uri=true"


def _configure_sqlite(engine: Engine, *, wal: bool = True) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit transactions would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A snapshot (see :func:`read_snapshot`) only reads: a deferred BEGIN takes no write lock.
        snapshot = connection.get_execution_options().get(_SNAPSHOT, False)
        connection.exec_driver_sql("BEGIN" if snapshot else "BEGIN IMMEDIATE")


_SNAPSHOT = "leakmon_snapshot"


@contextmanager
def read_snapshot(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that only reads, from one consistent snapshot, without holding writers back.

    SQLite: a deferred ``BEGIN`` (no ``BEGIN IMMEDIATE``): in WAL mode the first read fixes the
    snapshot and writers go on committing while it is read (a checkpoint cannot pass the snapshot
    until it ends, so the -wal file grows meanwhile). PostgreSQL: ``REPEATABLE READ``, read only.
    The transaction is rolled back at the end; a write through this session fails.
    """
    with factory() as session:
        sqlite = session.get_bind().dialect.name == "sqlite"
        options = {_SNAPSHOT: True} if sqlite else {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        session.connection(execution_options=options)
        try:
            yield session
        finally:
            session.rollback()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error (the caller owns it)."""
    with factory() as session, session.begin():
        yield session
