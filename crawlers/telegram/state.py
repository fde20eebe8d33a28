"""Where the reader keeps per-chat state: a port, its SQL implementation, and an in-memory one.

Every SQL call is its own short transaction and none is open while the sink ingests, so SQLite's
single writer is never held across a download.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from crawlers.redact import redact
from crawlers.telegram.refs import Peer
from storage.db import transaction
from storage.repositories import telegram as repo


@dataclass(frozen=True, slots=True)
class RecentPost:
    """A post in the re-read window: its message ids and latest edit time."""

    ids: tuple[int, ...]
    edit: int


@dataclass(slots=True)
class ChatRecord:
    """The reader's view of one configured chat."""

    name: str
    ref: str
    peer: Peer | None = None
    invite_state: str = "none"
    not_before: datetime | None = None
    retry_reason: str | None = None
    recent: dict[int, RecentPost] = field(default_factory=dict)
    account_id: int | None = None  # the account that resolved ``peer`` (access hashes are per account)


class ChatState(Protocol):
    """Persistence the reader needs besides the sink."""

    def load(self, name: str, ref: str) -> ChatRecord: ...
    def save(self, record: ChatRecord) -> None: ...
    def last_message_id(self, marked_id: int) -> int | None: ...
    def record_deletion(self, marked_id: int, message_id: int) -> None: ...
    def deleted_ids(self, marked_id: int, after_id: int) -> set[int]:
        """Message ids above ``after_id`` recorded as deleted."""
        ...

    def undo_deletions(self, marked_id: int, message_ids: set[int]) -> None:
        """Forget deletions of messages seen again."""
        ...

    def username_for(self, marked_id: int) -> str | None: ...


def _recent_to_json(recent: dict[int, RecentPost]) -> dict[str, Any]:
    return {str(k): {"ids": list(v.ids), "edit": v.edit} for k, v in sorted(recent.items())}


def _recent_from_json(data: dict[str, Any] | None) -> dict[int, RecentPost]:
    return {int(k): RecentPost(tuple(int(i) for i in v["ids"]), int(v["edit"])) for k, v in (data or {}).items()}


class SqlChatState:
    """ChatState over the ``telegram_chats`` / ``telegram_deletions`` tables and core checkpoints."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def load(self, name: str, ref: str) -> ChatRecord:
        with transaction(self._sessions) as session:
            row = repo.get_or_create_chat(session, name, ref)
            peer = None
            if row.marked_id is not None and row.kind is not None:
                peer = Peer(row.marked_id, row.kind, row.access_hash, row.username, row.title)  # type: ignore[arg-type]
            return ChatRecord(
                name=name,
                ref=ref,
                peer=peer,
                invite_state=row.invite_state,
                not_before=row.not_before,
                retry_reason=row.retry_reason,
                recent=_recent_from_json(row.recent),
                account_id=row.account_id,
            )

    def save(self, record: ChatRecord) -> None:
        peer = record.peer
        with transaction(self._sessions) as session:
            row = repo.get_or_create_chat(session, record.name, record.ref)
            if peer is not None and row.marked_id != peer.marked_id:
                row.resolved_at = datetime.now(UTC)
            row.marked_id = peer.marked_id if peer else None
            row.kind = peer.kind if peer else None
            row.access_hash = peer.access_hash if peer else None
            row.username = peer.username if peer else None
            row.title = redact(peer.title)[:1024] if peer and peer.title else None
            row.invite_state = record.invite_state
            row.not_before = record.not_before
            row.retry_reason = record.retry_reason
            row.last_run_at = datetime.now(UTC)
            row.recent = _recent_to_json(record.recent)
            row.account_id = record.account_id if peer else None

    def last_message_id(self, marked_id: int) -> int | None:
        with self._sessions() as session:
            return repo.last_message_id(session, marked_id)

    def record_deletion(self, marked_id: int, message_id: int) -> None:
        with transaction(self._sessions) as session:
            repo.record_deletion(session, marked_id, message_id)

    def deleted_ids(self, marked_id: int, after_id: int) -> set[int]:
        with self._sessions() as session:
            return set(repo.deletions(session, marked_id, after_id=after_id))

    def undo_deletions(self, marked_id: int, message_ids: set[int]) -> None:
        with transaction(self._sessions) as session:
            repo.undo_deletions(session, marked_id, message_ids)

    def username_for(self, marked_id: int) -> str | None:
        with self._sessions() as session:
            return repo.username_for(session, marked_id)


class MemoryChatState:
    """ChatState in memory; checkpoints come from ``checkpoints`` (e.g. a fake sink's dict)."""

    def __init__(self, checkpoints: dict[tuple[str, str], str] | None = None) -> None:
        self.records: dict[str, ChatRecord] = {}
        self.checkpoints = checkpoints if checkpoints is not None else {}
        self.deletions: set[tuple[int, int]] = set()

    def load(self, name: str, ref: str) -> ChatRecord:
        record = self.records.get(name)
        if record is None or record.ref != ref:
            record = ChatRecord(name=name, ref=ref)
        return replace(record, recent=dict(record.recent))

    def save(self, record: ChatRecord) -> None:
        self.records[record.name] = record

    def last_message_id(self, marked_id: int) -> int | None:
        value = self.checkpoints.get((repo.CHECKPOINT_SCOPE, str(marked_id)))
        return int(value) if value is not None else None

    def record_deletion(self, marked_id: int, message_id: int) -> None:
        self.deletions.add((marked_id, message_id))

    def deleted_ids(self, marked_id: int, after_id: int) -> set[int]:
        return {m for c, m in self.deletions if c == marked_id and m > after_id}

    def undo_deletions(self, marked_id: int, message_ids: set[int]) -> None:
        self.deletions -= {(marked_id, m) for m in message_ids}

    def username_for(self, marked_id: int) -> str | None:
        for record in self.records.values():
            if record.peer is not None and record.peer.marked_id == marked_id and record.peer.username:
                return record.peer.username
        return None
