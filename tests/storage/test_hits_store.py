"""``store_hits``: bulk upserts on the hit identity, foreign keys checked on every inserted row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models.core import HitRecord, Post, Subject
from storage.repositories.hits import HitRow, store_hits

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _row(digest: int, subject: int | None, confidence: float, locator: str = "d.csv:row 2") -> HitRow:
    return HitRow(
        attachment_sha256=None,
        source="chan",
        locator=locator,
        id_type="phone",
        form="full" if subject else "p3s4",
        digest=digest.to_bytes(32, "big"),
        key_id="k1",
        subject_id=subject,
        subject_slot=subject or 0,
        compatible_subjects=1 if subject else 3,
        match_kind="exact" if subject else "partial",
        obfuscation="none",
        confidence=confidence,
        masked="010-****-0000",
        explanation='{"extractor": "phone"}',
    )


def _world(url: str) -> tuple[sessionmaker[Session], int, list[int]]:
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        subjects = [Subject(subject_ref=f"cust-{i}", created_at=T0) for i in range(3)]
        post = Post(
            source="chan", external_id="1", venue="file", first_seen=T0, last_seen=T0, content_hash="h", status="ok"
        )
        session.add_all([*subjects, post])
        session.flush()
        ids = (post.id, [s.id for s in subjects])
    return sessions, ids[0], ids[1]


def test_rows_are_upserted_on_their_identity_across_batches(db_url: str) -> None:
    sessions, post_id, (a, b, c) = _world(db_url)
    first = [[_row(1, a, 0.5, "d.csv:row 2"), _row(2, b, 0.9)], [_row(1, a, 0.8, "d.csv:row 9"), _row(3, None, 0.3)]]
    with sessions.begin() as session:
        stored = store_hits(session, post_id, first, T0)
    assert (stored.new, stored.total) == (3, 3)
    later = T0 + timedelta(days=1)
    with sessions.begin() as session:
        again = store_hits(session, post_id, [[_row(1, a, 0.6, "d.csv:row 40"), _row(4, c, 0.9)]], later)
    assert (again.new, again.total) == (1, 4)
    with sessions() as session:
        rows = {
            r.digest[-1]: r
            for r in session.scalars(select(HitRecord).where(HitRecord.post_id == post_id).order_by(HitRecord.id))
        }
    # The more confident row of an identity wins (row 9 beat row 2, and row 40 did not beat row 9) ...
    assert (rows[1].locator, rows[1].confidence, rows[1].subject_id) == ("d.csv:row 9", 0.8, a)
    # ... and a hit found again is seen again, while the others keep their times.
    assert (rows[1].first_seen, rows[1].last_seen) == (T0, later)
    assert rows[2].last_seen == T0
    assert (rows[3].subject_id, rows[3].subject_slot) == (None, 0)
    assert rows[4].subject_id == c


def test_an_unknown_subject_or_post_is_refused(db_url: str) -> None:
    """Per-row foreign-key checks stay on for the insert (only the conflict update skips subject_id)."""
    sessions, post_id, (a, _b, _c) = _world(db_url)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        store_hits(session, post_id, [[_row(1, a, 0.9), _row(2, 10_000_000, 0.9)]], T0)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        store_hits(session, post_id + 1000, [[_row(1, a, 0.9)]], T0)
    with sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM hits")) == 0


def test_hits_have_one_index_per_look_up(db_url: str) -> None:
    """Post look-ups use the identity index (it starts with post_id): no separate post_id index."""
    engine = make_engine(db_url)
    upgrade(engine)
    indexes = {tuple(i["column_names"]) for i in inspect(engine).get_indexes("hits")}
    uniques = {tuple(u["column_names"]) for u in inspect(engine).get_unique_constraints("hits")}
    engine.dispose()
    assert ("post_id",) not in indexes
    assert ("subject_id",) in indexes
    assert ("post_id", "id_type", "form", "digest", "subject_slot") in uniques
