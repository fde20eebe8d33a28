"""Incident aggregates and the PIPA legal clock.

* **Awareness** is the earliest of: the time a human labelled any of the incident's hits
  ``confirmed``; the first sighting of an *exact* hit with confidence >= ``AWARENESS_EXACT_CONFIDENCE``
  that triage has not excluded. We take the monitor's sighting of a strong exact hit as awareness on
  purpose: the 2026 amendment makes a confirmed sale of the company's data start the clock, and an
  earlier deadline is the safe error. A later label can move it (a false-positive label removes the
  hit from the computation).
* **Deadline**: awareness + 72 hours (notify subjects; report to PIPC/KISA when required).
* **Report required** when any holds: >= ``REPORT_SUBJECTS`` unique subjects; any unique identifier
  type (rrn, frn, passport, driver's licence, including custom types whose name says passport or
  licence); the analyst-set ``intrusion`` flag (evidence of unlawful access).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from leakmon.workflows.triage import is_excluded
from matchers.model import EXACT, UNIQUE_ID_TYPES
from storage.models.cases import HitLabel, Incident, PostScore
from storage.models.core import HitRecord
from storage.repositories.cases import current_labels, hits_of_posts, incident_posts

NOTIFY_WITHIN = timedelta(hours=72)
AWARENESS_EXACT_CONFIDENCE = 0.9
REPORT_SUBJECTS = 1000
REPORT_ID_TYPES = UNIQUE_ID_TYPES | {"passport", "driver_license", "drivers_license", "licence", "license"}


def is_report_id_type(id_type: str) -> bool:
    """RRN, FRN, passport and driver's licence numbers (custom types named so included)."""
    lowered = id_type.lower()
    return lowered in REPORT_ID_TYPES or "passport" in lowered or "licen" in lowered


def report_reasons(subjects: int, id_types: Iterable[str], intrusion: bool) -> list[str]:
    reasons = []
    if subjects >= REPORT_SUBJECTS:
        reasons.append(f"subjects>={REPORT_SUBJECTS}")
    reasons.extend(f"unique_id:{t}" for t in sorted(set(id_types)) if is_report_id_type(t))
    if intrusion:
        reasons.append("intrusion")
    return reasons


def awareness(hits: Iterable[HitRecord], labels: dict[int, HitLabel]) -> tuple[datetime, str] | None:
    """The awareness time and why, or None while nothing is confirmed."""
    best: tuple[datetime, str] | None = None
    for hit in hits:
        label = labels.get(hit.id)
        candidate: tuple[datetime, str] | None = None
        if label is not None and label.label == "confirmed":
            candidate = (label.created_at, f"hit {hit.id} labelled confirmed by {label.actor}")
        elif not is_excluded(label) and hit.match_kind == EXACT and hit.confidence >= AWARENESS_EXACT_CONFIDENCE:
            candidate = (hit.first_seen, f"exact hit {hit.id} at confidence {hit.confidence:.2f}")
        if candidate is not None and (best is None or candidate[0] < best[0]):
            best = candidate
    return best


def refresh_incident(session: Session, incident: Incident, now: datetime | None = None) -> None:
    """Recompute the incident's aggregates and legal clock from its posts' hits."""
    posts = incident_posts(session, incident.id)
    hits = hits_of_posts(session, [p.id for p in posts])
    labels = current_labels(session, [h.id for h in hits])
    effective = [h for h in hits if not is_excluded(labels.get(h.id))]
    subjects = {h.subject_id for h in effective if h.subject_id is not None}
    types = sorted({h.id_type for h in effective})
    incident.subject_count = len(subjects)
    incident.hit_count = len(effective)
    incident.post_count = len(posts)
    incident.id_types = ",".join(types)
    if hits:
        incident.first_seen = min(h.first_seen for h in hits)
        incident.last_seen = max(h.last_seen for h in hits)
    scores = session.scalars(select(PostScore.confidence).where(PostScore.post_id.in_([p.id for p in posts])))
    incident.confidence = max(scores, default=0.0)
    aware = awareness(hits, labels)
    incident.awareness_at = aware[0] if aware else None
    incident.awareness_basis = aware[1] if aware else None
    incident.notify_deadline = aware[0] + NOTIFY_WITHIN if aware else None
    reasons = report_reasons(len(subjects), types, incident.intrusion)
    incident.report_required = bool(reasons)
    incident.report_reasons = ",".join(reasons)
    incident.updated_at = now or datetime.now(UTC)


def time_left(incident: Incident, now: datetime | None = None) -> timedelta | None:
    """Time until the notification deadline (negative when overdue), or None with no clock running."""
    if incident.notify_deadline is None:
        return None
    return incident.notify_deadline - (now or datetime.now(UTC))
