"""Guarding rarfile's external tool: its temp copies stay in a spool, its processes obey max_seconds.

rarfile copies an archive (or a member) to ``mkstemp(dir=HACK_TMP_DIR)`` before running unrar, 7z,
unar or bsdtar on it, and leaves that copy behind when the tool is missing; and it reads the tool's
output with blocking reads, so a hanging tool blocks the reader forever. :func:`guarded` points the
copies into a spool folder removed afterwards, and kills every tool process still running when the
file's time budget runs out (the read then ends and the caller reports ``cap_time``). rarfile's
one-time tool check (``unrar -?``, ``7z i``...) gets its own short timeout (:data:`CHECK_SECONDS`): a
tool that hangs there is not usable, the next one is tried, and no file's budget is spent on it.
"""

from __future__ import annotations

import contextlib
import io
import math
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

import rarfile

from crawlers import spool

_local = threading.local()
_original_popen = rarfile.custom_popen
#: How long rarfile's check of a tool (``unrar -?``) may run before the tool counts as unusable.
CHECK_SECONDS = 10.0


class ToolWatch:
    """The tool processes started for one archive, killed together when the deadline passes."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._processes: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        # No deadline (``max_seconds = inf``): no timer (an infinite wait overflows the lock's timeout).
        self._timer: threading.Timer | None = None
        if math.isfinite(seconds):
            self._timer = threading.Timer(max(seconds, 0.0), self._expire)
            self._timer.daemon = True
            self._timer.start()

    def add(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._processes.append(process)
            if self.expired:
                process.kill()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for process in self._processes:
                if process.poll() is None:
                    process.kill()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class WatchedReader(io.RawIOBase):
    """A tool's output stream that raises ``on_expiry()`` (``cap_time``) where the killed tool's output ends."""

    def __init__(self, source: IO[bytes], watch: ToolWatch, on_expiry: Callable[[], Exception]) -> None:
        super().__init__()
        self._source = source
        self._watch = watch
        self._on_expiry = on_expiry

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        try:
            data = self._source.read(len(buffer))
        except (rarfile.Error, OSError):
            if self._watch.expired:
                raise self._on_expiry() from None
            raise
        if not data and self._watch.expired:
            raise self._on_expiry()
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._source.close()
        super().close()


def _watched_popen(cmd: Any) -> Any:
    process = _original_popen(cmd)
    watch: ToolWatch | None = getattr(_local, "watch", None)
    if watch is not None:
        watch.add(process)
    return process


def _checked_tool(setup: rarfile.ToolSetup) -> bool:
    """``ToolSetup.check`` with a timeout: a tool that answers with exit 0 in time is usable."""
    try:
        process = rarfile.custom_popen(setup.get_cmdline("check_cmd", None))
    except rarfile.RarCannotExec:
        return False
    try:
        process.communicate(timeout=CHECK_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return False
    return bool(process.returncode == 0)


rarfile.custom_popen = _watched_popen
rarfile.ToolSetup.check = _checked_tool


@contextlib.contextmanager
def guarded(seconds: float) -> Iterator[ToolWatch]:
    """Within the block, rarfile's copies go to a private spool folder and its tools live ``seconds`` at most."""
    watch = ToolWatch(seconds)
    previous_dir, previous_watch = rarfile.HACK_TMP_DIR, getattr(_local, "watch", None)
    with spool.spooled("rar") as folder:
        rarfile.HACK_TMP_DIR = str(folder)
        _local.watch = watch
        try:
            yield watch
        finally:
            watch.stop()
            _local.watch = previous_watch
            rarfile.HACK_TMP_DIR = previous_dir
