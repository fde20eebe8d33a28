"""Resume points (scope, key) -> value, advanced inside the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from storage.models.core import Checkpoint


def get_checkpoint(session: Session, scope: str, key: str) -> str | None:
    row = session.get(Checkpoint, (scope, key))
    return row.value if row is not None else None


def set_checkpoint(session: Session, scope: str, key: str, value: str) -> None:
    row = session.get(Checkpoint, (scope, key))
    now = datetime.now(UTC)
    if row is None:
        session.add(Checkpoint(scope=scope, key=key, value=value, updated_at=now))
    else:
        row.value = value
        row.updated_at = now
