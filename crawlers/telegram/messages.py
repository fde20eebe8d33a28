"""The reader's own message type: what crosses the ``TelegramSource`` port instead of Telethon objects.

``TelethonSource`` converts each Telethon message once (:func:`crawlers.telegram.source.to_message`);
the reader, the normalizer and the attachment fetcher never touch Telethon's classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crawlers.telegram.refs import Peer


@dataclass(frozen=True, slots=True)
class TgDocument:
    """A document attached to a message. Name, size and MIME type are sender-declared (untrusted)."""

    id: int
    file_name: str | None
    size: int
    mime_type: str | None
    #: False for stickers, voice notes, videos, GIFs and custom emoji (never leaked files).
    fetchable: bool = True
    #: What the source downloads from (its own object; opaque to everyone else).
    handle: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TgMessage:
    """One message of a chat, as the reader needs it."""

    id: int
    date: datetime | None = None
    text: str = ""
    #: Targets of links hidden behind text (leak posts hide download links there).
    hidden_urls: tuple[str, ...] = ()
    grouped_id: int | None = None
    edit_date: datetime | None = None
    post_author: str | None = None
    reply_to: int | None = None
    #: Marked id of the chat or user a forward came from, and the original message id.
    forward_from: int | None = None
    forward_message_id: int | None = None
    #: ``photo``, ``document``, ``webpage``... (None without media).
    media_kind: str | None = None
    document: TgDocument | None = None
    #: A service message (join, pin...): nothing to ingest.
    service: bool = False
    #: The chat as the server sent it along (current username and title), when it did.
    chat: Peer | None = None
