"""The posts repository: a post is inserted once, versioned in place, touched when unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models.vocab import PostChange, PostStatus
from storage.repositories.posts import PostVersion, find_post, touch_post, upsert_post

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _version(content_hash: str, at: datetime) -> PostVersion:
    return PostVersion(
        venue="forum",
        url="https://forum.test/t/1",
        title="DB 팝니다",
        author=None,
        posted_at=None,
        edited_at=None,
        captured_at=at,
        content_hash=content_hash,
        status=PostStatus.OK,
        text_length=10,
        trade_score=0.5,
        trade_terms=("db",),
        extra={"k": "v"},
    )


def test_insert_version_touch(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        assert find_post(session, "forum", "p1") is None
        post, status = upsert_post(session, None, "forum", "p1", _version("h1", T0))
        assert (status, post.versions, post.first_seen) == (PostChange.NEW, 1, T0)
    with sessions.begin() as session:
        stored = find_post(session, "forum", "p1")
        post, status = upsert_post(session, stored, "forum", "p1", _version("h2", T0 + timedelta(days=1)))
        assert (status, post.versions, post.first_seen) == (PostChange.CHANGED, 2, T0)
        post.removed_at = T0 + timedelta(days=2)
    with sessions.begin() as session:
        stored = find_post(session, "forum", "p1")
        assert stored is not None
        touched = touch_post(stored, T0 + timedelta(days=3))
        assert touched.removed_at is None
    with sessions() as session:
        stored = find_post(session, "forum", "p1")
        assert stored is not None
        assert (stored.content_hash, stored.last_seen, stored.extra) == ("h2", T0 + timedelta(days=3), {"k": "v"})
    engine.dispose()
