"""Telegram reader state: resolved chats, deletions, and the chat's checkpoint (read only).

Functions take a Session and never commit; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models.telegram import TelegramChat, TelegramDeletion
from storage.repositories.checkpoints import get_checkpoint

CHECKPOINT_SCOPE = "telegram"


def get_chat(session: Session, name: str) -> TelegramChat | None:
    return session.scalars(select(TelegramChat).where(TelegramChat.name == name)).one_or_none()


def get_or_create_chat(session: Session, name: str, ref: str) -> TelegramChat:
    """The chat row for ``name``; a changed ``ref`` clears the resolution so it is resolved again."""
    chat = get_chat(session, name)
    if chat is None:
        chat = TelegramChat(name=name, ref=ref, invite_state="none", recent={})
        session.add(chat)
        session.flush()
    elif chat.ref != ref:
        chat.ref = ref
        chat.marked_id = chat.access_hash = None
        chat.kind = chat.username = chat.title = None
        chat.resolved_at = None
        chat.account_id = None
        chat.invite_state = "none"
        chat.recent = {}
    return chat


def username_for(session: Session, marked_id: int) -> str | None:
    """The username last seen for a resolved chat (public permalinks), if any."""
    rows = session.scalars(
        select(TelegramChat.username).where(TelegramChat.marked_id == marked_id, TelegramChat.username.is_not(None))
    )
    return next(iter(rows), None)


def update_chat(session: Session, name: str, **values: Any) -> None:
    chat = get_chat(session, name)
    if chat is None:
        raise LookupError(f"no Telegram chat named {name!r}")
    for key, value in values.items():
        setattr(chat, key, value)


def record_deletion(session: Session, marked_id: int, message_id: int) -> bool:
    """Remember that a message disappeared; False when it was already recorded."""
    exists = session.scalars(
        select(TelegramDeletion.id).where(
            TelegramDeletion.marked_id == marked_id, TelegramDeletion.message_id == message_id
        )
    ).first()
    if exists is not None:
        return False
    session.add(TelegramDeletion(marked_id=marked_id, message_id=message_id, seen_at=datetime.now(UTC)))
    return True


def deletions(session: Session, marked_id: int, *, after_id: int = 0) -> list[int]:
    """Message ids of the chat recorded as deleted (above ``after_id``), ascending."""
    rows = session.scalars(
        select(TelegramDeletion.message_id)
        .where(TelegramDeletion.marked_id == marked_id, TelegramDeletion.message_id > after_id)
        .order_by(TelegramDeletion.message_id)
    )
    return list(rows)


def undo_deletions(session: Session, marked_id: int, message_ids: Iterable[int]) -> int:
    """Forget deletions of messages that are back; how many rows went."""
    result = session.execute(
        delete(TelegramDeletion).where(
            TelegramDeletion.marked_id == marked_id, TelegramDeletion.message_id.in_(list(message_ids))
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def last_message_id(session: Session, marked_id: int) -> int | None:
    """The chat's checkpoint (last ingested message id), written by the ingest sink."""
    value = get_checkpoint(session, CHECKPOINT_SCOPE, str(marked_id))
    return int(value) if value is not None else None
