"""Retention: purge counts, dry runs, and posts under an active takedown case are kept."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leakmon.errors import ConfigError
from leakmon.settings import Settings
from leakmon.workflows import takedown
from leakmon.workflows.retention import RetentionSettings, purge, retention_settings
from storage.models.cases import HitLabel, Incident
from storage.models.core import AttachmentRecord, HitRecord, Post
from storage.repositories.cases import incident_of_post
from tests.leakmon.workflows.world import T0, Db

NOW = T0 + timedelta(days=100)


def _world(db: Db) -> None:
    with db.world() as w:
        old = w.leak("chan_a", "old", ["u1", "u2"], at=T0)
        old.text_ciphertext = b"sealed"
        _close_incident_of(w.session, old.id)
        kept = w.leak("chan_b", "kept", ["u3"], at=T0)
        _close_incident_of(w.session, kept.id)
        takedown.open_case(w.session, kept.id, actor="a")
        w.leak("chan_c", "new", ["u4"], at=NOW - timedelta(days=1))


def _close_incident_of(session: Session, post_id: int) -> None:
    incident_id = incident_of_post(session, post_id)
    assert incident_id is not None
    session.get_one(Incident, incident_id).status = "closed"


def _count(db: Db, model: type) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_dry_run_counts_and_changes_nothing(db: Db, tmp_path: Path) -> None:
    _world(db)
    policy = RetentionSettings(evidence_days=30, hits_days=60, posts_days=90)
    with db.sessions.begin() as session:
        result = purge(session, policy, default_evidence_days=180, home=tmp_path, dry_run=True, now=NOW)
    assert result.as_dict() == {"post_texts": 1, "evidence_files": 0, "hits": 2, "posts": 1}
    assert _count(db, HitRecord) == 4
    assert _count(db, Post) == 3


def test_purge_applies_the_policy(db: Db, tmp_path: Path) -> None:
    _world(db)
    policy = RetentionSettings(evidence_days=30, posts_days=90)
    with db.sessions.begin() as session:
        result = purge(session, policy, default_evidence_days=180, home=tmp_path, now=NOW)
    assert result.posts == 1
    assert result.hits == 0
    with db.sessions() as session:
        sources = set(session.scalars(select(Post.source)))
        assert sources == {"chan_b", "chan_c"}  # chan_b has an open takedown case
        assert session.scalar(select(func.count()).where(Post.text_ciphertext.is_not(None))) == 0
        assert session.scalar(select(func.count()).select_from(Incident)) == 3  # breach records stay
    assert _count(db, HitRecord) == 2
    assert _count(db, HitLabel) == 0


def test_bad_retention_settings() -> None:
    with pytest.raises(ConfigError, match=r"'hits_days' in \[retention\]: Input should be greater than or equal to 1"):
        retention_settings(Settings(retention={"hits_days": 0}))
    with pytest.raises(ConfigError, match=r"unknown key 'forever' in \[retention\]"):
        retention_settings(Settings(retention={"forever": 1}))


@pytest.mark.parametrize("hold", ["open_incident", "post_case", "channel_case"])
def test_nothing_under_an_open_incident_or_case_is_purged(db: Db, tmp_path: Path, hold: str) -> None:
    """Issue 16 item 7: old hits under an open incident or takedown case stay, with their post."""
    with db.world() as w:
        post = w.leak("chan_a", "1", ["u1", "u2", "u3"], at=T0)
        post.text_ciphertext = b"sealed"
        other = w.leak("chan_a", "2", ["u4"], at=T0, trade_score=0.0)
        if hold != "open_incident":
            _close_incident_of(w.session, post.id)
            _close_incident_of(w.session, other.id)
            takedown.open_case(w.session, post.id, actor="a", channel=hold == "channel_case")
    policy = RetentionSettings(evidence_days=5, hits_days=5, posts_days=5)
    with db.sessions.begin() as session:
        result = purge(session, policy, default_evidence_days=5, home=tmp_path, now=NOW)
    held_hits = 4 if hold != "post_case" else 3
    assert _count(db, HitRecord) == held_hits
    assert result.hits == 4 - held_hits
    with db.sessions() as session:
        kept = session.scalars(select(Post).where(Post.external_id == "1")).one()
        assert kept.text_ciphertext == b"sealed"


def test_a_sealed_file_kept_for_a_younger_post_survives_the_older_posts_purge(db: Db, tmp_path: Path) -> None:
    """Sealed files are content-addressed: purging one post's copy must not delete another's evidence."""
    shared = tmp_path / "evidence" / "ab.k1.sealed"
    alone = tmp_path / "evidence" / "cd.k1.sealed"
    shared.parent.mkdir()
    shared.write_bytes(b"sealed")
    alone.write_bytes(b"sealed")
    with db.world() as w:
        old = w.leak("chan_a", "old", ["u1"], at=T0)
        _close_incident_of(w.session, old.id)
        young = w.leak("chan_b", "young", ["u2"], at=NOW - timedelta(days=1))
        for post, path, stored in ((old, shared, T0), (old, alone, T0), (young, shared, NOW - timedelta(days=1))):
            w.session.add(
                AttachmentRecord(
                    post_id=post.id,
                    name=path.name,
                    sha256=path.name[:2],
                    status="scanned",
                    evidence_path=str(path),
                    evidence_key_id="k1",
                    stored_at=stored,
                )
            )
    policy = RetentionSettings(evidence_days=30)
    with db.sessions.begin() as session:
        result = purge(session, policy, default_evidence_days=180, home=tmp_path, now=NOW)
    assert result.evidence_files == 2
    assert shared.exists()  # the young post's row still points to it
    assert not alone.exists()
    with db.sessions() as session:
        kept = select(AttachmentRecord.evidence_path).where(AttachmentRecord.evidence_path.is_not(None))
        assert list(session.scalars(kept)) == [str(shared)]
