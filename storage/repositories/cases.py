"""Incidents, their posts, triage labels and suppression rules (take a Session, never commit)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import ColumnElement, case, exists, func, select, text, true, update
from sqlalchemy.orm import Session, aliased

from storage.models.cases import HitLabel, Incident, IncidentPost, PostScore
from storage.models.core import AttachmentRecord, HitRecord, Post

_CHUNK = 500
T = TypeVar("T")
Ts = TypeVarTuple("Ts")


def chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    """Slices of at most ``size`` items (keeps IN lists within every backend's parameter limit)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- hits and labels ------------------------------------------------------------------------------


def hits_of_posts(session: Session, post_ids: Sequence[int]) -> list[HitRecord]:
    rows: list[HitRecord] = []
    for part in chunks(sorted(set(post_ids))):
        rows.extend(session.scalars(select(HitRecord).where(HitRecord.post_id.in_(part)).order_by(HitRecord.id)))
    return rows


def current_labels(session: Session, hit_ids: Iterable[int]) -> dict[int, HitLabel]:
    """The latest label of each hit that has one."""
    latest: dict[int, HitLabel] = {}
    for part in chunks(sorted(set(hit_ids))):
        for label in session.scalars(select(HitLabel).where(HitLabel.hit_id.in_(part)).order_by(HitLabel.id)):
            latest[label.hit_id] = label
    return latest


def add_label(
    session: Session,
    hit_id: int,
    label: str,
    *,
    actor: str,
    at: datetime,
    note: str = "",
    rule_id: int | None = None,
) -> HitLabel:
    row = HitLabel(hit_id=hit_id, label=label, note=note, actor=actor, created_at=at, rule_id=rule_id)
    session.add(row)
    session.flush()
    return row


# -- incidents ------------------------------------------------------------------------------------


def incident_of_post(session: Session, post_id: int) -> int | None:
    return session.scalar(select(IncidentPost.incident_id).where(IncidentPost.post_id == post_id))


def incident_posts(session: Session, incident_id: int) -> list[Post]:
    return list(
        session.scalars(
            select(Post)
            .join(IncidentPost, IncidentPost.post_id == Post.id)
            .where(IncidentPost.incident_id == incident_id)
            .order_by(Post.id)
        )
    )


def incidents_by_attachment(session: Session, sha256s: Iterable[str]) -> set[int]:
    """Open incidents holding a post that carried (or matched inside) any of these files."""
    wanted = sorted(set(sha256s))
    found: set[int] = set()
    for part in chunks(wanted):
        via_files = (
            select(IncidentPost.incident_id)
            .join(AttachmentRecord, AttachmentRecord.post_id == IncidentPost.post_id)
            .where(AttachmentRecord.sha256.in_(part))
        )
        via_hits = (
            select(IncidentPost.incident_id)
            .join(HitRecord, HitRecord.post_id == IncidentPost.post_id)
            .where(HitRecord.attachment_sha256.in_(part))
        )
        found.update(session.scalars(via_files))
        found.update(session.scalars(via_hits))
    return _open_only(session, found)


def incidents_by_subjects(session: Session, subject_ids: Iterable[int]) -> dict[int, int]:
    """Open incidents sharing subjects with the given set: incident id -> number of shared subjects."""
    shared: dict[int, set[int]] = {}
    for part in chunks(sorted(set(subject_ids))):
        rows = session.execute(
            select(IncidentPost.incident_id, HitRecord.subject_id)
            .join(HitRecord, HitRecord.post_id == IncidentPost.post_id)
            .where(HitRecord.subject_id.in_(part))
            .distinct()
        )
        for incident_id, subject_id in rows:
            if subject_id is not None:
                shared.setdefault(incident_id, set()).add(subject_id)
    open_ids = _open_only(session, shared)
    return {incident_id: len(subjects) for incident_id, subjects in shared.items() if incident_id in open_ids}


def recent_fingerprints(session: Session, since: datetime, limit: int = 2000) -> list[tuple[int, str]]:
    """(incident id, post fingerprint) of open incidents seen since ``since``, newest first."""
    rows = session.execute(
        select(IncidentPost.incident_id, IncidentPost.fingerprint)
        .join(Incident, Incident.id == IncidentPost.incident_id)
        .where(Incident.status == "open", Incident.last_seen >= since, IncidentPost.fingerprint != "")
        .order_by(IncidentPost.joined_at.desc())
        .limit(limit)
    )
    return [(incident_id, fingerprint) for incident_id, fingerprint in rows]


def recent_signatures(
    session: Session, since: datetime, *, exclude_post: int, limit: int = 2000
) -> list[tuple[int, str]]:
    """(incident id, post ``extra["text_signature"]``) of open incidents seen since ``since``."""
    rows = session.execute(
        select(IncidentPost.incident_id, Post.extra)
        .join(Incident, Incident.id == IncidentPost.incident_id)
        .join(Post, Post.id == IncidentPost.post_id)
        .where(Incident.status == "open", Incident.last_seen >= since, Post.id != exclude_post)
        .order_by(IncidentPost.joined_at.desc())
        .limit(limit)
    )
    found = []
    for incident_id, extra in rows:
        value = extra.get("text_signature") if isinstance(extra, dict) else None
        if isinstance(value, str) and value:
            found.append((incident_id, value))
    return found


def merge_incidents(session: Session, target: int, others: Iterable[int]) -> None:
    """Move the posts of ``others`` into ``target`` and mark them merged."""
    for other in others:
        if other == target:
            continue
        session.execute(update(IncidentPost).where(IncidentPost.incident_id == other).values(incident_id=target))
        session.execute(update(Incident).where(Incident.id == other).values(status="merged", merged_into=target))


def list_incidents(session: Session, *, include_closed: bool = False) -> list[Incident]:
    statement = select(Incident).where(Incident.status != "merged")
    if not include_closed:
        statement = statement.where(Incident.status == "open")
    return list(session.scalars(statement.order_by(Incident.id)))


def post_counts(session: Session, incident_ids: Sequence[int]) -> dict[int, int]:
    rows = session.execute(
        select(IncidentPost.incident_id, func.count())
        .where(IncidentPost.incident_id.in_(incident_ids))
        .group_by(IncidentPost.incident_id)
    )
    return {incident_id: int(count) for incident_id, count in rows}


def _open_only(session: Session, incident_ids: Iterable[int]) -> set[int]:
    ids = sorted(set(incident_ids))
    if not ids:
        return set()
    result: set[int] = set()
    for part in chunks(ids):
        result.update(session.scalars(select(Incident.id).where(Incident.id.in_(part), Incident.status == "open")))
    return result


# -- incident aggregates (computed in SQL, so big incidents stay cheap to refresh) -----------------


@dataclass(frozen=True, slots=True)
class IncidentAggregate:
    """What the legal clock needs, over the incident's hits that triage has not excluded."""

    subjects: int
    hits: int
    posts: int
    id_types: tuple[str, ...]
    first_seen: datetime | None
    last_seen: datetime | None
    confidence: float
    first_confirmed: tuple[datetime, int, str] | None  # label time, hit id, actor
    #: first seen, hit id, confidence of the first strong exact hit that is not the post's likely seller contact
    first_strong_exact: tuple[datetime, int, float] | None


@dataclass(frozen=True, slots=True)
class PostTotals:
    """One post's part of :class:`IncidentAggregate`, summed up in the pass of its summary
    (:func:`storage.repositories.hits.post_hits`) when no label excludes any of its hits: an
    incident whose only post it is (a first mass breach) is not aggregated over its hits again."""

    post_id: int
    subjects: int
    hits: int
    id_types: tuple[str, ...]
    first_seen: datetime | None
    last_seen: datetime | None
    #: The match kind and the least confidence ``first_strong_exact`` was looked for with.
    exact_kind: str
    strong: float
    #: The first strong exact hit (first seen, hit id, confidence), None when there is none, seller
    #: contact or not; when ``exact_known`` is False it was not found in the pass (strong exact hits
    #: first seen at different times) and the aggregate looks for it.
    first_strong_exact: tuple[datetime, int, float] | None
    exact_known: bool


#: An incident with at least this many hits, and at least 1/BIG_SHARE of all hits, has its subjects
#: counted on SQLite by walking the hits' subject index (groups come whole, nothing sorted); a
#: smaller one through its posts' hits (a sort of only those). The hits listing uses the same rule.
BIG_INCIDENT = 20_000
BIG_SHARE = 50


def excluded_by_label(excluded: Sequence[str]) -> ColumnElement[bool]:
    """The hit's latest label is one of ``excluded`` (an anti-join: one index probe per hit, not a
    correlated ``max`` per hit)."""
    label, later = aliased(HitLabel), aliased(HitLabel)
    newer = exists().where(later.hit_id == label.hit_id, later.id > label.id)
    return exists().where(label.hit_id == HitRecord.id, label.label.in_(excluded), ~newer)


def incident_aggregate(
    session: Session,
    incident_id: int,
    *,
    excluded: Sequence[str],
    exact_kind: str,
    strong: float,
    known: PostTotals | None = None,
) -> IncidentAggregate:
    """Counts, types and the clock's candidate times over the incident's hits, in a few SQL passes.

    Whatever the number of hits, no statement returns more than one row per identifier type; the
    distinct subjects are counted by grouping. On SQLite a big incident's hits are walked in table or
    subject-index order (see :data:`BIG_INCIDENT`): through the post index, whose entries are in
    digest order, every hit is a random read of the table (minutes at 3M hits instead of seconds).
    Hits are tested against their labels only when an excluding label is the latest of one of the
    incident's hits (found from the labels' side). ``known``: a post's totals (see
    :class:`PostTotals`): when that post is the incident's only one, its hits are not read again
    (but for its first strong exact hit when the totals could not tell it).
    """
    post_ids = select(IncidentPost.post_id).where(IncidentPost.incident_id == incident_id)
    members = session.scalars(post_ids.limit(2)).all()
    if known is not None and (members != [known.post_id] or (known.exact_kind, known.strong) != (exact_kind, strong)):
        known = None
    effective: ColumnElement[bool] = true()  # the known totals are of a post no label excludes a hit of
    if known is None and session.scalar(select(_excluded_in(post_ids, excluded).exists())):
        effective = ~excluded_by_label(excluded)
    walk: ColumnElement[bool] | None = None
    if known is not None:
        types, hits, first_seen, last_seen = known.id_types, known.hits, known.first_seen, known.last_seen
        subjects: int | None = known.subjects
    else:
        walk = _walk(session, post_ids)
        types, hits, first_seen, last_seen = _per_type(session, walk, effective)
        grouped = (
            select(HitRecord.subject_id)
            .where(walk, HitRecord.subject_id.is_not(None), effective)
            .group_by(HitRecord.subject_id)
            .subquery()
        )
        subjects = session.scalar(select(func.count()).select_from(grouped))
    label, later, labelled = aliased(HitLabel), aliased(HitLabel), aliased(HitRecord)
    post_of = select(labelled.post_id).where(labelled.id == label.hit_id).scalar_subquery()
    confirmed = session.execute(  # driven by the labels (a look-up per label, none per hit)
        select(label.created_at, label.hit_id, label.actor)
        .where(
            label.label == "confirmed",
            post_of.in_(post_ids),
            ~exists().where(later.hit_id == label.hit_id, later.id > label.id),
        )
        .order_by(label.created_at, label.hit_id)
        .limit(1)
    ).first()
    seller_contacts = select(PostScore.seller_contact_hit_id).where(
        PostScore.post_id.in_(post_ids), PostScore.seller_contact_hit_id.is_not(None)
    )
    exact = known.first_strong_exact if known is not None and known.exact_known else None
    if exact is not None and exact[1] in session.scalars(seller_contacts).all():
        known = None  # the pass's candidate is the post's likely seller contact: the next one is looked for
    if known is None or not known.exact_known:
        found = session.execute(
            select(HitRecord.first_seen, HitRecord.id, HitRecord.confidence)
            .where(
                walk if walk is not None else _walk(session, post_ids),
                effective,
                HitRecord.match_kind == exact_kind,
                HitRecord.confidence >= strong,
                HitRecord.id.not_in(seller_contacts),
            )
            .order_by(HitRecord.first_seen, HitRecord.id)
            .limit(1)
        ).first()
        exact = (found[0], found[1], found[2]) if found else None
    posts = session.scalar(
        select(func.count()).select_from(IncidentPost).where(IncidentPost.incident_id == incident_id)
    )
    confidence = session.scalar(select(func.max(PostScore.confidence)).where(PostScore.post_id.in_(post_ids)))
    return IncidentAggregate(
        subjects=int(subjects or 0),
        hits=int(hits or 0),
        posts=int(posts or 0),
        id_types=types,
        first_seen=first_seen,
        last_seen=last_seen,
        confidence=float(confidence or 0.0),
        first_confirmed=(confirmed[0], confirmed[1], confirmed[2]) if confirmed else None,
        first_strong_exact=exact,
    )


def _walk(session: Session, post_ids: Any) -> ColumnElement[bool]:
    """``hits.post_id IN (the incident's posts)``; on SQLite, for a big incident, not indexable: the
    table or the subject index is walked in order, at most BIG_SHARE times the incident's rows (the
    post index's digest order reads the table at random)."""
    in_incident = HitRecord.post_id.in_(post_ids)
    if session.get_bind().dialect.name == "sqlite":
        everything = session.scalar(select(func.count()).where(in_incident)) or 0  # the post index alone
        top = session.scalar(select(func.max(HitRecord.id))) or 0
        if everything >= BIG_INCIDENT and everything * BIG_SHARE >= top:
            return (HitRecord.post_id + 0).in_(post_ids)
    return in_incident


def _per_type(
    session: Session, walk: ColumnElement[bool], effective: ColumnElement[bool]
) -> tuple[tuple[str, ...], int, datetime | None, datetime | None]:
    """Types with an effective hit, effective hits, first and last seen of every hit (one ``GROUP BY``)."""
    per_type = session.execute(
        select(
            HitRecord.id_type,
            func.sum(case((effective, 1), else_=0)),
            func.min(HitRecord.first_seen),
            func.max(HitRecord.last_seen),
        )
        .where(walk)
        .group_by(HitRecord.id_type)
    ).all()
    types = tuple(sorted(id_type for id_type, counted, _, _ in per_type if counted))
    hits = sum(int(counted or 0) for _, counted, _, _ in per_type)
    first_seen = min((first for _, _, first, _ in per_type), default=None)
    last_seen = max((last for _, _, _, last in per_type), default=None)
    return types, hits, first_seen, last_seen


def _excluded_in(post_ids: Any, excluded: Sequence[str]) -> Any:
    """Hits of these posts whose latest label is one of ``excluded``, driven by the labels (a
    look-up per label, never one per hit)."""
    later, labelled = aliased(HitLabel), aliased(HitRecord)
    post_of = select(labelled.post_id).where(labelled.id == HitLabel.hit_id).scalar_subquery()
    return select(HitLabel.hit_id).where(
        HitLabel.label.in_(excluded),
        post_of.in_(post_ids),
        ~exists().where(later.hit_id == HitLabel.hit_id, later.id > HitLabel.id),
    )


_PG_GROUPING_LOCK = 0x67727570  # "grup"


def lock_grouping(session: Session) -> None:
    """Serialize incident grouping across concurrent ingest transactions.

    SQLite writers already hold the database write lock; on PostgreSQL two sinks ingesting reposts
    of one leak at the same moment would otherwise each open a new incident.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_GROUPING_LOCK})
