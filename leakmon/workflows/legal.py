"""Incident aggregates and the PIPA legal clock.

* **Awareness** is the earliest of: the time a human labelled any of the incident's hits
  ``confirmed``; the first sighting of an *exact* hit with confidence >= ``[incidents]
  awareness_confidence`` that triage has not excluded (labelled false positive, seller contact or
  test data) and that scoring did not find to be the post's likely seller contact (a lone phone or
  e-mail in a sale ad). We take the monitor's sighting of a strong exact hit as awareness on
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

from sqlalchemy.orm import Session

from matchers.model import EXACT, UNIQUE_ID_TYPES
from storage.models.cases import EXCLUDING_LABELS, Incident
from storage.repositories.cases import PostTotals, incident_aggregate

NOTIFY_WITHIN = timedelta(hours=72)
AWARENESS_EXACT_CONFIDENCE = 0.9  # the default of [incidents] awareness_confidence
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


def refresh_incident(
    session: Session,
    incident: Incident,
    now: datetime | None = None,
    *,
    awareness_confidence: float = AWARENESS_EXACT_CONFIDENCE,
    known: PostTotals | None = None,
) -> None:
    """Recompute the incident's aggregates and legal clock from its posts' hits (in SQL).

    ``known``: a post's totals, taken as they are when that post is the incident's only one (see
    :func:`storage.repositories.cases.incident_aggregate`)."""
    agg = incident_aggregate(
        session,
        incident.id,
        excluded=EXCLUDING_LABELS,
        exact_kind=EXACT,
        strong=awareness_confidence,
        known=known,
    )
    incident.subject_count = agg.subjects
    incident.hit_count = agg.hits
    incident.post_count = agg.posts
    incident.id_types = ",".join(agg.id_types)
    if agg.first_seen is not None and agg.last_seen is not None:
        incident.first_seen = agg.first_seen
        incident.last_seen = agg.last_seen
    incident.confidence = agg.confidence
    candidates: list[tuple[datetime, str]] = []
    if agg.first_confirmed is not None:
        at, hit_id, actor = agg.first_confirmed
        candidates.append((at, f"hit {hit_id} labelled confirmed by {actor}"))
    if agg.first_strong_exact is not None:
        at, hit_id, confidence = agg.first_strong_exact
        candidates.append((at, f"exact hit {hit_id} at confidence {confidence:.2f}"))
    aware = min(candidates) if candidates else None
    incident.awareness_at = aware[0] if aware else None
    incident.awareness_basis = aware[1] if aware else None
    incident.notify_deadline = aware[0] + NOTIFY_WITHIN if aware else None
    reasons = report_reasons(agg.subjects, agg.id_types, incident.intrusion)
    incident.report_required = bool(reasons)
    incident.report_reasons = ",".join(reasons)
    incident.updated_at = now or datetime.now(UTC)


def time_left(incident: Incident, now: datetime | None = None) -> timedelta | None:
    """Time until the notification deadline (negative when overdue), or None with no clock running."""
    if incident.notify_deadline is None:
        return None
    return incident.notify_deadline - (now or datetime.now(UTC))
