"""Capped attachment download: declared size checked first, byte cap enforced while streaming.

Content lands in memory, or for big files in a private temp file (mode 0600, a name we chose:
never the sender's file name) that the reader deletes once the post is ingested.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from crawlers.model import Attachment, Finding
from crawlers.redact import redact
from crawlers.telegram.config import TelegramConfig
from crawlers.telegram.errors import ChatUnavailable
from crawlers.telegram.messages import TgDocument, TgMessage
from crawlers.telegram.normalize import document_name, fetchable_document
from crawlers.telegram.refs import Peer, external_id
from crawlers.telegram.source import TelegramSource


@dataclass(slots=True)
class Fetched:
    attachments: list[Attachment] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


async def fetch_attachments(
    source: TelegramSource,
    config: TelegramConfig,
    peer: Peer,
    messages: Sequence[TgMessage],
    spool_dir: Callable[[], Path],
) -> Fetched:
    """Download the documents of one post within the caps; skips become findings.

    Big files go to ``spool_dir()`` (called only when needed); the caller deletes them after ingest.
    """
    fetched = Fetched()
    for message in messages:
        document = fetchable_document(message)
        if document is None:
            continue
        attachment, finding = await _fetch_one(source, config, peer, message, document, spool_dir)
        fetched.attachments.append(attachment)
        if finding is not None:
            fetched.findings.append(finding)
    return fetched


async def _fetch_one(
    source: TelegramSource,
    config: TelegramConfig,
    peer: Peer,
    message: TgMessage,
    document: TgDocument,
    spool_dir: Callable[[], Path],
) -> tuple[Attachment, Finding | None]:
    name = document_name(document)
    declared = document.size
    mime = document.mime_type
    cap = config.max_attachment_bytes
    locator = f"{peer.permalink(message.id) or external_id(peer.marked_id, message.id)}!{redact(name)}"

    def skipped(kind: str, reason: str) -> tuple[Attachment, Finding]:
        attachment = Attachment(name=name, declared_size=declared, mime_type=mime, skipped_reason=reason)
        return attachment, Finding(locator, kind, reason)

    if not config.download_attachments:
        return skipped("skipped_download", "attachment downloads are disabled")
    if declared > cap:
        return skipped("cap_bytes", f"declared size {declared} bytes is over the {cap}-byte cap")
    path: Path | None = None
    out: IO[bytes]
    if declared > config.spool_bytes:
        fd, raw = tempfile.mkstemp(prefix="tg-", suffix=".bin", dir=spool_dir())
        path, out = Path(raw), os.fdopen(fd, "wb")
    else:
        out = io.BytesIO()
    try:
        with out:
            size = await source.download(peer, message, document, cap, out)
            data = out.getvalue() if isinstance(out, io.BytesIO) else None
    except ChatUnavailable as exc:
        _discard(path)
        return skipped("download_failed", f"download failed: {exc.reason}")
    if size is None:
        _discard(path)
        return skipped("cap_bytes", f"more than {cap} bytes arrived (declared {declared})")
    return Attachment(name=name, data=data, path=path, declared_size=declared, mime_type=mime), None


def _discard(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)
