"""Incremental crawl state (``seen_pages``) and crawl-run summaries; the caller owns the transaction.

The repository stores a page's URL, links and post ids as it is given them and finds a row by the
SHA-256 of its stored URL; the crawler hands it the redacted forms (:mod:`crawlers.web.state`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models.core import FindingRecord, Run
from storage.models.crawl import SeenPage


@dataclass(frozen=True, slots=True)
class PageState:
    """What a page looked like when last fetched (plain values, safe to pass between processes)."""

    url: str
    depth: int = 0
    status: int = 200
    content_hash: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    links: tuple[str, ...] = ()
    post_ids: tuple[str, ...] = ()
    removed: bool = False
    #: The row follows the redaction rule: a stored URL or link with the mask in it is a keyed reference.
    redacted: bool = field(default=False, compare=False)
    last_seen: datetime | None = field(default=None, compare=False)
    last_changed: datetime | None = field(default=None, compare=False)


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def load_pages(session: Session, source: str) -> dict[str, PageState]:
    """Every page seen for ``source``, by canonical URL."""
    rows = session.scalars(select(SeenPage).where(SeenPage.source == source))
    return {
        row.url: PageState(
            url=row.url,
            depth=row.depth,
            status=row.status,
            content_hash=row.content_hash,
            etag=row.etag,
            last_modified=row.last_modified,
            links=tuple(row.links or ()),
            post_ids=tuple(row.post_ids or ()),
            removed=row.removed_at is not None,
            redacted=row.redacted,
            last_seen=row.last_seen,
            last_changed=row.last_changed,
        )
        for row in rows
    }


def save_page(
    session: Session, source: str, state: PageState, *, redacted: bool = False, now: datetime | None = None
) -> bool:
    """Insert or update a page's state; returns True when its content changed (or it is new).

    ``redacted``: the state's URL, links and post ids are already in their redacted form.
    """
    now = now or datetime.now(UTC)
    row = session.scalar(select(SeenPage).where(SeenPage.source == source, SeenPage.url_hash == url_hash(state.url)))
    if row is None:
        row = SeenPage(source=source, url_hash=url_hash(state.url), url=state.url, first_seen=now, last_changed=now)
        session.add(row)
        changed = True
    else:
        changed = row.content_hash != state.content_hash or row.removed_at is not None
    row.url = state.url
    row.redacted = redacted
    row.depth = state.depth
    row.status = state.status
    row.content_hash = state.content_hash
    row.etag = state.etag
    row.last_modified = state.last_modified
    row.links = list(state.links)
    row.post_ids = list(state.post_ids)
    row.last_seen = now
    row.removed_at = now if state.removed else None
    if changed:
        row.last_changed = now
    return changed


def touch_page(session: Session, source: str, url: str, *, now: datetime | None = None) -> None:
    """A page answered 304 Not Modified: only its ``last_seen`` moves."""
    row = session.scalar(select(SeenPage).where(SeenPage.source == source, SeenPage.url_hash == url_hash(url)))
    if row is not None:
        row.last_seen = now or datetime.now(UTC)


def mark_page_removed(session: Session, source: str, url: str, status: int, *, now: datetime | None = None) -> bool:
    """A seen page now answers 404/410; returns False when it was unknown or already removed."""
    row = session.scalar(select(SeenPage).where(SeenPage.source == source, SeenPage.url_hash == url_hash(url)))
    if row is None or row.removed_at is not None:
        return False
    row.removed_at = now or datetime.now(UTC)
    row.status = status
    return True


def forget_page(session: Session, source: str, url: str) -> bool:
    """Delete the row stored under ``url`` (an older row keyed by a raw URL); True when there was one."""
    gone = session.execute(delete(SeenPage).where(SeenPage.source == source, SeenPage.url_hash == url_hash(url)))
    return bool(getattr(gone, "rowcount", 0))


def crawl_runs(session: Session, source: str | None = None, *, limit: int | None = None) -> list[Run]:
    """Crawl runs, newest first."""
    query = select(Run).where(Run.kind == "crawl").order_by(Run.started_at.desc(), Run.id.desc())
    if source is not None:
        query = query.where(Run.source == source)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def run_findings(session: Session, run_id: int) -> list[FindingRecord]:
    """Findings recorded for one run, oldest first."""
    return list(session.scalars(select(FindingRecord).where(FindingRecord.run_id == run_id).order_by(FindingRecord.id)))


def run_stats(session: Session, run_id: int) -> dict[str, Any]:
    run = session.get(Run, run_id)
    return dict(run.stats) if run is not None else {}
