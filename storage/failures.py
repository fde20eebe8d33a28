"""Recognise a storage failure the operator must fix: a full disk, a read-only or forbidden workspace.

Such a failure is not one bad page or one bad file: every later write fails the same way, so a
run that meets one stops and says so in one sentence instead of recording an error per page.
"""

from __future__ import annotations

import errno

#: ``errno`` values meaning "the machine's storage refused the write", not "leakmon has a bug".
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}

_HINTS = {
    errno.ENOSPC: "free some space",
    errno.EDQUOT: "free some space or raise the quota",
    errno.EFBIG: "the file size limit was reached",
    errno.EROFS: "leakmon needs a writable workspace for this",
}

#: SQLite's own words for the same conditions (SQLITE_FULL, SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_IOERR).
_SQLITE_MARKERS = ("disk is full", "readonly database", "unable to open database file", "disk i/o error")
#: PostgreSQL SQLSTATEs: disk_full, insufficient_resources' out-of-space class, read_only_sql_transaction.
_PG_STATES = {"53100", "53000", "25006"}


def storage_failure(exc: BaseException) -> str | None:
    """One sentence when ``exc`` means the storage refused a write, else None.

    Knows OSError, SQLAlchemy's wrapped DB-API errors, and the DB-API errors themselves. The
    sentence never quotes SQL or parameters (they can hold crawled text).
    """
    original = getattr(exc, "orig", None) or exc
    if isinstance(original, OSError) and original.errno in STORAGE_ERRNOS:
        where = f" {original.filename}" if original.filename else ""
        hint = _HINTS.get(original.errno, "check the workspace's owner and permissions")
        return f"cannot write{where}: {original.strerror or errno.errorcode[original.errno]} ({hint})"
    reason = (str(original).strip().splitlines() or [""])[0]
    if any(marker in reason.lower() for marker in _SQLITE_MARKERS):
        return f"cannot write the database: {reason} (a full disk, a file size limit or a read-only workspace)"
    if getattr(original, "sqlstate", None) in _PG_STATES:
        return f"the database refused the write: {reason}"
    return None
