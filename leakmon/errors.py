"""Typed domain errors; the CLI maps each to one clear sentence and an exit code.

Exit codes (README and ``leakmon --help`` list the same table):

====  ==========================================================================================
0     done (also when nothing was found)
1     the work ran and reports a failure: a hit with ``--fail-on-hit``, a file ``scan`` did not
      read to its end (a cap stopped it), a failed crawl or run, an undelivered alert, a broken
      audit chain
2     bad usage, configuration or input (an unknown option value, a typo in the settings, an
      unreadable file, a workspace that was never initialised)
3     the key file is missing, unreadable or unsafe
4     a named thing (hit, incident, case, source) does not exist
5     another scheduler holds the job store; a Telegram account problem
6     Telegram cannot be reached right now
7     the database cannot be reached or opened
8     the workspace cannot be written: the disk is full, the file system is read-only, or permission
      is denied
====  ==========================================================================================
"""

from __future__ import annotations

from storage.failures import storage_failure


class LeakmonError(Exception):
    """Base of every error the CLI reports as a sentence rather than a traceback."""

    exit_code = 2


class ConfigError(LeakmonError):
    """The configuration or the workspace is not usable."""


class KeyError_(LeakmonError):
    """The key file is missing, unreadable or has unsafe permissions."""

    exit_code = 3


class InputError(LeakmonError):
    """An input file cannot be used (missing, unknown columns, bad encoding)."""


class NotFoundError(LeakmonError):
    """A named thing (incident, case, source) does not exist."""

    exit_code = 4


class DatabaseUnavailable(LeakmonError):
    """The database server cannot be reached, or the database cannot be opened."""

    exit_code = 7


class StorageError(LeakmonError):
    """The workspace cannot be written: disk full, read-only file system, permission denied."""

    exit_code = 8


def storage_error(exc: BaseException) -> StorageError | None:
    """The one-sentence error for a full disk, a read-only or forbidden workspace (None otherwise)."""
    reason = storage_failure(exc)
    return StorageError(reason) if reason is not None else None


def database_error(exc: Exception, where: str | None = None) -> LeakmonError:
    """One sentence for a database that cannot be reached, opened or written.

    ``exc`` is SQLAlchemy's OperationalError/InterfaceError; ``where`` the URL without password.
    """
    stored = storage_error(exc)
    if stored is not None:
        return stored
    original = getattr(exc, "orig", None) or exc
    reason = (str(original).strip().splitlines() or [type(original).__name__])[0]
    target = f"the database {where}" if where else "the database"
    return DatabaseUnavailable(f"cannot use {target}: {reason}")
