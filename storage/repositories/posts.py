"""Posts: one row per (source, external id), versioned in place; the ingest sink's only way to them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models.core import Post


@dataclass(frozen=True, slots=True)
class PostVersion:
    """What one crawl of a post says about it (already redacted where the policy says so)."""

    venue: str
    url: str | None
    title: str | None
    author: str | None
    posted_at: datetime | None
    edited_at: datetime | None
    captured_at: datetime
    content_hash: str
    status: str
    text_length: int
    trade_score: float | None
    trade_terms: tuple[str, ...]
    extra: Mapping[str, str]


def find_post(session: Session, source: str, external_id: str) -> Post | None:
    return session.scalar(select(Post).where(Post.source == source, Post.external_id == external_id))


def stored_content_hash(session: Session, source: str, external_id: str) -> str | None:
    """The content hash of the stored version, or None when the post is new."""
    return session.scalar(select(Post.content_hash).where(Post.source == source, Post.external_id == external_id))


def touch_post(session: Session, source: str, external_id: str, seen_at: datetime) -> Post:
    """An unchanged repost: seen again (and no longer removed)."""
    post = session.scalars(select(Post).where(Post.source == source, Post.external_id == external_id)).one()
    post.last_seen = seen_at
    post.removed_at = None
    return post


def upsert_post(session: Session, source: str, external_id: str, version: PostVersion) -> tuple[Post, str]:
    """Insert the post or write its new version over the stored one; returns it and ``new``/``changed``."""
    post = find_post(session, source, external_id)
    status = "changed" if post is not None else "new"
    if post is None:
        post = Post(source=source, external_id=external_id, first_seen=version.captured_at, versions=0)
        session.add(post)
    post.venue = version.venue
    post.url = version.url
    post.title = version.title
    post.author = version.author
    post.posted_at = version.posted_at
    post.edited_at = version.edited_at
    post.last_seen = version.captured_at
    post.removed_at = None
    post.content_hash = version.content_hash
    post.versions = (post.versions or 0) + 1
    post.status = version.status
    post.text_length = version.text_length
    post.trade_score = version.trade_score
    post.trade_terms = list(version.trade_terms)
    post.extra = dict(version.extra)
    session.flush()
    return post, status
