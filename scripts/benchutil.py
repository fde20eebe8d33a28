"""What the benchmarks measure of a command they run: its own peak RSS, a local PostgreSQL's CPU.

Shared by ``bench_massbreach.py`` and ``bench_incident_views.py``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


class PeakRss:
    """The child's own peak RSS in MB: its ``VmHWM``, read every 50 ms until it exits.

    Not ``wait4``'s ``ru_maxrss``: Linux carries the forked copy of this process's memory (the
    parent's RSS at fork, before exec) into it, so a bench parent that had seeded a database
    in-process reported its own 250-330 MB for every child. A peak reached in the child's last
    50 ms can be missed.
    """

    def __init__(self, pid: int) -> None:
        self.peak_kib = 0
        self._status = Path(f"/proc/{pid}/status")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while True:
            try:
                text = self._status.read_text()
            except OSError:
                return
            for line in text.splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_kib = max(self.peak_kib, int(line.split()[1]))
            if self._stop.wait(0.05):
                return

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kib / 1024


class ServerCpu:
    """CPU seconds of a local PostgreSQL's backends on the bench database while a command runs.

    A thread reads /proc/PID/stat of every backend of the database (its own excepted) twice a
    second and keeps each one's last reading, so a backend's last half second may be missed.
    Nothing (0.0) on SQLite or a server on another machine.
    """

    def __init__(self, db_url: str) -> None:
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if db_url.startswith("postgresql"):
            self._thread = threading.Thread(target=self._poll, args=(db_url,), daemon=True)
            self._thread.start()

    def _poll(self, db_url: str) -> None:
        import psycopg

        name = db_url.rsplit("/", 1)[1]
        with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
            while True:
                pids = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
                ).fetchall()
                for (pid,) in pids:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    self.seen[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                if self._stop.wait(0.5):
                    return

    def stop(self) -> float:
        if self._thread is None:
            return 0.0
        self._stop.set()
        self._thread.join()
        return sum(self.seen.values())
