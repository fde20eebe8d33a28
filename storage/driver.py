"""The few reads a scan needs before and while its workers match, on the DB-API driver alone.

``scan`` reads the database before it reads a byte of a file (the schema is there, the protected
set's key ids, its fingerprint for the index cache) and every worker confirms its index hits there.
SQLAlchemy's import alone is 0.2-0.3 CPU s: through SQLAlchemy these reads made the parent import it
before forking (serial start-up) or each worker import it after. Here they run on ``sqlite3`` (a
workspace file) or ``psycopg`` (PostgreSQL), so ``scan --jobs N`` forks its workers first and the
parent imports SQLAlchemy while they match. The statements read what
:mod:`storage.repositories.protected` writes, and tests hold both readings equal.

Only plain URLs are read this way (a SQLite file that exists on a writable file system, or a
PostgreSQL URL without options); :meth:`Driver.for_url` gives None otherwise and the caller goes
through SQLAlchemy. Each process opens its own connection: a forked worker never uses (nor closes)
its parent's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: Digests per statement (SQLite allows 32,766 bound values); :data:`storage.repositories.protected.CONFIRM_BATCH`.
CONFIRM_BATCH = 2000
#: :data:`storage.db.SQLITE_BUSY_TIMEOUT_MS`
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: How a mask row's subjects are packed, sorted (``storage.repositories.protected._SUBJECTS``).
_SUBJECTS = ">i8"


def sqlite_database(url: str) -> str | None:
    """The database of a plain SQLite URL (``sqlite:///path``; "" in memory); None for anything else."""
    for scheme in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(scheme):
            database = url.removeprefix(scheme)
            return None if "?" in database or "%" in database else database
    return "" if url in ("sqlite://", "sqlite+pysqlite://") else None


class Driver:
    """Reads of the protected set over one connection per process (see the module docstring)."""

    def __init__(self, connect: Any, marker: str, begin: str, errors: tuple[type[Exception], ...]) -> None:
        self._connect = connect
        self._marker = marker
        self._begin = begin
        #: what the driver raises: a start-up read that fails goes through SQLAlchemy instead
        self.errors = errors
        self._connection: Any = None
        self._pid = 0
        self._inherited: list[Any] = []  # a parent's connections, never used or closed in this process

    @classmethod
    def for_url(cls, url: str, *, read_only: bool = False) -> Driver | None:
        """A driver for ``url``, or None when SQLAlchemy must read it (see the module docstring)."""
        database = sqlite_database(url)
        if database is not None:
            if not database or database == ":memory:" or read_only or not Path(database).is_file():
                return None
            import sqlite3

            def connect_sqlite() -> Any:
                connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
                connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                return connection

            # BEGIN deferred: a snapshot that holds no lock a writer waits for (storage.db.read_snapshot)
            return cls(connect_sqlite, "?", "BEGIN", (sqlite3.Error,))
        for scheme in ("postgresql://", "postgresql+psycopg://"):
            if url.startswith(scheme) and "?" not in url:
                conninfo = "postgresql://" + url.removeprefix(scheme)
                import psycopg

                def connect_postgres(conninfo: str = conninfo) -> Any:
                    return psycopg.connect(conninfo, autocommit=True)

                return cls(connect_postgres, "%s", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", (psycopg.Error,))
        return None

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A cursor reading one consistent snapshot (rolled back after: nothing is written)."""
        if self._pid != os.getpid():
            if self._connection is not None:
                self._inherited.append(self._connection)
            self._connection, self._pid = self._connect(), os.getpid()
        cursor = self._connection.cursor()
        cursor.execute(self._begin)
        try:
            yield cursor
        finally:
            cursor.execute("ROLLBACK")
            cursor.close()

    def close(self) -> None:
        """Close this process's connection (never one inherited from a parent)."""
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None
        self._pid = 0

    # ------------------------------------------------------------------ start-up
    def has_schema(self) -> bool:
        """Whether the database was initialised (``alembic_version`` exists)."""
        with self.snapshot() as cursor:
            if self._marker == "?":
                cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")
            else:
                cursor.execute("SELECT to_regclass('alembic_version')")
            row = cursor.fetchone()
        return row is not None and row[0] is not None

    def set_key_ids(self) -> set[str]:
        """:func:`storage.repositories.protected.set_key_ids`"""
        with self.snapshot() as cursor:
            cursor.execute("SELECT key_id FROM protected_sets")
            return {key for (key,) in cursor.fetchall()}

    def set_fingerprint(self, key_id: str) -> str:
        """:func:`storage.repositories.protected.set_fingerprint`"""
        with self.snapshot() as cursor:
            query = f"SELECT version, digests FROM protected_sets WHERE key_id = {self._marker}"  # noqa: S608
            cursor.execute(query, (key_id,))
            row = cursor.fetchone()
        return f"{key_id}:empty" if row is None else f"{key_id}:{row[0]}:{row[1]}"

    # ------------------------------------------------------------------ confirming index hits
    def confirm_digests(self, digests: Iterable[bytes]) -> dict[bytes, tuple[int, ...]]:
        """:func:`storage.repositories.protected.confirm_digests`: digest -> the subjects that hold it."""
        import numpy as np  # loaded already by whoever matches; not by a listing's start-up

        by_prefix: dict[int, list[bytes]] = {}
        for digest in dict.fromkeys(digests):
            by_prefix.setdefault(int.from_bytes(digest[:8], "big", signed=True), []).append(digest)
        found: dict[bytes, list[int]] = {}
        prefixes = list(by_prefix)
        with self.snapshot() as cursor:
            for start in range(0, len(prefixes), CONFIRM_BATCH):
                chunk = prefixes[start : start + CONFIRM_BATCH]
                wanted = ", ".join([self._marker] * len(chunk))
                cursor.execute(
                    f"SELECT prefix, rest, subject_id FROM protected_identifiers WHERE prefix IN ({wanted})",  # noqa: S608
                    chunk,
                )
                for prefix, rest, subject_id in cursor.fetchall():
                    digest = _join(prefix, rest)
                    if digest in by_prefix[prefix]:
                        found.setdefault(digest, []).append(subject_id)
                cursor.execute(
                    f"SELECT prefix, rest, subjects FROM protected_masks WHERE prefix IN ({wanted})",  # noqa: S608
                    chunk,
                )
                for prefix, rest, subjects in cursor.fetchall():
                    digest = _join(prefix, rest)
                    if digest in by_prefix[prefix]:
                        found.setdefault(digest, []).extend(np.frombuffer(bytes(subjects), dtype=_SUBJECTS).tolist())
        return {digest: tuple(sorted(set(ids))) for digest, ids in found.items()}

    def confirm_pairs(self, pairs: Iterable[tuple[bytes, int]]) -> set[tuple[bytes, int]]:
        """:func:`storage.repositories.protected.confirm_pairs`: the (digest, subject) pairs the set holds."""
        import numpy as np

        wanted: dict[tuple[int, int], list[bytes]] = {}
        for digest, subject in dict.fromkeys(pairs):
            wanted.setdefault((int.from_bytes(digest[:8], "big", signed=True), subject), []).append(digest)
        found: set[tuple[bytes, int]] = set()
        keys = list(wanted)
        step = CONFIRM_BATCH // 2  # two parameters a pair
        row = f"(CAST({self._marker} AS BIGINT), CAST({self._marker} AS BIGINT))"
        by_prefix: dict[int, list[tuple[bytes, int]]] = {}
        for (prefix, subject), digests in wanted.items():
            for digest in digests:
                by_prefix.setdefault(prefix, []).append((digest, subject))
        prefixes = list(by_prefix)
        with self.snapshot() as cursor:
            for start in range(0, len(keys), step):
                chunk = keys[start : start + step]
                cursor.execute(
                    f"WITH wanted (p, s) AS (VALUES {', '.join([row] * len(chunk))}) "  # noqa: S608
                    "SELECT t.prefix, t.subject_id, t.rest FROM wanted "
                    "JOIN protected_identifiers t ON t.prefix = wanted.p AND t.subject_id = wanted.s",
                    [value for pair in chunk for value in pair],
                )
                for prefix, subject_id, rest in cursor.fetchall():
                    digest = _join(prefix, rest)
                    if digest in wanted.get((prefix, subject_id), ()):
                        found.add((digest, subject_id))
            for start in range(0, len(prefixes), CONFIRM_BATCH):
                some = prefixes[start : start + CONFIRM_BATCH]
                cursor.execute(
                    "SELECT prefix, rest, subjects FROM protected_masks "  # noqa: S608
                    f"WHERE prefix IN ({', '.join([self._marker] * len(some))})",
                    some,
                )
                for prefix, rest, subjects in cursor.fetchall():
                    digest = _join(prefix, rest)
                    asked = [s for d, s in by_prefix[prefix] if d == digest]
                    if not asked:
                        continue
                    held = np.frombuffer(bytes(subjects), dtype=_SUBJECTS)  # sorted
                    at = np.searchsorted(held, asked)
                    for subject, i in zip(asked, at.tolist(), strict=True):
                        if i < len(held) and int(held[i]) == subject:
                            found.add((digest, subject))
        return found


def _join(prefix: int, rest: bytes) -> bytes:
    """:func:`storage.repositories.protected.join_digest`"""
    return prefix.to_bytes(8, "big", signed=True) + bytes(rest)
