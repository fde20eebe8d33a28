"""Private spool folders for leaked bytes that must touch the disk (big attachments, rar tool copies).

They live under one root inside the workspace (``<home>/spool``, mode 0700), never in the system
temp folder. Each spool folder holds a lock file its process keeps locked (``flock``) while it
lives: a process killed with SIGKILL releases the lock, so the next :func:`configure` (every crawl
and every ingest sink calls it at start) finds the folder unlocked and removes it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import cast

_LOCK = ".lock"
_root: Path | None = None
_held: dict[Path, int] = {}  # spool folder -> descriptor of its locked lock file


def configure(root: Path) -> list[Path]:
    """Use ``root`` (created 0700) for every spool of this process; remove stale spools; return them."""
    global _root
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if root.is_symlink() or root.stat().st_uid != os.getuid():
        raise PermissionError(f"spool folder {root} is a symlink or not owned by this user")
    root.chmod(0o700)
    _root = root
    return remove_stale(root)


def configure_writable(root: Path) -> list[Path]:
    """:func:`configure` ``root``, or the private fallback when ``root`` cannot be written.

    A read-only workspace still serves commands that store nothing (``scan --no-store``): their
    spools go to :func:`private_root` (0700, owned by this user, stale spools removed the same way).
    """
    try:
        removed = configure(root)
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        return configure(private_root())
    if not os.access(root, os.W_OK):
        return configure(private_root())
    return removed


def private_root() -> Path:
    """A private folder in the system temp folder (0700, this user's; a symlink or a stranger's is refused)."""
    return Path(tempfile.gettempdir()) / f"leakmon-spool-{os.getuid()}"


def root() -> Path:
    """The configured root; unconfigured (library use), :func:`private_root`."""
    if _root is None:
        configure(private_root())
    return cast(Path, _root)


def remove_stale(root: Path) -> list[Path]:
    """Remove the spool folders under ``root`` whose process is gone (their lock is free)."""
    removed: list[Path] = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not folder.is_dir() or folder.is_symlink() or folder in _held:
            continue
        if _lock_is_free(folder / _LOCK):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _lock_is_free(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return True  # killed between mkdtemp and the lock: nobody owns it
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def create(prefix: str) -> Path:
    """A new spool folder (0700) under the root, locked by this process until :func:`remove`."""
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=root()))
    fd = os.open(folder / _LOCK, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    _held[folder] = fd
    return folder


def remove(folder: Path) -> None:
    """Delete a spool folder made by :func:`create` and release its lock."""
    shutil.rmtree(folder, ignore_errors=True)
    fd = _held.pop(folder, None)
    if fd is not None:
        os.close(fd)


@contextlib.contextmanager
def spooled(prefix: str) -> Iterator[Path]:
    """A spool folder for the duration of a ``with`` block."""
    folder = create(prefix)
    try:
        yield folder
    finally:
        remove(folder)
