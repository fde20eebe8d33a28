"""Pure conversion of Telethon messages (one message or one album) into a CrawledPost.

Text comes from ``message.message`` (``.text`` needs a client's parse mode); hidden link targets
(``MessageEntityTextUrl``) are appended one per line because leak posts hide download links there.
The export importer builds its text the same way (:func:`compose_text`) so both agree on content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from telethon.tl import types

from crawlers.model import Attachment, CrawledPost, Finding
from crawlers.redact import redact
from crawlers.telegram.refs import Peer, external_id

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")
_SKIPPED_DOC_ATTRIBUTES = (
    types.DocumentAttributeSticker,
    types.DocumentAttributeAudio,
    types.DocumentAttributeVideo,
    types.DocumentAttributeAnimated,
    types.DocumentAttributeCustomEmoji,
)


def compose_text(parts: Iterable[str], hidden_urls: Iterable[str]) -> str:
    """Join message texts (one album member per line) and append hidden link targets."""
    lines = [part for part in parts if part]
    seen: set[str] = set()
    for url in hidden_urls:
        if url and url not in seen:
            seen.add(url)
            lines.append(url)
    return "\n".join(lines)


def channel_passwords(username: str | None, title: str | None) -> list[str]:
    """Archive password candidates from the chat itself: sellers often use the channel's name or link."""
    found: list[str] = []
    if username:
        found += [username, f"@{username}", f"t.me/{username}", f"https://t.me/{username}"]
    if title and len(title) <= 64:
        found.append(title)
    return found


def safe_name(name: str | None, fallback: str) -> str:
    """A display name from an untrusted sender file name.

    Last path component only, no control characters, and identifier-shaped runs masked
    (``kim_01012345678.xlsx`` -> ``kim_[redacted].xlsx``): the name reaches stored rows.
    """
    raw = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = redact(_UNSAFE_NAME.sub("", raw)).strip().lstrip(".")[:255]
    return cleaned or fallback


def hidden_urls(message: Any) -> list[str]:
    return [e.url for e in (message.entities or []) if isinstance(e, types.MessageEntityTextUrl)]


def fetchable_document(message: Any) -> Any | None:
    """The message's document when it may be a leaked file (not a sticker, voice, video or GIF)."""
    media = getattr(message, "media", None)
    if not isinstance(media, types.MessageMediaDocument) or not isinstance(media.document, types.Document):
        return None
    if any(isinstance(a, _SKIPPED_DOC_ATTRIBUTES) for a in media.document.attributes):
        return None
    return media.document


def document_name(document: Any) -> str:
    for attribute in document.attributes:
        if isinstance(attribute, types.DocumentAttributeFilename):
            return safe_name(attribute.file_name, f"document-{document.id}")
    return f"document-{document.id}"


def edit_stamp(messages: Sequence[Any]) -> int:
    """The latest edit time of a post as a Unix timestamp (0 when never edited)."""
    stamps = [int(m.edit_date.timestamp()) for m in messages if getattr(m, "edit_date", None)]
    return max(stamps, default=0)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _media_kind(message: Any) -> str | None:
    media = getattr(message, "media", None)
    if media is None:
        return None
    return type(media).__name__.removeprefix("MessageMedia").lower()


def normalize(
    messages: Sequence[Any],
    peer: Peer,
    source: str,
    attachments: Sequence[Attachment] = (),
    findings: Sequence[Finding] = (),
    *,
    key_id: int | None = None,
) -> CrawledPost:
    """Build the post for one message or one album (``messages`` ascending by id).

    ``key_id`` overrides the message id in the external id (an album that lost its first member).
    """
    first = messages[0]
    texts = [m.message or "" for m in messages]
    urls = [url for m in messages for url in hidden_urls(m)]
    edits = [d for d in (_utc(getattr(m, "edit_date", None)) for m in messages) if d is not None]
    extra: dict[str, str] = {
        "chat_id": str(peer.marked_id),
        "message_ids": ",".join(str(m.id) for m in messages),
    }
    if peer.username:
        extra["chat_username"] = peer.username
    if first.grouped_id:
        extra["grouped_id"] = str(first.grouped_id)
    if first.reply_to is not None and getattr(first.reply_to, "reply_to_msg_id", None):
        extra["reply_to"] = str(first.reply_to.reply_to_msg_id)
    if first.fwd_from is not None:
        extra.update(_forward_extra(first.fwd_from))
    kinds = sorted({k for k in (_media_kind(m) for m in messages) if k})
    if kinds:
        extra["media"] = ",".join(kinds)
    if findings:
        extra["findings"] = ",".join(sorted({f.kind for f in findings}))
    return CrawledPost(
        source=source,
        external_id=external_id(peer.marked_id, key_id or first.id),
        venue="telegram",
        text=compose_text(texts, urls),
        url=peer.permalink(first.id),
        title=peer.title,
        author=first.post_author or None,
        posted_at=_utc(first.date),
        edited_at=max(edits, default=None),
        attachments=tuple(attachments),
        extra=extra,
    )


def _forward_extra(header: Any) -> dict[str, str]:
    extra: dict[str, str] = {}
    origin = header.from_id
    if isinstance(origin, types.PeerChannel):
        extra["forward_from"] = str(-1_000_000_000_000 - origin.channel_id)
    elif isinstance(origin, types.PeerUser):
        extra["forward_from"] = str(origin.user_id)
    elif isinstance(origin, types.PeerChat):
        extra["forward_from"] = str(-origin.chat_id)
    if header.channel_post:
        extra["forward_message_id"] = str(header.channel_post)
    return extra
