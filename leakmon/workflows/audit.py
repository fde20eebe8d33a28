"""Who did what to which evidence: every export, every output naming subjects and every view of raw
evidence is written here.

The chain is keyed with the key file's audit key (HMAC-SHA256) and anchored outside the database
(:mod:`leakmon.workflows.audit_anchor`): after each committed append the anchor file records the
newest (count, head hash), so deleting the tail, deleting everything, or recomputing the chain is
caught by :func:`verify`.

Upgrading a chain written before the audit key: its entries stay plain SHA-256 and verify with
that legacy rule as long as they all precede the first keyed entry; ``leakmon audit anchor``
(after checking them) appends the first keyed entry and writes the anchor.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from leakmon.keyring import load_keyring
from leakmon.settings import load_settings
from leakmon.workflows.audit_anchor import Anchor, advance_anchor, anchor_path, read_anchor
from storage.models.cases import AuditEntry
from storage.repositories.cases_audit import ChainCheck, append_entry, entry_at, verify_chain

_PENDING = "leakmon_audit_head"
_REANCHOR = "leakmon_audit_reanchor"


@dataclass(frozen=True, slots=True)
class AuditKey:
    """The audit key and where the chain's anchor lives."""

    key_id: str
    key: bytes
    anchor: Path

    def __repr__(self) -> str:  # never show key material
        return f"AuditKey(key_id={self.key_id!r}, anchor={str(self.anchor)!r})"

    @classmethod
    def for_key_file(cls, key_file: Path) -> AuditKey:
        key_id, key = load_keyring(key_file).active_key("audit")
        return cls(key_id, key, anchor_path(key_file))


def current_key() -> AuditKey:
    """The audit key of the configured key file (what every command runs with)."""
    return AuditKey.for_key_file(load_settings().resolved_key_file)


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
    key: AuditKey | None = None,
) -> AuditEntry:
    """Append an audit entry (counts and references only, never identifier values).

    The anchor file is advanced when the session's transaction commits (never for a rollback).
    """
    key = key or current_key()
    entry = append_entry(
        session,
        actor=resolve_actor(actor),
        action=action,
        target=target,
        rows=rows,
        at=at or datetime.now(UTC),
        details=details,
        key_id=key.key_id,
        key=key.key,
    )
    _anchor_on_commit(session, key.anchor, Anchor(entry.seq, entry.entry_hash))
    return entry


def verify(session: Session, key: AuditKey | None = None) -> ChainCheck:
    """Check the whole chain and the anchor; ``ChainCheck.bad_seq`` names the first entry that does not hold."""
    key = key or current_key()
    check = verify_chain(session, {key.key_id: key.key})
    if not check.ok:
        return check
    anchor = read_anchor(key.anchor)
    if anchor is None:
        if check.entries == 0:
            return check
        return replace(
            check,
            bad_seq=check.entries,
            reason=f"there is no anchor file {key.anchor} (deleted, or a chain from before anchoring: "
            "run `leakmon audit anchor` once after checking it)",
        )
    if anchor.count < 0:
        return replace(check, bad_seq=0, reason=f"the anchor file {key.anchor} cannot be read")
    if check.entries < anchor.count:
        return replace(
            check,
            bad_seq=check.entries + 1,
            reason=f"the anchor records {anchor.count} entries but only {check.entries} remain "
            "(the newest entries were deleted)",
        )
    anchored = entry_at(session, anchor.count) if anchor.count else None
    if anchor.count and (anchored is None or anchored.entry_hash != anchor.head):
        return replace(
            check,
            bad_seq=anchor.count,
            bad_id=anchored.id if anchored is not None else None,
            reason="it differs from the head the anchor recorded (the chain was rewritten)",
        )
    return check


def anchor_now(session: Session, actor: str | None = None, key: AuditKey | None = None) -> ChainCheck:
    """Upgrade path: check the chain (legacy entries included), append a keyed entry, anchor it.

    Refuses (returns the failed check) when the chain does not verify.
    """
    key = key or current_key()
    check = verify_chain(session, {key.key_id: key.key})
    if not check.ok:
        return check
    entry = record(session, "audit_anchor", "audit log", rows=check.entries, actor=actor, key=key)
    session.info[_REANCHOR] = True
    return ChainCheck(entry.seq, entry.entry_hash)


def _anchor_on_commit(session: Session, path: Path, head: Anchor) -> None:
    pending: dict[Path, Anchor] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = {}

        def committed(committed_session: Session) -> None:
            replace_unreadable = bool(committed_session.info.pop(_REANCHOR, False))
            for anchor_file, newest in committed_session.info.pop(_PENDING, {}).items():
                advance_anchor(anchor_file, newest, replace_unreadable=replace_unreadable)

        def rolled_back(rolled_session: Session, _previous: Any = None) -> None:
            rolled_session.info.pop(_PENDING, None)
            rolled_session.info.pop(_REANCHOR, None)

        event.listen(session, "after_commit", committed, once=True)
        event.listen(session, "after_rollback", rolled_back, once=True)
    current = pending.get(path)
    if current is None or head.count > current.count:
        pending[path] = head
