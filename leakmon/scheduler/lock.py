"""One scheduler process per job store, enforced by a lock the operating system or server releases
when the holder dies (so a SIGKILLed scheduler never blocks the next one).

- SQLite: an exclusive ``flock`` on ``<database>.scheduler.lock`` next to the database file.
- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on a dedicated
  connection for the scheduler's lifetime.

APScheduler's FAQ: two schedulers sharing one job store give duplicate or missed runs. Both
``leakmon schedule`` and ``leakmon run --once`` take this lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, text

from leakmon.errors import LeakmonError

#: pg advisory lock key: the bytes of "leakmon\x01" as a signed 64-bit integer.
PG_LOCK_KEY = int.from_bytes(b"leakmon\x01", "big", signed=True)


class SchedulerBusy(LeakmonError):
    """Another scheduler already holds this job store."""

    exit_code = 5


class SchedulerLock:
    """Context manager: hold the job store's scheduler lock or raise :class:`SchedulerBusy`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._fd: int | None = None
        self._connection: Any = None

    @property
    def where(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def acquire(self) -> None:
        if self.engine.dialect.name == "sqlite":
            self._acquire_file()
        elif self.engine.dialect.name == "postgresql":
            self._acquire_advisory()
        else:
            raise LeakmonError(f"no scheduler lock for database dialect {self.engine.dialect.name}")

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_LOCK_KEY})
            self._connection.close()
            self._connection = None

    def __enter__(self) -> SchedulerLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

    # -- SQLite -----------------------------------------------------------------------------------

    def lock_path(self) -> Path:
        database = self.engine.url.database
        if not database or database == ":memory:":
            raise LeakmonError("the scheduler needs a file-backed SQLite database (not :memory:)")
        # Beside the real file: a symlink or another relative path to it must find the same lock.
        path = Path(unquote(database.removeprefix("file:")))  # a read-only engine uses a file: URI
        return Path(f"{path.resolve()}.scheduler.lock")

    def _acquire_file(self) -> None:
        path = self.lock_path()
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = path.read_text(encoding="utf-8", errors="replace").strip() or "unknown process"
            os.close(fd)
            raise self._busy(holder) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        self._fd = fd

    # -- PostgreSQL -------------------------------------------------------------------------------

    def _acquire_advisory(self) -> None:
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": PG_LOCK_KEY}).scalar()
        if not got:
            holder = connection.execute(
                text(
                    "SELECT 'pid ' || a.pid || ' from ' || coalesce(host(a.client_addr), 'local socket') "
                    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1"
                )
            ).scalar()
            connection.close()
            raise self._busy(f"server backend {holder}" if holder else "another session")
        self._connection = connection

    def _busy(self, holder: str) -> SchedulerBusy:
        return SchedulerBusy(
            f"another leakmon scheduler already uses the job store in {self.where} ({holder}); "
            "run one scheduler per database: stop the other one, or wait for its `run --once` to finish"
        )
