"""A synthetic world for the case workflows: subjects, posts and hits inserted straight through the ORM.

Digests are SHA-256 of a synthetic label (no real HMAC key, no real person). ``SECRET_VALUES`` are
plaintext identifiers that exist only here, as the strings that must never appear in any output.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from leakmon.settings import Settings
from leakmon.workflows.incidents import on_post_ingested
from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models.core import AttachmentRecord, HitRecord, Post, Subject
from storage.repositories.first_seen import note_first_seen
from storage.repositories.hits import StoredHits

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
KEY_ID = "k-test"
#: Plaintext identifiers of the synthetic subjects: they must never reach a row, an export or a log.
SECRET_VALUES = ("01098765432", "900101-1234567", "kim.minsu@example.kr", "서울시 강남구 테헤란로 1")


def digest(label: str) -> bytes:
    return hashlib.sha256(f"synthetic:{label}".encode()).digest()


def masked(id_type: str) -> str:
    return {"phone": "010-****-5432", "rrn": "900101-1******", "email": "k***@example.kr"}.get(id_type, "***")


@dataclass
class World:
    """Builds rows in one session; call ``ingest`` to run the post hook as the sink would."""

    session: Session
    settings: Settings = field(default_factory=lambda: Settings(home="/tmp/leakmon-test-home"))
    _subjects: dict[str, Subject] = field(default_factory=dict)

    def subject(self, ref: str) -> Subject:
        self.subjects([ref])
        return self._subjects[ref]

    def subjects(self, refs: Sequence[str]) -> None:
        """Create (or find) many subjects with one flush."""
        missing = [ref for ref in refs if ref not in self._subjects]
        if missing:
            found = self.session.scalars(select(Subject).where(Subject.subject_ref.in_(missing)))
            self._subjects.update({row.subject_ref: row for row in found})
        fresh = [Subject(subject_ref=ref, created_at=T0) for ref in dict.fromkeys(refs) if ref not in self._subjects]
        self.session.add_all(fresh)
        self.session.flush()
        self._subjects.update({row.subject_ref: row for row in fresh})

    def post(
        self,
        source: str,
        external_id: str,
        *,
        venue: str = "telegram",
        url: str | None = None,
        title: str | None = None,
        author: str | None = None,
        trade_score: float = 0.8,
        trade_terms: Sequence[str] = ("디비 팝니다",),
        at: datetime = T0,
        extra: dict[str, Any] | None = None,
        files: Sequence[tuple[str, str]] = (),
    ) -> Post:
        post = Post(
            source=source,
            external_id=external_id,
            venue=venue,
            url=url or f"https://t.me/{source}/{external_id}",
            title=title,
            author=author,
            posted_at=at - timedelta(minutes=5),
            first_seen=at,
            last_seen=at,
            content_hash=hashlib.sha256(f"{source}/{external_id}".encode()).hexdigest(),
            trade_score=trade_score,
            trade_terms=list(trade_terms),
            extra=dict(extra or {}),
        )
        self.session.add(post)
        self.session.flush()
        for name, sha in files:
            self.session.add(
                AttachmentRecord(post_id=post.id, name=name, sha256=sha, size=1234, detected_type="csv", status="ok")
            )
        self.session.flush()
        return post

    def hit(
        self,
        post: Post,
        subject_ref: str | None,
        id_type: str = "phone",
        *,
        match_kind: str = "exact",
        confidence: float = 0.95,
        obfuscation: str = "none",
        attachment_sha256: str | None = None,
        at: datetime | None = None,
        label: str | None = None,
        flush: bool = True,
    ) -> HitRecord:
        subject = self.subject(subject_ref) if subject_ref else None
        when = at or post.first_seen
        row = HitRecord(
            post_id=post.id,
            attachment_sha256=attachment_sha256,
            source=post.source,
            locator="text:line 1" if attachment_sha256 is None else "rows.csv:row 2",
            id_type=id_type,
            form="full" if match_kind != "partial" else "p3s4",
            digest=digest(label or f"{id_type}:{subject_ref}"),
            key_id=KEY_ID,
            subject_id=subject.id if subject else None,
            subject_slot=subject.id if subject else 0,
            compatible_subjects=1 if subject else 3,
            match_kind=match_kind,
            obfuscation=obfuscation,
            confidence=confidence,
            masked=masked(id_type),
            explanation={
                "extractor": f"{id_type}_regex",
                "validation": "checksum_ok" if id_type == "rrn" else None,
                "context": ["연락처"],
                "reasons": ["exact digest match", "context word nearby"],
            },
            first_seen=when,
            last_seen=when,
        )
        self.session.add(row)
        if flush:
            self.session.flush()
        return row

    def ingest(self, post: Post, hits: Sequence[HitRecord]) -> None:
        """Run the post hook as the sink does: ``hits`` (just added to ``post``) are the new ones."""
        self.session.flush()
        ids = [h.id for h in hits]
        before = min(ids) - 1 if ids else 0
        total = self.session.scalar(select(func.count()).where(HitRecord.post_id == post.id)) or 0
        stored = StoredHits(post_id=post.id, before=before, new=len(ids), total=total)
        note_first_seen(self.session, post.id, before)  # what store_hits does after its batches
        on_post_ingested(self.session, post, stored, settings=self.settings)
        self.session.flush()

    def leak(
        self,
        source: str,
        external_id: str,
        subjects: Sequence[str],
        types: Sequence[str] = ("phone",),
        *,
        file_sha: str | None = None,
        **post_args: Any,
    ) -> Post:
        """A post with one hit per (subject, type), ingested."""
        files = [("rows.csv", file_sha)] if file_sha else []
        post = self.post(source, external_id, files=files, **post_args)
        self.subjects(subjects)
        hits = [self.hit(post, ref, t, attachment_sha256=file_sha, flush=False) for ref in subjects for t in types]
        self.session.flush()
        self.ingest(post, hits)
        return post


@dataclass
class Db:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def world(self, settings: Settings | None = None) -> Iterator[World]:
        """A World in one committed transaction."""
        with self.sessions.begin() as session:
            yield World(session, settings) if settings is not None else World(session)


def open_db(url: str) -> Db:
    engine = make_engine(url)
    upgrade(engine)
    return Db(url, engine, make_sessionmaker(engine))
