"""Key ids in use (never keys)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models.core import KeyRecord


def record_key(session: Session, key_id: str, purpose: str) -> None:
    """Remember that ``key_id`` is in use for ``purpose`` (idempotent)."""
    if session.get(KeyRecord, key_id) is None:
        session.add(KeyRecord(key_id=key_id, purpose=purpose, created_at=datetime.now(UTC)))


def retire_key(session: Session, key_id: str) -> None:
    record = session.get(KeyRecord, key_id)
    if record is not None and record.retired_at is None:
        record.retired_at = datetime.now(UTC)


def active_key_ids(session: Session, purpose: str) -> list[str]:
    rows = session.scalars(select(KeyRecord.key_id).where(KeyRecord.purpose == purpose, KeyRecord.retired_at.is_(None)))
    return list(rows)
