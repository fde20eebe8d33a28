"""Reads behind an incident's page and label undo: memberships, alerts, cases, hits per day, rule labels.

Take a Session, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, delete, distinct, func, select
from sqlalchemy.orm import Session, aliased

from storage.models.cases import AlertRecord, HitLabel, IncidentPost, TakedownCase, TakedownEvent
from storage.models.core import HitRecord, Post
from storage.repositories.cases import chunks, excluded_by_label


def memberships(session: Session, incident_id: int) -> list[tuple[IncidentPost, Post]]:
    """The incident's posts with why and when each joined (first sighting first)."""
    rows = session.execute(
        select(IncidentPost, Post)
        .join(Post, Post.id == IncidentPost.post_id)
        .where(IncidentPost.incident_id == incident_id)
        .order_by(Post.first_seen, Post.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def incident_alerts(session: Session, incident_id: int) -> list[AlertRecord]:
    statement = select(AlertRecord).where(AlertRecord.incident_id == incident_id).order_by(AlertRecord.id)
    return list(session.scalars(statement))


def cases_of_posts(session: Session, post_ids: Sequence[int]) -> list[TakedownCase]:
    found: list[TakedownCase] = []
    for part in chunks(sorted(set(post_ids))):
        found.extend(session.scalars(select(TakedownCase).where(TakedownCase.post_id.in_(part))))
    return sorted(found, key=lambda case: case.id)


def events_of_cases(session: Session, case_ids: Sequence[int]) -> list[TakedownEvent]:
    found: list[TakedownEvent] = []
    for part in chunks(sorted(set(case_ids))):
        found.extend(session.scalars(select(TakedownEvent).where(TakedownEvent.case_id.in_(part))))
    return sorted(found, key=lambda event: event.id)


def hits_per_day(session: Session, incident_id: int) -> list[tuple[date, int]]:
    """Hits of the incident's posts per day of first sighting, counted by the database (oldest first)."""
    stamp: ColumnElement[datetime] = HitRecord.first_seen.expression
    if session.get_bind().dialect.name == "postgresql":
        stamp = func.timezone("UTC", stamp)  # the day in UTC whatever the server's time zone
    day = func.date(stamp)
    rows = session.execute(
        select(day, func.count())
        .select_from(HitRecord)
        .join(IncidentPost, IncidentPost.post_id == HitRecord.post_id)
        .where(IncidentPost.incident_id == incident_id)
        .group_by(day)
        .order_by(day)
    ).all()
    return [(value if isinstance(value, date) else date.fromisoformat(str(value)), int(count)) for value, count in rows]


def latest_label(session: Session, hit_id: int) -> HitLabel | None:
    return session.scalars(select(HitLabel).where(HitLabel.hit_id == hit_id).order_by(HitLabel.id.desc())).first()


def current_rule_labels(session: Session, actor: str) -> list[HitLabel]:
    """Labels by ``actor`` (``rule:<id>``) that are still their hit's current label."""
    later = aliased(HitLabel)
    newer = select(later.id).where(later.hit_id == HitLabel.hit_id, later.id > HitLabel.id).exists()
    statement = select(HitLabel).where(HitLabel.actor == actor, ~newer).order_by(HitLabel.id)
    return list(session.scalars(statement))


def delete_labels(session: Session, label_ids: Sequence[int]) -> None:
    for part in chunks(sorted(set(label_ids))):
        session.execute(delete(HitLabel).where(HitLabel.id.in_(part)))
    session.flush()


def post_digests(session: Session, post_id: int) -> list[tuple[str, bytes, int]]:
    """(key id, keyed digest, subject id or 0) of every hit of the post, each once."""
    statement = select(HitRecord.key_id, HitRecord.digest, func.coalesce(HitRecord.subject_id, 0)).where(
        HitRecord.post_id == post_id
    )
    return [(str(k), bytes(d), int(s)) for k, d, s in session.execute(statement.distinct())]


def post_of_hit(session: Session, hit_id: int) -> int:
    return int(session.execute(select(HitRecord.post_id).where(HitRecord.id == hit_id)).scalar_one())


def type_counts(
    session: Session, incident_id: int, excluded: Sequence[str]
) -> tuple[dict[str, int], dict[str, int], int]:
    """Over the incident's hits that triage has not excluded: hits per identifier type, distinct
    subjects per type, distinct subjects in all. Counted by the database (no hit loaded)."""
    effective = ~excluded_by_label(excluded)
    in_incident = HitRecord.post_id.in_(select(IncidentPost.post_id).where(IncidentPost.incident_id == incident_id))
    hits: dict[str, int] = {}
    people: dict[str, int] = {}
    for id_type, count, subjects in session.execute(
        select(HitRecord.id_type, func.count(), func.count(distinct(HitRecord.subject_id)))
        .where(in_incident, effective)
        .group_by(HitRecord.id_type)
    ):
        hits[str(id_type)] = int(count)
        people[str(id_type)] = int(subjects)
    grouped = (
        select(HitRecord.subject_id)
        .where(in_incident, HitRecord.subject_id.is_not(None), effective)
        .group_by(HitRecord.subject_id)
        .subquery()
    )
    return hits, people, int(session.scalar(select(func.count()).select_from(grouped)) or 0)
