"""What an incident's page shows: its posts, a timeline of sightings, reposts, removals, takedown moves
and alerts, the takedown cases and the alert history (masked or redacted values only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from storage.models.cases import AlertRecord, Incident, TakedownCase
from storage.repositories.incident_views import (
    cases_of_posts,
    events_of_cases,
    hits_per_day,
    incident_alerts,
    memberships,
)


@dataclass(frozen=True, slots=True)
class Sighting:
    post_id: int
    source: str
    venue: str
    permalink: str | None
    reason: str  # why it joined: new | attachment | subjects | text
    first_seen: datetime
    last_seen: datetime
    posted_at: datetime | None
    removed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the timeline: ``kind`` is a catalogue word (sighting, repost, removed, takedown, alert)."""

    at: datetime
    kind: str
    source: str
    detail: str
    post_id: int | None = None
    moved: tuple[int, str | None, str] | None = None  # a takedown move: (case id, from state, to state)


@dataclass
class IncidentView:
    incident: Incident
    sightings: list[Sighting] = field(default_factory=list)
    timeline: list[Event] = field(default_factory=list)
    cases: list[TakedownCase] = field(default_factory=list)
    alerts: list[AlertRecord] = field(default_factory=list)
    days: list[tuple[date, int]] = field(default_factory=list)


def incident_view(session: Session, incident: Incident, *, with_hits: bool) -> IncidentView:
    """The incident's page; ``with_hits`` adds hits per day (counted in the database)."""
    view = IncidentView(incident)
    for member, post in memberships(session, incident.id):
        view.sightings.append(
            Sighting(
                post.id,
                post.source,
                post.venue,
                post.url,
                member.reason,
                post.first_seen,
                post.last_seen,
                post.posted_at,
                post.removed_at,
            )
        )
    sources = {s.post_id: s.source for s in view.sightings}
    for index, seen in enumerate(view.sightings):
        kind = "sighting" if index == 0 or seen.reason == "new" else "repost"
        view.timeline.append(Event(seen.first_seen, kind, seen.source, seen.reason, seen.post_id))
        if seen.removed_at is not None:
            view.timeline.append(Event(seen.removed_at, "removed", seen.source, "", seen.post_id))
    view.cases = cases_of_posts(session, list(sources))
    case_sources = {case.id: case.source for case in view.cases}
    for event in events_of_cases(session, list(case_sources)):
        moved = (event.case_id, event.from_state, event.to_state)
        view.timeline.append(Event(event.at, "takedown", case_sources[event.case_id], "", moved=moved))
    view.alerts = incident_alerts(session, incident.id)
    for alert in view.alerts:
        view.timeline.append(Event(alert.created_at, "alert", alert.kind, alert.status))
    view.timeline.sort(key=lambda event: (event.at, event.kind))
    if with_hits:
        view.days = hits_per_day(session, incident.id)
    return view
