"""Telegram reader state: resolved chats (never resolved twice) and deletions seen.

The per-chat resume point itself is the core ``checkpoints`` row (scope ``telegram``, key the
marked chat id), advanced by the ingest sink in the same transaction as the hits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, intpk, str16, str255, utc


class TelegramChat(Base):
    """A configured chat and what resolving it returned (marked id, access hash, username, title)."""

    __tablename__ = "telegram_chats"

    id: Mapped[intpk]
    name: Mapped[str255] = mapped_column(unique=True)
    ref: Mapped[str] = mapped_column(String(1024))
    marked_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    kind: Mapped[str | None] = mapped_column(String(16))  # channel | chat | user
    access_hash: Mapped[int | None] = mapped_column(BigInteger)
    username: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(1024))
    invite_state: Mapped[str16] = mapped_column(default="none")  # none|joined|expired|invalid|pending|...
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The account that resolved it: access hashes belong to one account.
    account_id: Mapped[int | None] = mapped_column(BigInteger)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retry_reason: Mapped[str | None] = mapped_column(Text)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Posts in the re-read window: {first message id: {"ids": [...], "edit": unix time}}.
    recent: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TelegramDeletion(Base):
    """A message seen once and later missing from its chat (evidence a takedown worked)."""

    __tablename__ = "telegram_deletions"
    __table_args__ = (UniqueConstraint("marked_id", "message_id"),)

    id: Mapped[intpk]
    marked_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[utc]
