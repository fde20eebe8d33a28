"""The append-only, hash-chained audit log (take a Session, never commit).

Each entry's ``entry_hash`` is HMAC-SHA256, under the key file's audit key, over its canonical
JSON (sequence number, time, actor, action, target, rows, details) and the previous entry's hash,
so editing or deleting any entry breaks every later link, and the chain cannot be recomputed from
the database alone. The key's id is kept in ``details["chain_key"]``. Entries written before the
audit key existed (no ``chain_key``) are plain SHA-256 ("legacy"); they may only precede every
keyed entry. Tail deletion is caught by the anchor kept outside the database
(:mod:`leakmon.workflows.audit_anchor`). Appends are serialized: SQLite writers already hold the write lock
(``BEGIN IMMEDIATE``); on PostgreSQL a transaction-scoped advisory lock does the same.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from storage.models.cases import AuditEntry

GENESIS = "0" * 64
#: The details key naming the audit key an entry is chained with (absent: a legacy SHA-256 entry).
CHAIN_KEY = "chain_key"
_PG_LOCK_KEY = 0x6C65616B  # "leak": serializes audit appends across sessions


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The outcome of checking the chain: how many entries, and the first bad one if any."""

    entries: int
    head_hash: str
    bad_seq: int | None = None
    bad_id: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.bad_seq is None


def entry_hash(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    rows: int,
    details: dict[str, Any],
    prev: str,
    key: bytes | None = None,
) -> str:
    """HMAC-SHA256 under ``key`` of the entry's canonical JSON (plain SHA-256 for legacy entries)."""
    material = json.dumps(
        {
            "seq": seq,
            "at": at.isoformat(),
            "actor": actor,
            "action": action,
            "target": target,
            "rows": rows,
            "details": details,
            "prev": prev,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    if key is None:
        return hashlib.sha256(material.encode()).hexdigest()
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()


def append_entry(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    rows: int,
    at: datetime,
    details: dict[str, Any] | None = None,
    key_id: str,
    key: bytes,
) -> AuditEntry:
    """Append one entry chained to the current head, keyed with the audit key ``key``."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    head = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq = (head.seq + 1) if head is not None else 1
    prev = head.entry_hash if head is not None else GENESIS
    details = {**(details or {}), CHAIN_KEY: key_id}
    at = at.astimezone(UTC)
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor=actor[:255],
        action=action[:64],
        target=target[:1024],
        rows=rows,
        details=details,
        prev_hash=prev,
        entry_hash=entry_hash(seq, at, actor[:255], action[:64], target[:1024], rows, details, prev, key),
    )
    session.add(entry)
    session.flush()
    return entry


def verify_chain(session: Session, keys: Mapping[str, bytes]) -> ChainCheck:
    """Recompute every link in sequence order; report the first entry that does not hold.

    ``keys`` are the audit keys by id. Legacy (unkeyed) entries are accepted only before the
    first keyed one: a chain recomputed without the key cannot pass as keyed.
    """
    prev = GENESIS
    count = 0
    keyed = False
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(1000):
        count += 1
        key_id = entry.details.get(CHAIN_KEY) if isinstance(entry.details, dict) else None
        keyed = keyed or key_id is not None
        reason = None
        if entry.seq != count:
            reason = f"sequence jumps from {count - 1} to {entry.seq} (an entry was deleted)"
        elif entry.prev_hash != prev:
            reason = "its link to the previous entry does not match (an entry before it was changed or removed)"
        elif key_id is None and keyed:
            reason = "it is not keyed but follows keyed entries (the chain was recomputed without the audit key)"
        elif key_id is not None and key_id not in keys:
            reason = f"it is keyed with audit key {key_id}, which is not in the key file"
        elif entry.entry_hash != entry_hash(
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.target,
            entry.rows,
            entry.details,
            entry.prev_hash,
            keys[key_id] if key_id is not None else None,
        ):
            reason = "its content does not match its hash (the entry was edited)"
        if reason is not None:
            return ChainCheck(count - 1, prev, bad_seq=entry.seq, bad_id=entry.id, reason=reason)
        prev = entry.entry_hash
    return ChainCheck(count, prev)


def entry_at(session: Session, seq: int) -> AuditEntry | None:
    return session.scalars(select(AuditEntry).where(AuditEntry.seq == seq)).first()


def list_entries(session: Session, *, limit: int | None = None) -> list[AuditEntry]:
    statement = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.scalars(statement))


def entry_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
