"""`leakmon purge --redact-stored`: re-apply the current redaction rule to every stored crawled string.

Rows stored before the rule (or before a change to it) may hold raw author names, URLs, titles,
attachment and member names, locators and reasons. This walks each table by id in batches (one
transaction per batch, so a big database is never held in one transaction and an interrupted run
can simply be started again) and rewrites only the values the rule changes: a second run changes
nothing. A post id that holds an identifier becomes the same keyed reference the sink now gives it,
so the next crawl finds the stored post instead of storing it a second time. When the sink already
stored that post again under the reference (a crawl ran between the rule change and this command),
the older row keeps its hits and incidents under the reference plus ``~<row id>``.

The incremental crawl state (``seen_pages``) rows written before migration ``privacy_0008``
(``redacted`` false) get the form the crawler now stores (:mod:`crawlers.web.state`): URL and links
with an identifier as keyed references (validators dropped when a link is masked, so the next crawl
reads the page in full), post ids as the sink's references, ``url_hash`` recomputed; a row whose new
key is already taken (the crawler saved the page again since) is deleted. Rows the crawler writes
now are born redacted and are left alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import Column, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from crawlers.redact import Redactor, redact, redact_url
from crawlers.web.state import stored_state
from storage.models.cases import AlertRecord, Incident, TakedownCase
from storage.models.core import AttachmentRecord, FindingRecord, HitRecord, Post, Run
from storage.models.crawl import SeenPage
from storage.repositories.crawl import PageState, url_hash

#: Rows read and rewritten per transaction.
BATCH_ROWS = 1000
_TITLE_MAX = 1024


def _text(value: str | None) -> str | None:
    return redact(value) if value else value


#: (model, column, rewrite, length limit) for every plain stored string from a crawled source.
_COLUMNS: tuple[tuple[Any, str, Callable[[str | None], str | None], int], ...] = (
    (Post, "url", redact_url, 2048),
    (Post, "title", _text, _TITLE_MAX),
    (Post, "author", _text, 255),
    (HitRecord, "locator", _text, 2048),
    (FindingRecord, "locator", _text, 2048),
    (FindingRecord, "reason", _text, 1 << 30),
    (Run, "error", _text, 1 << 30),
    (TakedownCase, "permalink", redact_url, 2048),
    (Incident, "title", _text, 1024),
    (AlertRecord, "text", _text, 1 << 30),
)


def redact_stored(sessions: sessionmaker[Session], redactor: Redactor, *, dry_run: bool = False) -> Counter[str]:
    """Rewrite every stored value the rule changes; returns the count per ``table.column``."""
    changed: Counter[str] = Counter()
    changed.update(_post_ids(sessions, redactor, dry_run=dry_run))
    changed.update(_attachment_names(sessions, dry_run=dry_run))
    changed.update(_seen_pages(sessions, redactor, dry_run=dry_run))
    for model, name, rewrite, limit in _COLUMNS:
        column: Column[Any] = getattr(model, name)
        count = _rewrite_column(sessions, model, column, rewrite, limit, dry_run=dry_run)
        if count:
            changed[f"{model.__tablename__}.{name}"] += count
    return changed


def _batches(sessions: sessionmaker[Session], statement: Any, id_column: Any) -> Any:
    """Yield (session, rows) per batch of ``BATCH_ROWS`` rows by id; each batch commits on its own."""
    after = 0
    while True:
        with sessions.begin() as session:
            rows = session.execute(statement.where(id_column > after).order_by(id_column).limit(BATCH_ROWS)).all()
            if not rows:
                return
            yield session, rows
        after = rows[-1][0]


def _rewrite_column(
    sessions: sessionmaker[Session],
    model: Any,
    column: Column[Any],
    rewrite: Callable[[str | None], str | None],
    limit: int,
    *,
    dry_run: bool,
) -> int:
    count = 0
    for session, rows in _batches(sessions, select(model.id, column).where(column.is_not(None)), model.id):
        for row_id, value in rows:
            new = rewrite(value)
            new = new[:limit] if new is not None else new
            if new != value:
                count += 1
                if not dry_run:
                    session.execute(update(model).where(model.id == row_id).values({column.key: new}))
    return count


def _post_ids(sessions: sessionmaker[Session], redactor: Redactor, *, dry_run: bool) -> Counter[str]:
    changed: Counter[str] = Counter()
    for session, rows in _batches(sessions, select(Post.id, Post.source, Post.external_id), Post.id):
        for row_id, source, external_id in rows:
            ref = redactor.ref(external_id)
            if ref == external_id:
                continue
            changed["posts.external_id"] += 1
            taken = session.scalar(select(Post.id).where(Post.source == source, Post.external_id == ref))
            if taken is not None:
                changed["posts.stored_twice"] += 1
                ref = f"{ref}~{row_id}"  # the newer row holds the reference the crawl looks up
            if not dry_run:
                session.execute(update(Post).where(Post.id == row_id).values(external_id=ref))
    return changed


def _attachment_names(sessions: sessionmaker[Session], *, dry_run: bool) -> Counter[str]:
    changed: Counter[str] = Counter()
    statement = select(AttachmentRecord.id, AttachmentRecord.post_id, AttachmentRecord.sha256, AttachmentRecord.name)
    for session, rows in _batches(sessions, statement, AttachmentRecord.id):
        for row_id, post_id, sha256, name in rows:
            new = redact(name)[:1024]
            if new == name:
                continue
            changed["attachments.name"] += 1
            clash = select(AttachmentRecord.id).where(
                AttachmentRecord.post_id == post_id, AttachmentRecord.sha256 == sha256, AttachmentRecord.name == new
            )
            if session.scalar(clash) is not None:
                new = f"{new[:1000]}~{row_id}"  # two names that differed only in an identifier
            if not dry_run:
                session.execute(update(AttachmentRecord).where(AttachmentRecord.id == row_id).values(name=new))
    return changed


def _seen_pages(sessions: sessionmaker[Session], redactor: Redactor, *, dry_run: bool) -> Counter[str]:
    changed: Counter[str] = Counter()
    statement = select(
        SeenPage.id, SeenPage.source, SeenPage.url, SeenPage.links, SeenPage.post_ids, SeenPage.etag,
        SeenPage.last_modified,
    ).where(SeenPage.redacted.is_(False))  # fmt: skip
    for session, rows in _batches(sessions, statement, SeenPage.id):
        for row_id, source, url, links, post_ids, etag, last_modified in rows:
            old = PageState(url, etag=etag, last_modified=last_modified, links=tuple(links or ()),
                            post_ids=tuple(post_ids or ()))  # fmt: skip
            new = stored_state(redactor, old)
            for name in ("url", "links", "post_ids"):
                if getattr(new, name) != getattr(old, name):
                    changed[f"seen_pages.{name}"] += 1
            taken = new.url != url and session.scalar(
                select(SeenPage.id).where(SeenPage.source == source, SeenPage.url_hash == url_hash(new.url))
            )
            if taken:
                changed["seen_pages.superseded"] += 1  # the crawler stored this page again since
            if dry_run:
                continue
            if taken:
                session.execute(delete(SeenPage).where(SeenPage.id == row_id))
                continue
            values = {
                "url": new.url, "url_hash": url_hash(new.url), "links": list(new.links), "post_ids": list(new.post_ids),
                "etag": new.etag, "last_modified": new.last_modified, "redacted": True,
            }  # fmt: skip
            session.execute(update(SeenPage).where(SeenPage.id == row_id).values(values))
    return changed
