"""Who is affected by which incident: one row per (incident, subject), never an identifier value.

Match strength per subject is the best of its hits: ``exact`` (value as stored), ``normalised`` (exact
after undoing an obfuscation), ``composite`` (several weak items of one subject together),
``mask-compatible`` (partial). Co-occurring items are the identifier types of the subject seen
together in one post, e.g. ``name+phone+address``. Hits excluded by triage do not count; partial
hits name no subject, so they never make a row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from matchers.model import COMPOSITE, EXACT, OBF_NONE
from storage.models.cases import EXCLUDING_LABELS, Incident, IncidentPost
from storage.models.core import HitRecord, Post, Subject
from storage.repositories.hits import effective_filter

STRENGTH_ORDER = ("exact", "normalised", "composite", "mask-compatible")
COLUMNS = (
    "incident_id",
    "subject_ref",
    "identifier_types",
    "co_occurring",
    "match_strength",
    "hits",
    "first_seen",
    "last_seen",
    "venues",
    "permalinks",
)


@dataclass(frozen=True, slots=True)
class AffectedRow:
    incident_id: int
    subject_ref: str
    identifier_types: tuple[str, ...]
    co_occurring: tuple[str, ...]
    match_strength: str
    hits: int
    first_seen: datetime
    last_seen: datetime
    venues: tuple[str, ...]
    permalinks: tuple[str, ...]


class _Kind(Protocol):
    match_kind: str
    obfuscation: str


def match_strength(hit: _Kind) -> str:
    if hit.match_kind == EXACT:
        return "exact" if hit.obfuscation in ("", OBF_NONE) else "normalised"
    return "composite" if hit.match_kind == COMPOSITE else "mask-compatible"


def select_incidents(
    session: Session, *, incident_id: int | None = None, since: datetime | None = None
) -> list[Incident]:
    """One incident, or every incident (seen since ``since`` when given), merged ones excluded."""
    statement = select(Incident).where(Incident.status != "merged").order_by(Incident.id)
    if incident_id is not None:
        statement = select(Incident).where(Incident.id == incident_id)
    elif since is not None:
        statement = statement.where(Incident.last_seen >= since)
    return list(session.scalars(statement))


def affected_rows(session: Session, incidents: Iterable[Incident]) -> Iterator[AffectedRow]:
    """Rows one at a time: the database sorts the incident's effective hits by subject and this
    folds each subject's hits into its row, so memory holds one subject's hits, not the incident's."""
    for incident in incidents:
        yield from _incident_rows(session, incident.id)


def count_affected(session: Session, incidents: Iterable[Incident]) -> int:
    """How many rows :func:`affected_rows` yields (one per incident and subject), counted by the database.

    ``export affected`` audits this count before it writes a row, so an export whose audit entry
    cannot be written (a read-only or full workspace) writes nothing at all.
    """
    label, (joined, effective) = effective_filter(EXCLUDING_LABELS)
    total = 0
    for incident in incidents:
        statement = (
            select(func.count(distinct(HitRecord.subject_id)))
            .join(IncidentPost, IncidentPost.post_id == HitRecord.post_id)
            .join(Subject, Subject.id == HitRecord.subject_id)
            .outerjoin(label, joined)
            .where(IncidentPost.incident_id == incident.id, effective)
        )
        total += session.scalar(statement) or 0
    return total


#: Hits fetched per round trip while streaming an incident's hits.
FETCH_ROWS = 10_000


def _incident_rows(session: Session, incident_id: int) -> Iterator[AffectedRow]:
    label, (joined, effective) = effective_filter(EXCLUDING_LABELS)
    statement = (
        select(
            HitRecord.subject_id,
            Subject.subject_ref,
            HitRecord.post_id,
            HitRecord.id_type,
            HitRecord.match_kind,
            HitRecord.obfuscation,
            HitRecord.first_seen,
            HitRecord.last_seen,
            Post.source,
            Post.url,
        )
        .join(IncidentPost, IncidentPost.post_id == HitRecord.post_id)
        .join(Post, Post.id == HitRecord.post_id)
        .join(Subject, Subject.id == HitRecord.subject_id)
        .outerjoin(label, joined)
        .where(IncidentPost.incident_id == incident_id, effective)
        .order_by(Subject.subject_ref, HitRecord.subject_id)
        .execution_options(yield_per=FETCH_ROWS)
    )
    current: list[Any] = []
    for hit in session.execute(statement):
        if current and hit.subject_id != current[0].subject_id:
            yield _fold(incident_id, current)
            current = []
        current.append(hit)
    if current:
        yield _fold(incident_id, current)


def _fold(incident_id: int, hits: list[Any]) -> AffectedRow:
    """One subject's row from its hits in the incident."""
    per_post: dict[int, set[str]] = defaultdict(set)
    for hit in hits:
        per_post[hit.post_id].add(hit.id_type)
    combos = sorted({"+".join(sorted(types)) for types in per_post.values() if len(types) > 1})
    return AffectedRow(
        incident_id=incident_id,
        subject_ref=hits[0].subject_ref,
        identifier_types=tuple(sorted({h.id_type for h in hits})),
        co_occurring=tuple(combos),
        match_strength=min((match_strength(h) for h in hits), key=STRENGTH_ORDER.index),
        hits=len(hits),
        first_seen=min(h.first_seen for h in hits),
        last_seen=max(h.last_seen for h in hits),
        venues=tuple(sorted({h.source for h in hits})),
        permalinks=tuple(sorted({h.url for h in hits if h.url})),
    )
