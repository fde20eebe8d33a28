"""Who did what to which evidence: every export and every view of raw evidence is written here."""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from storage.models.cases import AuditEntry
from storage.repositories.cases_audit import ChainCheck, append_entry, verify_chain


def resolve_actor(explicit: str | None = None) -> str:
    """The acting person: ``--actor`` when given, else the OS user."""
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return os.environ.get("USER", "unknown")


def record(
    session: Session,
    action: str,
    target: str,
    *,
    rows: int = 0,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append an audit entry (counts and references only, never identifier values)."""
    return append_entry(
        session,
        actor=resolve_actor(actor),
        action=action,
        target=target,
        rows=rows,
        at=at or datetime.now(UTC),
        details=details,
    )


def verify(session: Session) -> ChainCheck:
    """Check the whole chain; ``ChainCheck.bad_seq`` names the first entry that does not hold."""
    return verify_chain(session)
