"""Posts: one row per (source, external id), versioned in place; the ingest sink's only way to them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models.core import Post
from storage.models.vocab import PostChange, PostStatus


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
    status: PostStatus
    text_length: int
    trade_score: float | None
    trade_terms: tuple[str, ...]
    extra: Mapping[str, str]


def find_post(session: Session, source: str, external_id: str) -> Post | None:
    """The stored post, or None when it is new (the one look-up a write transaction makes)."""
    return session.scalar(select(Post).where(Post.source == source, Post.external_id == external_id))


def touch_post(post: Post, seen_at: datetime) -> Post:
    """An unchanged repost: seen again (and no longer removed)."""
    post.last_seen = seen_at
    post.removed_at = None
    return post


def upsert_post(
    session: Session, stored: Post | None, source: str, external_id: str, version: PostVersion
) -> tuple[Post, PostChange]:
    """Insert the post (``stored`` is None) or write its new version over ``stored``.

    ``stored`` is what :func:`find_post` returned in the same transaction.
    """
    post = stored
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
    return post, PostChange.NEW if stored is None else PostChange.CHANGED
