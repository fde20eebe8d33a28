"""Core tables: the protected set (digests only), posts, attachments, hits, findings, runs, checkpoints.

Nothing here holds a plaintext identifier of the protected set. Post text, when kept at all, is
stored encrypted (``text_ciphertext``) with the id of the evidence key that sealed it.
"""

from __future__ import annotations

from datetime import datetime
from hashlib import blake2b
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
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


class ProtectedKind(Base):
    """One (key id, type, form) of the protected set under a small number, with its digest count.

    A stored digest names its kind by number (2 bytes instead of three strings per row). Written only by
    the bulk loader, in the load's transaction, so the counts are exact: ``protect stats``, the set's
    types and key ids read these few rows instead of the set.
    """

    __tablename__ = "protected_kinds"
    __table_args__ = (UniqueConstraint("key_id", "id_type", "form"),)

    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    key_id: Mapped[str32]
    id_type: Mapped[str32]
    form: Mapped[str16]
    digests: Mapped[int] = mapped_column(BigInteger)


class ProtectedIdentifier(Base):
    """One keyed digest of one canonical form of one identifier of one subject, stored lean.

    The digest is split into ``prefix`` (its first 8 bytes as a signed big-endian 64-bit integer: what
    the in-memory index holds and the pre-filter of a confirmation) and ``rest`` (the other 24 bytes:
    a hit is confirmed on the whole digest). The digest's input already separates key, type and form,
    so (digest, subject) is the identity: the primary key (prefix, subject_id, rest). On SQLite the
    table is ``WITHOUT ROWID`` (the primary key's B-tree is the table, and a load sorted by prefix
    appends to it); PostgreSQL loads an empty set with the key dropped and rebuilds it after.
    """

    __tablename__ = "protected_identifiers"
    __table_args__ = ({"sqlite_with_rowid": False},)

    prefix: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    subject_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    rest: Mapped[bytes] = mapped_column(LargeBinary(24), primary_key=True)
    kind: Mapped[int] = mapped_column(SmallInteger)  # protected_kinds.kind (no per-row foreign key check)


class ProtectedMask(Base):
    """One mask-form digest (``010*1234``, ``ab*@naver.com``) with every subject that holds it, in one row.

    A mask digest is shared by many subjects (thousands for a common phone tail or e-mail domain),
    so it is stored once, with ``subjects``: the sorted distinct subject ids as big-endian signed 64-bit
    integers, concatenated. The digest is split like :class:`ProtectedIdentifier`'s (``prefix`` and
    ``rest``); ``kind`` is the (key, type, form) number. Full-form digests stay one row per
    (digest, subject) in ``protected_identifiers``. Written only by the bulk loader.
    """

    __tablename__ = "protected_masks"
    __table_args__ = ({"sqlite_with_rowid": False},)

    prefix: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    rest: Mapped[bytes] = mapped_column(LargeBinary(24), primary_key=True)
    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    subjects: Mapped[bytes] = mapped_column(LargeBinary)


class ProtectedSet(Base):
    """One row per key id the protected set holds digests under: read at start-up instead of the set.

    Written only by the bulk loader, in the load's transaction (the only writer of the set).
    ``version`` is a fresh random token on every write (the index cache's fingerprint); ``digests``
    is the number of digests under the key.
    """

    __tablename__ = "protected_sets"

    key_id: Mapped[str32] = mapped_column(primary_key=True)
    version: Mapped[str32]
    digests: Mapped[int] = mapped_column(BigInteger)


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
    It is enforced through ``identity_key`` (migration ``store_0010``): the unique index is on
    (post, key), 16 bytes an entry instead of the identity's five columns. The key is
    :func:`identity_key` of the identity (63 bits, never negative); a hit whose key another identity
    of the post already holds is stored under a negative key of the post (see
    :mod:`storage.repositories.hits`, which then finds it by its identity). A hit inserted without a
    key (the ORM) gets :func:`identity_key` by default.

    On PostgreSQL the two foreign keys below are not constraints (migration ``store_0008``): the
    store checks and locks the parents set-based, and triggers on ``posts`` and ``subjects`` do what
    ``ondelete`` says (see :mod:`storage.repositories.hits`). SQLite keeps them as declared.
    """

    __tablename__ = "hits"
    __table_args__ = (Index("uq_hits_post_id_identity_key", "post_id", "identity_key", unique=True),)

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
    identity_key: Mapped[int] = mapped_column(BigInteger, default=lambda context: _key_of(context))


def identity_key(id_type: str, form: str, digest: bytes, subject_slot: int) -> int:
    """A hit identity's 63-bit key (BLAKE2b of the identity's columns): the same in every process."""
    data = b"%s\0%s\0%d\0%s" % (id_type.encode(), form.encode(), subject_slot, digest)
    return int.from_bytes(blake2b(data, digest_size=8).digest(), "little") >> 1


def _key_of(context: Any) -> int:
    """``identity_key`` of the row an ORM insert is writing (its column default)."""
    row = context.get_current_parameters()
    return identity_key(row["id_type"], row["form"], row["digest"], row["subject_slot"])


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
