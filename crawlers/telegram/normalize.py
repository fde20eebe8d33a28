"""Pure conversion of messages (one message or one album) into a CrawledPost.

Hidden link targets are appended to the text one per line because leak posts hide download links
there. The export importer builds its text the same way (:func:`compose_text`) so both agree on
content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from crawlers.model import Attachment, CrawledPost, Finding
from crawlers.redact import redact
from crawlers.telegram.messages import TgDocument, TgMessage
from crawlers.telegram.refs import Peer, external_id

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")


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


def fetchable_document(message: TgMessage) -> TgDocument | None:
    """The message's document when it may be a leaked file (not a sticker, voice, video or GIF)."""
    document = message.document
    return document if document is not None and document.fetchable else None


def document_name(document: TgDocument) -> str:
    return safe_name(document.file_name, f"document-{document.id}")


def edit_stamp(messages: Sequence[TgMessage]) -> int:
    """The latest edit time of a post as a Unix timestamp (0 when never edited)."""
    stamps = [int(m.edit_date.timestamp()) for m in messages if m.edit_date is not None]
    return max(stamps, default=0)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalize(
    messages: Sequence[TgMessage],
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
    texts = [m.text for m in messages]
    urls = [url for m in messages for url in m.hidden_urls]
    edits = [d for d in (_utc(m.edit_date) for m in messages) if d is not None]
    extra: dict[str, str] = {
        "chat_id": str(peer.marked_id),
        "message_ids": ",".join(str(m.id) for m in messages),
    }
    if peer.username:
        extra["chat_username"] = peer.username
    if first.grouped_id:
        extra["grouped_id"] = str(first.grouped_id)
    if first.reply_to:
        extra["reply_to"] = str(first.reply_to)
    if first.forward_from is not None:
        extra["forward_from"] = str(first.forward_from)
    if first.forward_message_id:
        extra["forward_message_id"] = str(first.forward_message_id)
    kinds = sorted({m.media_kind for m in messages if m.media_kind})
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
