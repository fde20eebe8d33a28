"""What people do after a hit: incidents, triage labels, suppression rules, takedown cases, audit, alerts.

A hit belongs to an incident through its post (``incident_posts``): every hit of a post shares the
post's incident. Nothing here holds a plaintext identifier; suppression rules keep the keyed digest
the hit already carries, and the audit log records actions and row counts, never values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, BigIntPK, UTCDateTime, digest32, intpk, str16, str32, str64, str255, utc
from storage.models.vocab import HitLabelValue, IncidentStatus

# Stored strings (API: change only with a migration).
LABELS = tuple(label.value for label in HitLabelValue)
#: Labels that take a hit out of victim counts, exports and the legal clock.
EXCLUDING_LABELS = tuple(label.value for label in HitLabelValue if label is not HitLabelValue.CONFIRMED)
INCIDENT_STATUSES = tuple(status.value for status in IncidentStatus)
TAKEDOWN_STATES = ("open", "requested", "removed", "refused", "expired")


class Incident(Base):
    """One leak as seen across venues: reposts of the same data form one incident.

    Aggregates (subjects, types, clock) are recomputed by the workflow after every change, so the
    row is what analysts read; the hits stay the source of truth.
    """

    __tablename__ = "incidents"

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(String(1024), default="")
    status: Mapped[str16] = mapped_column(default=IncidentStatus.OPEN.value, index=True)
    merged_into: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("incidents.id", ondelete="SET NULL"))
    created_at: Mapped[utc]
    updated_at: Mapped[utc]
    first_seen: Mapped[utc]
    last_seen: Mapped[utc]
    subject_count: Mapped[int] = mapped_column(Integer, default=0)
    hit_count: Mapped[int] = mapped_column(Integer, default=0)
    post_count: Mapped[int] = mapped_column(Integer, default=0)
    id_types: Mapped[str] = mapped_column(String(512), default="")  # comma-separated, sorted
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    awareness_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    awareness_basis: Mapped[str | None] = mapped_column(String(255))
    notify_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    intrusion: Mapped[bool] = mapped_column(Boolean, default=False)
    report_required: Mapped[bool] = mapped_column(Boolean, default=False)
    report_reasons: Mapped[str] = mapped_column(String(512), default="")  # comma-separated
    alerted_confidence: Mapped[float | None] = mapped_column(Float)


class IncidentPost(Base):
    """A post's membership of an incident, with the grouping features it was matched on."""

    __tablename__ = "incident_posts"

    post_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[utc]
    reason: Mapped[str] = mapped_column(String(255))  # why it joined: new | attachment | subjects | text
    fingerprint: Mapped[str] = mapped_column(Text, default="")


class PostScore(Base):
    """Post-level confidence: how many distinct subjects a post matched, its trade score, the verdict."""

    __tablename__ = "post_scores"

    post_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    subjects: Mapped[int] = mapped_column(Integer, default=0)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    max_hit_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    trade_score: Mapped[float] = mapped_column(Float, default=0.0)
    seller_contact_hit_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("hits.id", ondelete="SET NULL"))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    computed_at: Mapped[utc]


class HitLabel(Base):
    """A triage label on a hit (append-only history; the latest row per hit is the current label)."""

    __tablename__ = "hit_labels"

    id: Mapped[intpk]
    hit_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("hits.id", ondelete="CASCADE"), index=True)
    label: Mapped[str32]
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str255]
    created_at: Mapped[utc]
    rule_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("suppression_rules.id", ondelete="SET NULL"))


class SuppressionRule(Base):
    """A false positive to suppress on later runs: the same identifier in the same context.

    The identifier is (subject, id type) when the hit named a subject, so the rule survives a key
    rotation; a hit without one (a partial hit compatible with several subjects) is matched by
    (key id, id type, form, digest). Context is one ``source`` (venue), or everywhere when
    ``source`` is NULL (``--everywhere`` on the label command). ``masked`` is the hit's masked value.
    """

    __tablename__ = "suppression_rules"
    __table_args__ = (Index("ix_suppression_lookup", "digest", "id_type", "form"),)

    id: Mapped[intpk]
    key_id: Mapped[str32]
    id_type: Mapped[str32]
    form: Mapped[str16]
    digest: Mapped[digest32]
    source: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str255]
    created_at: Mapped[utc]
    from_hit_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("hits.id", ondelete="SET NULL"))
    subject_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("subjects.id", ondelete="CASCADE"), index=True)
    masked: Mapped[str] = mapped_column(String(255), default="", server_default="")


class TakedownCase(Base):
    """A request to remove one post, or a whole channel (post_id then names the post that showed it)."""

    __tablename__ = "takedown_cases"

    id: Mapped[intpk]
    scope: Mapped[str16]  # post | channel
    post_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("posts.id", ondelete="SET NULL"), index=True)
    source: Mapped[str255]
    permalink: Mapped[str | None] = mapped_column(String(2048))
    state: Mapped[str16] = mapped_column(default="open", index=True)
    opened_at: Mapped[utc]
    updated_at: Mapped[utc]
    note: Mapped[str] = mapped_column(Text, default="")


class TakedownEvent(Base):
    """One state change of a takedown case (its history)."""

    __tablename__ = "takedown_events"

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("takedown_cases.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str16]
    at: Mapped[utc]
    actor: Mapped[str255]
    note: Mapped[str] = mapped_column(Text, default="")


class AuditEntry(Base):
    """Append-only, hash-chained record of exports and views of raw evidence.

    ``entry_hash`` = SHA-256 over the canonical JSON of this entry's fields and ``prev_hash``; the
    migration adds triggers that refuse UPDATE and DELETE, and ``audit verify`` recomputes the chain.
    """

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("seq"),)

    id: Mapped[intpk]
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[utc]
    actor: Mapped[str255]
    action: Mapped[str64]
    target: Mapped[str] = mapped_column(String(1024))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str64]
    entry_hash: Mapped[str64]


class AlertRecord(Base):
    """An alert queued by ingest and delivered after commit (outbox), per channel, with the outcome."""

    __tablename__ = "alert_log"

    id: Mapped[intpk]
    incident_id: Mapped[int | None] = mapped_column(
        BigIntPK, ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str32]  # new_incident | confidence_jump
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[utc]
    status: Mapped[str16] = mapped_column(default="pending", index=True)  # pending | sent | failed
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    results: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # channel -> "ok" | error sentence
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # deliveries tried
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # a failed alert's next retry


__all__ = [
    "EXCLUDING_LABELS",
    "INCIDENT_STATUSES",
    "LABELS",
    "TAKEDOWN_STATES",
    "AlertRecord",
    "AuditEntry",
    "HitLabel",
    "Incident",
    "IncidentPost",
    "PostScore",
    "SuppressionRule",
    "TakedownCase",
    "TakedownEvent",
]
