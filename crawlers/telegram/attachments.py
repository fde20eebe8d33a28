"""Capped attachment download: declared size checked first, byte cap enforced while streaming.

Content lands in memory, or for big files in a private temp file (mode 0600, a name we chose:
never the sender's file name) that lives until the post is ingested.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawlers.model import Attachment, Finding
from crawlers.telegram.config import TelegramConfig
from crawlers.telegram.errors import ChatUnavailable
from crawlers.telegram.normalize import document_name, fetchable_document
from crawlers.telegram.redact import redact
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
    messages: Sequence[Any],
    spool_dir: Callable[[], Path],
) -> Fetched:
    """Download the documents of one post within the caps; skips become findings.

    Big files go to ``spool_dir()`` (called only when needed); the caller deletes them after ingest.
    """
    fetched = Fetched()
    cap = config.max_attachment_bytes
    for message in messages:
        document = fetchable_document(message)
        if document is None:
            continue
        name = document_name(document)
        declared = int(document.size or 0)
        mime = document.mime_type or None
        locator = f"{peer.permalink(message.id) or external_id(peer.marked_id, message.id)}!{redact(name)}"

        def skipped(
            kind: str, reason: str, meta: tuple[str, str, int, str | None] = (name, locator, declared, mime)
        ) -> None:
            _name, _loc, _declared, _mime = meta
            fetched.findings.append(Finding(_loc, kind, reason))
            fetched.attachments.append(
                Attachment(name=_name, declared_size=_declared, mime_type=_mime, skipped_reason=reason)
            )

        if not config.download_attachments:
            skipped("skipped_download", "attachment downloads are disabled")
            continue
        if declared > cap:
            skipped("cap_bytes", f"declared size {declared} bytes is over the {cap}-byte cap")
            continue
        to_disk = declared > config.spool_bytes
        path: Path | None = None
        if to_disk:
            fd, raw = tempfile.mkstemp(prefix="tg-", suffix=".bin", dir=spool_dir())
            path = Path(raw)
            out: Any = os.fdopen(fd, "wb")
        else:
            out = io.BytesIO()
        try:
            with out:
                size = await source.download(peer, message, document, cap, out)
                data = None if to_disk else out.getvalue()
        except ChatUnavailable as exc:
            skipped("download_failed", f"download failed: {exc.reason}")
            continue
        if size is None:
            if path is not None:
                path.unlink(missing_ok=True)
            skipped("cap_bytes", f"more than {cap} bytes arrived (declared {declared})")
            continue
        fetched.attachments.append(Attachment(name=name, data=data, path=path, declared_size=declared, mime_type=mime))
    return fetched
