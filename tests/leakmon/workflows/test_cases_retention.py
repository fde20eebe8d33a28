"""Retention: purge counts, dry runs, and posts under an active takedown case are kept."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from leakmon.errors import ConfigError
from leakmon.settings import Settings
from leakmon.workflows import takedown
from leakmon.workflows.retention import RetentionSettings, purge, retention_settings
from storage.models.cases import HitLabel, Incident
from storage.models.core import HitRecord, Post
from tests.leakmon.workflows.world import T0, Db

NOW = T0 + timedelta(days=100)


def _world(db: Db) -> None:
    with db.world() as w:
        old = w.leak("chan_a", "old", ["u1", "u2"], at=T0)
        old.text_ciphertext = b"sealed"
        kept = w.leak("chan_b", "kept", ["u3"], at=T0)
        takedown.open_case(w.session, kept.id, actor="a")
        w.leak("chan_c", "new", ["u4"], at=NOW - timedelta(days=1))


def _count(db: Db, model: type) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_dry_run_counts_and_changes_nothing(db: Db, tmp_path: Path) -> None:
    _world(db)
    policy = RetentionSettings(evidence_days=30, hits_days=60, posts_days=90)
    with db.sessions.begin() as session:
        result = purge(session, policy, default_evidence_days=180, home=tmp_path, dry_run=True, now=NOW)
    assert result.as_dict() == {"post_texts": 1, "evidence_files": 0, "hits": 3, "posts": 1}
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
