"""Post-ingest hook and incident operations: suppression, scoring, grouping, legal clock, alerts.

``on_post_ingested`` runs inside the ingest sink's transaction, after the post and its hits are
stored: it (a) applies false-positive suppression rules to the new hits (see ``triage``), (b) scores
the post (see ``scoring``) and attaches it to its incident, merging incidents it links (see
``grouping``), and (c) recomputes the incident's aggregates and legal clock (see ``legal``) and
queues an alert when due (see ``alerts``; delivered after commit).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leakmon.errors import ConfigError, NotFoundError
from leakmon.settings import IncidentSettings, Settings
from leakmon.workflows import takedown
from leakmon.workflows.alerts import alert_settings, queue_alerts
from leakmon.workflows.grouping import fingerprint, linked_incidents
from leakmon.workflows.legal import refresh_incident
from leakmon.workflows.scoring import score_post
from leakmon.workflows.triage import apply_suppression
from matchers.model import EXACT
from storage.models.cases import EXCLUDING_LABELS, Incident, IncidentPost
from storage.models.core import HitRecord, Post
from storage.repositories.cases import incident_of_post, lock_grouping, merge_incidents
from storage.repositories.hits import StoredHits, post_hits, suppressible_new_hits

log = logging.getLogger(__name__)


def on_post_ingested(session: Session, post: Post, stored: StoredHits, *, settings: Settings) -> None:
    """The ingest sink's post hook (same transaction as the post and its hits).

    Works in SQL whatever the number of hits: only new hits a suppression rule might cover are loaded.
    """
    now = datetime.now(UTC)
    candidates = suppressible_new_hits(session, stored)
    if candidates:
        apply_suppression(session, candidates, at=now)
    incident = update_post(session, post, now=now, rules=settings.incidents, subjects=stored.subjects)
    if incident is None:
        return
    try:
        policy = alert_settings(settings)
    except ConfigError as exc:
        # A typo in [alerts] must not stop ingest; `leakmon incidents alert` reports it loudly.
        log.warning("alerts not queued: %s", exc)
        return
    queue_alerts(session, incident, policy, now)


def on_post_removed(session: Session, post: Post) -> None:
    """The ingest sink's removed hook: open takedown cases for the post record the removal."""
    takedown.on_post_removed(session, post)


def update_post(
    session: Session,
    post: Post,
    *,
    now: datetime | None = None,
    rules: IncidentSettings | None = None,
    subjects: int | None = None,
) -> Incident | None:
    """Rescore a post and (re)place it in its incident; returns the incident, if it has one.

    ``subjects``: the distinct subjects of all the post's hits when known (see
    :attr:`storage.repositories.hits.StoredHits.subjects`)."""
    now = now or datetime.now(UTC)
    rules = rules or IncidentSettings()
    current = incident_of_post(session, post.id)
    if current is None and session.scalar(select(HitRecord.id).where(HitRecord.post_id == post.id).limit(1)) is None:
        return None  # most crawled posts: nothing to score or group
    lock_grouping(session)
    effective = post_hits(
        session, post.id, EXCLUDING_LABELS, exact=(EXACT, rules.awareness_confidence), subjects=subjects
    )
    score_post(session, post, effective)
    if not effective.hits and current is None:
        return None
    text = fingerprint(post)
    links = linked_incidents(session, post, effective, text, now, rules)
    ids = set(links) | ({current} if current is not None else set())
    if ids:
        target = min(ids)
        merge_incidents(session, target, ids - {target})
        incident = session.get_one(Incident, target)
    else:
        incident = _new_incident(session, post, now)
    if current is None:
        reason = links.get(incident.id, "new")
        session.add(
            IncidentPost(post_id=post.id, incident_id=incident.id, joined_at=now, reason=reason, fingerprint=text)
        )
    else:
        membership = session.get(IncidentPost, post.id)
        if membership is not None:
            membership.fingerprint = text
    session.flush()
    refresh_incident(
        session,
        incident,
        now,
        awareness_confidence=rules.awareness_confidence,
        known=effective.totals,
    )
    return incident


def refresh_for_hit(session: Session, hit_id: int, rules: IncidentSettings | None = None) -> Incident | None:
    """After a label changed: rescore the hit's post and refresh its incident."""
    hit = session.get(HitRecord, hit_id)
    if hit is None:
        raise NotFoundError(f"hit {hit_id} does not exist")
    post = session.get_one(Post, hit.post_id)
    return update_post(session, post, rules=rules)


def get_incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFoundError(f"incident {incident_id} does not exist")
    if incident.status == "merged" and incident.merged_into is not None:
        return get_incident(session, incident.merged_into)
    return incident


def set_flags(
    session: Session,
    incident_id: int,
    *,
    intrusion: bool | None = None,
    status: str | None = None,
    rules: IncidentSettings | None = None,
) -> Incident:
    """Set the intrusion flag (evidence of unlawful access) or close/reopen; refreshes the clock."""
    incident = get_incident(session, incident_id)
    if intrusion is not None:
        incident.intrusion = intrusion
    if status is not None:
        incident.status = status
    refresh_incident(session, incident, awareness_confidence=(rules or IncidentSettings()).awareness_confidence)
    return incident


def _new_incident(session: Session, post: Post, now: datetime) -> Incident:
    title = post.title or f"{post.source} {post.external_id}"
    incident = Incident(
        title=title[:1024], status="open", created_at=now, updated_at=now, first_seen=now, last_seen=now
    )
    session.add(incident)
    session.flush()
    return incident
