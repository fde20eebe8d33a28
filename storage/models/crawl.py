"""Incremental crawl state: what each web source's pages looked like when last fetched."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, intpk, str64, str255, utc


class SeenPage(Base):
    """One canonical URL of one source: validators, content hash, links and the posts it held.

    ``links`` lets a crawl continue past a page answered with 304 Not Modified; ``post_ids``
    lets it notice posts that vanished from a page (a takedown that worked).

    ``redacted`` rows (every row the crawler writes since migration ``privacy_0008``) follow the
    redaction rule (:mod:`crawlers.web.state`): a URL or link holding an identifier-shaped span is
    stored as its keyed reference (``...[redacted]...~<letters>``), post ids as the sink's keyed
    references, and ``url_hash`` is the SHA-256 of the stored form, so the page is still found by
    its real URL. Older rows (``redacted`` false) are rewritten by ``leakmon purge --redact-stored``.
    """

    __tablename__ = "seen_pages"
    __table_args__ = (UniqueConstraint("source", "url_hash"),)

    id: Mapped[intpk]
    source: Mapped[str255]
    url_hash: Mapped[str64]
    url: Mapped[str] = mapped_column(String(2048))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[int] = mapped_column(Integer, default=200)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    etag: Mapped[str | None] = mapped_column(String(255))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    links: Mapped[list[Any]] = mapped_column(JSON, default=list)
    post_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    first_seen: Mapped[utc]
    last_seen: Mapped[utc]
    last_changed: Mapped[utc]
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    redacted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
