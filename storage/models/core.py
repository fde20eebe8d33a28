"""Core tables: the protected set (digests only), posts, attachments, hits, findings, runs, checkpoints.

Nothing here holds a plaintext identifier of the protected set. Post text, when kept at all, is
stored encrypted (``text_ciphertext``) with the id of the evidence key that sealed it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, BigIntPK, UTCDateTime, digest32, intpk, str16, str32, str64, str255, utc
from storage.models.vocab import PostStatus, RunStatus


class Subject(Base):
    """A protected person, known only by the company's opaque reference."""

    __tablename__ = "subjects"

    id: Mapped[intpk]
    subject_ref: Mapped[str255] = mapped_column(unique=True)
    created_at: Mapped[utc]


class ProtectedIdentifier(Base):
    """One keyed digest of one canonical form of one identifier of one subject.

    The digest's input already separates key, type and form, so (digest, subject) is the identity.
    The unique index is named so the bulk loader can drop and rebuild it around big imports.
    """

    __tablename__ = "protected_identifiers"
    __table_args__ = (Index("ux_protected_identity", "digest", "subject_id", unique=True),)

    id: Mapped[intpk]
    key_id: Mapped[str32]
    id_type: Mapped[str32]
    form: Mapped[str16]
    digest: Mapped[digest32]
    subject_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("subjects.id", ondelete="CASCADE"))


class ProtectedSet(Base):
    """One row per key id the protected set holds digests under: read at start-up instead of the set.

    Written only by the bulk loader, in the load's transaction. ``version`` is a fresh random token
    on every write (the index cache's fingerprint); ``top_id`` is the set's highest row id at that
    write, so a row added any other way shows the summary is stale (then readers scan the set).
    """

    __tablename__ = "protected_sets"

    key_id: Mapped[str32] = mapped_column(primary_key=True)
    version: Mapped[str32]
    top_id: Mapped[int] = mapped_column(BigInteger)


class KeyRecord(Base):
    """A key id in use (never the key): which key sealed which digests or evidence."""

    __tablename__ = "key_records"

    key_id: Mapped[str32] = mapped_column(primary_key=True)
    purpose: Mapped[str16]  # "hmac" | "evidence"
    created_at: Mapped[utc]
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Post(Base):
    """A post, message, album, paste or scanned file as seen at a venue."""

    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[intpk]
    source: Mapped[str255]
    external_id: Mapped[str] = mapped_column(String(1024))
    venue: Mapped[str32]
    url: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str | None] = mapped_column(String(1024))
    author: Mapped[str | None] = mapped_column(String(255))
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_seen: Mapped[utc]
    last_seen: Mapped[utc]
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    content_hash: Mapped[str64]
    versions: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str16] = mapped_column(default=PostStatus.OK.value)  # PostStatus
    text_length: Mapped[int] = mapped_column(Integer, default=0)
    trade_score: Mapped[float | None] = mapped_column(Float)
    trade_terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    text_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    text_key_id: Mapped[str | None] = mapped_column(String(32))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AttachmentRecord(Base):
    """An attachment's identity and outcome; the file itself only encrypted, only if configured."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("post_id", "sha256", "name"),)

    id: Mapped[intpk]
    post_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    detected_type: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str16]  # AttachmentStatus
    evidence_path: Mapped[str | None] = mapped_column(String(1024))
    evidence_key_id: Mapped[str | None] = mapped_column(String(32))
    stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HitRecord(Base):
    """A protected subject's identifier seen in a post (or one of its files).

    Identity is (post, type, form, digest, subject): a re-crawl or a resumed run never duplicates it.
    ``subject_slot`` is the subject id, or 0 for a partial hit compatible with several subjects.
    """

    __tablename__ = "hits"
    __table_args__ = (UniqueConstraint("post_id", "id_type", "form", "digest", "subject_slot"),)

    id: Mapped[intpk]
    # No index of its own: the identity index below starts with post_id (migration mbstore_0007).
    post_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("posts.id", ondelete="CASCADE"))
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str255]
    locator: Mapped[str] = mapped_column(String(2048))
    id_type: Mapped[str32]
    form: Mapped[str16]
    digest: Mapped[digest32]
    key_id: Mapped[str32]
    subject_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("subjects.id", ondelete="SET NULL"), index=True)
    subject_slot: Mapped[int] = mapped_column(BigInteger)
    compatible_subjects: Mapped[int] = mapped_column(Integer, default=1)
    match_kind: Mapped[str16]
    obfuscation: Mapped[str] = mapped_column(String(255))
    confidence: Mapped[float] = mapped_column(Float)
    masked: Mapped[str255]
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_seen: Mapped[utc]
    last_seen: Mapped[utc]


class FindingRecord(Base):
    """A skip, cap or error recorded so nothing is silently lost."""

    __tablename__ = "findings"

    id: Mapped[intpk]
    source: Mapped[str255] = mapped_column(index=True)
    post_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("posts.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("runs.id", ondelete="SET NULL"))
    locator: Mapped[str] = mapped_column(String(2048))
    kind: Mapped[str32]
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[utc]


class Run(Base):
    """One run of one source (crawl, Telegram read, scan, import) and its summary."""

    __tablename__ = "runs"

    id: Mapped[intpk]
    source: Mapped[str255] = mapped_column(index=True)
    kind: Mapped[str32]
    started_at: Mapped[utc]
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str16] = mapped_column(default=RunStatus.RUNNING.value)  # RunStatus
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    retry_after: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Checkpoint(Base):
    """A resume point, advanced in the same transaction as the hits it covers."""

    __tablename__ = "checkpoints"

    scope: Mapped[str32] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    value: Mapped[str] = mapped_column(String(1024))
    updated_at: Mapped[utc]
