"""Who is affected by which incident: one row per (incident, subject), never an identifier value.

Match strength per subject is the best of its hits: ``exact`` (value as stored), ``normalised`` (exact
after undoing an obfuscation), ``composite`` (several weak items of one subject together),
``mask-compatible`` (partial). Co-occurring items are the identifier types of the subject seen
together in one post, e.g. ``name+phone+address``. Hits excluded by triage do not count; partial
hits name no subject, so they never make a row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leakmon.workflows.triage import is_excluded
from matchers.model import COMPOSITE, EXACT, OBF_NONE
from storage.models.cases import Incident
from storage.models.core import HitRecord, Post, Subject
from storage.repositories.cases import current_labels, hits_of_posts, incident_posts

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


def match_strength(hit: HitRecord) -> str:
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


def affected_rows(session: Session, incidents: Iterable[Incident]) -> list[AffectedRow]:
    rows: list[AffectedRow] = []
    for incident in incidents:
        rows.extend(_incident_rows(session, incident))
    return rows


def _incident_rows(session: Session, incident: Incident) -> list[AffectedRow]:
    posts = {p.id: p for p in incident_posts(session, incident.id)}
    hits = hits_of_posts(session, list(posts))
    labels = current_labels(session, [h.id for h in hits])
    by_subject: dict[int, list[HitRecord]] = defaultdict(list)
    for hit in hits:
        if hit.subject_id is not None and not is_excluded(labels.get(hit.id)):
            by_subject[hit.subject_id].append(hit)
    refs = _subject_refs(session, by_subject)
    rows = []
    for subject_id, subject_hits in sorted(by_subject.items(), key=lambda item: refs.get(item[0], "")):
        per_post: dict[int, set[str]] = defaultdict(set)
        for hit in subject_hits:
            per_post[hit.post_id].add(hit.id_type)
        combos = sorted({"+".join(sorted(types)) for types in per_post.values() if len(types) > 1})
        subject_posts: list[Post] = [posts[pid] for pid in sorted(per_post)]
        rows.append(
            AffectedRow(
                incident_id=incident.id,
                subject_ref=refs.get(subject_id, f"subject:{subject_id}"),
                identifier_types=tuple(sorted({h.id_type for h in subject_hits})),
                co_occurring=tuple(combos),
                match_strength=min((match_strength(h) for h in subject_hits), key=STRENGTH_ORDER.index),
                hits=len(subject_hits),
                first_seen=min(h.first_seen for h in subject_hits),
                last_seen=max(h.last_seen for h in subject_hits),
                venues=tuple(sorted({p.source for p in subject_posts})),
                permalinks=tuple(sorted({p.url for p in subject_posts if p.url})),
            )
        )
    return rows


def _subject_refs(session: Session, subject_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(subject_ids))
    refs: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        refs.update(dict(session.execute(select(Subject.id, Subject.subject_ref).where(Subject.id.in_(part))).all()))
    return refs
