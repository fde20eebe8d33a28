"""Hit listings with filters and a hit's evidence trail (what `leakmon hits` shows)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from leakmon.errors import InputError, NotFoundError
from storage.models.cases import LABELS, HitLabel, Incident, IncidentPost, PostScore
from storage.models.core import HitRecord, Post, Subject
from storage.repositories.cases import current_labels

COLUMNS = (
    "hit_id",
    "post_id",
    "incident_id",
    "source",
    "venue",
    "permalink",
    "locator",
    "id_type",
    "match_kind",
    "obfuscation",
    "confidence",
    "post_confidence",
    "masked",
    "subject_ref",
    "label",
    "first_seen",
    "last_seen",
)
STATUSES = (*LABELS, "unlabelled")


@dataclass(frozen=True, slots=True)
class HitFilters:
    since: datetime | None = None
    source: str | None = None
    id_type: str | None = None
    match_kind: str | None = None
    min_confidence: float | None = None
    status: str | None = None
    incident: int | None = None
    limit: int | None = None


#: On SQLite, an incident with at least this many hits, and at least 1/BIG_SHARE of all hits, is paged
#: by walking the hits in id order and keeping those of its posts (a page reads at most about BIG_SHARE
#: times the rows it shows, and nothing is sorted); otherwise its hits are joined through its posts and
#: sorted by id for each page. PostgreSQL's planner chooses for itself (it would sort either way).
BIG_INCIDENT = 20_000
BIG_SHARE = 50


def _incident_posts(incident: int) -> Select[int]:
    return select(IncidentPost.post_id).where(IncidentPost.incident_id == incident)


def is_big_incident(session: Session, incident: int) -> bool:
    """Whether to page the incident's hits by walking all hits in id order (two primary-key reads)."""
    if session.get_bind().dialect.name != "sqlite":
        return False
    hit_count = session.scalar(select(Incident.hit_count).where(Incident.id == incident)) or 0
    top = session.scalar(select(func.max(HitRecord.id))) or 0
    return hit_count >= BIG_INCIDENT and hit_count * BIG_SHARE >= top


def _statement(filters: HitFilters, *, big_incident: bool = False) -> Select[*tuple[Any, ...]]:
    label = aliased(HitLabel)
    latest = select(func.max(HitLabel.id)).where(HitLabel.hit_id == HitRecord.id).correlate(HitRecord).scalar_subquery()
    statement: Select[*tuple[Any, ...]] = (
        select(
            HitRecord.id.label("hit_id"),
            HitRecord.post_id,
            IncidentPost.incident_id,
            HitRecord.source,
            Post.venue,
            Post.url.label("permalink"),
            HitRecord.locator,
            HitRecord.id_type,
            HitRecord.match_kind,
            HitRecord.obfuscation,
            HitRecord.confidence,
            PostScore.confidence.label("post_confidence"),
            HitRecord.masked,
            Subject.subject_ref,
            label.label,
            HitRecord.first_seen,
            HitRecord.last_seen,
        )
        .join(Post, Post.id == HitRecord.post_id)
        .outerjoin(Subject, Subject.id == HitRecord.subject_id)
        .outerjoin(IncidentPost, IncidentPost.post_id == HitRecord.post_id)
        .outerjoin(PostScore, PostScore.post_id == HitRecord.post_id)
        .outerjoin(label, label.id == latest)
        .order_by(HitRecord.id)
    )
    if filters.since is not None:
        statement = statement.where(HitRecord.first_seen >= filters.since)
    if filters.source:
        statement = statement.where(HitRecord.source == filters.source)
    if filters.id_type:
        statement = statement.where(HitRecord.id_type == filters.id_type)
    if filters.match_kind:
        statement = statement.where(HitRecord.match_kind == filters.match_kind)
    if filters.min_confidence is not None:
        statement = statement.where(HitRecord.confidence >= filters.min_confidence)
    if filters.incident is not None and big_incident:
        # ``post_id + 0`` keeps both planners off the post index: the hits are walked in id order (the
        # primary key) and no page sorts the whole incident.
        statement = statement.where((HitRecord.post_id + 0).in_(_incident_posts(filters.incident)))
    elif filters.incident is not None:
        statement = statement.where(IncidentPost.incident_id == filters.incident)
    if filters.status:
        if filters.status not in STATUSES:
            raise InputError(f"unknown status {filters.status!r}; use one of {', '.join(STATUSES)}")
        statement = statement.where(
            label.label.is_(None) if filters.status == "unlabelled" else label.label == filters.status
        )
    if filters.limit is not None:
        statement = statement.limit(filters.limit)
    return statement


#: Hits per query when paging through a listing.
PAGE_ROWS = 5000


def list_hits(session: Session, filters: HitFilters) -> list[dict[str, Any]]:
    """Hits as plain rows (the ``v_hits`` columns a responder needs), never digests."""
    return list(iter_hits(session, filters))


def iter_hits(
    session: Session, filters: HitFilters, *, page: int = PAGE_ROWS, after: int = 0
) -> Iterator[dict[str, Any]]:
    """The same rows, paged through the database by hit id (keyset: each page starts after the last
    id seen, the first after ``after``), so a listing of millions of hits holds one page."""
    big = filters.incident is not None and is_big_incident(session, filters.incident)
    statement = _statement(replace(filters, limit=None), big_incident=big)
    left = filters.limit
    while left is None or left > 0:
        size = page if left is None else min(page, left)
        rows = session.execute(statement.where(HitRecord.id > after).limit(size)).all()
        for row in rows:
            yield dict(row._mapping)
        if len(rows) < size:
            return
        after = rows[-1].hit_id
        if left is not None:
            left -= len(rows)


def evidence_trail(session: Session, hit_id: int) -> dict[str, Any]:
    """Everything known about one hit: where, how it was extracted and normalized, why this confidence."""
    hit = session.get(HitRecord, hit_id)
    if hit is None:
        raise NotFoundError(f"hit {hit_id} does not exist")
    post = session.get_one(Post, hit.post_id)
    subject = session.get(Subject, hit.subject_id) if hit.subject_id is not None else None
    score = session.get(PostScore, post.id)
    membership = session.get(IncidentPost, post.id)
    explanation = hit.explanation or {}
    labels = session.scalars(select(HitLabel).where(HitLabel.hit_id == hit.id).order_by(HitLabel.id))
    label = current_labels(session, [hit.id]).get(hit.id)
    return {
        "hit_id": hit.id,
        "id_type": hit.id_type,
        "form": hit.form,
        "masked": hit.masked,
        "match_kind": hit.match_kind,
        "compatible_subjects": hit.compatible_subjects,
        "subject_ref": subject.subject_ref if subject else None,
        "confidence": hit.confidence,
        "extractor": explanation.get("extractor"),
        "validation": explanation.get("validation"),
        "obfuscation": hit.obfuscation,
        "context": explanation.get("context", []),
        "reasons": explanation.get("reasons", []),
        "locator": hit.locator,
        "attachment_sha256": hit.attachment_sha256,
        "source": post.source,
        "venue": post.venue,
        "permalink": post.url,
        "post_id": post.id,
        "posted_at": post.posted_at,
        "first_seen": hit.first_seen,
        "last_seen": hit.last_seen,
        "post_removed_at": post.removed_at,
        "trade_score": post.trade_score,
        "trade_terms": list(post.trade_terms or []),
        "post_confidence": score.confidence if score else None,
        "post_reasons": list(score.reasons) if score else [],
        "seller_contact": bool(score and score.seller_contact_hit_id == hit.id),
        "incident_id": membership.incident_id if membership else None,
        "label": label.label if label else None,
        "label_history": [
            {"label": row.label, "actor": row.actor, "at": row.created_at, "note": row.note} for row in labels
        ],
    }
