"""Who is affected by which incident: one row per (incident, subject), never an identifier value.

Match strength per subject is the best of its hits: ``exact`` (value as stored), ``normalised`` (exact
after undoing an obfuscation), ``composite`` (several weak items of one subject together),
``mask-compatible`` (partial). Co-occurring items are the identifier types of the subject seen
together in one post, e.g. ``name+phone+address``. Hits excluded by triage do not count; partial
hits name no subject, so they never make a row.

The database folds each subject's hits into one grouped row (strength rank, count, first and last
seen, the subject's (post, type) pairs); Python only turns the pairs into types, co-occurring
items, venues and permalinks, with a cache per distinct pair list (a dump's subjects share a few).
Rows come sorted by subject reference. On a big incident SQLite walks the hits' subject index, so
only the grouped rows (one per subject) are sorted, never the hits; PostgreSQL picks its plan and
the rows stream through a server-side cursor.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, String, and_, case, cast, exists, func, literal, select, type_coerce
from sqlalchemy.orm import Session, aliased

from leakmon.workflows.hitviews import is_big_incident
from matchers.model import COMPOSITE, EXACT, OBF_NONE
from storage.base import UTCDateTime
from storage.models.cases import EXCLUDING_LABELS, HitLabel, Incident, IncidentPost
from storage.models.core import HitRecord, Post, Subject

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
    """Rows one at a time, incident by incident, each incident's subjects by reference.

    Memory holds one fetched chunk of grouped rows and the incident's posts (source and permalink),
    never the incident's hits or subjects.
    """
    for incident in incidents:
        yield from _incident_rows(session, incident.id)


def count_affected(session: Session, incidents: Iterable[Incident]) -> int:
    """How many rows :func:`affected_rows` yields (one per incident and subject), counted by the database."""
    total = 0
    for incident in incidents:
        grouped = _grouped(session, incident.id).with_only_columns(HitRecord.subject_id).order_by(None).subquery()
        total += session.scalar(select(func.count()).select_from(grouped)) or 0
    return total


#: Grouped rows fetched per round trip (a server-side cursor on PostgreSQL).
FETCH_ROWS = 10_000
#: Distinct pair lists remembered while folding (a dump's subjects share a handful).
_CACHE_ENTRIES = 4096
_PAIRS = "\x1f"  # between (post, type) pairs; post ids are digits, so ':' ends the post id


def _effective() -> ColumnElement[bool]:
    """A hit counts unless its latest label is an excluding one (an anti-join, not a per-row lookup)."""
    label, later = aliased(HitLabel), aliased(HitLabel)
    newer = exists().where(later.hit_id == label.hit_id, later.id > label.id)
    return ~exists().where(label.hit_id == HitRecord.id, label.label.in_(EXCLUDING_LABELS), ~newer)


def _rank() -> ColumnElement[int]:
    """The hit's strength as its index in :data:`STRENGTH_ORDER` (the subject's best is the minimum)."""
    plain = HitRecord.obfuscation.in_(("", OBF_NONE))
    return case(
        (and_(HitRecord.match_kind == EXACT, plain), 0),
        (HitRecord.match_kind == EXACT, 1),
        (HitRecord.match_kind == COMPOSITE, 2),
        else_=3,
    )


def _grouped(session: Session, incident_id: int) -> Any:
    """The incident's effective hits grouped by subject, ordered by subject reference."""
    pair = cast(HitRecord.post_id, String) + literal(":") + HitRecord.id_type
    sqlite = session.get_bind().dialect.name == "sqlite"
    pairs = func.group_concat(pair, _PAIRS) if sqlite else func.string_agg(pair, _PAIRS)
    statement = select(
        func.min(Subject.subject_ref),
        func.min(_rank()),
        func.count(),
        type_coerce(func.min(HitRecord.first_seen), String),  # raw: converted once per distinct value
        type_coerce(func.max(HitRecord.last_seen), String),
        pairs,
    ).join(Subject, Subject.id == HitRecord.subject_id)
    posts = select(IncidentPost.post_id).where(IncidentPost.incident_id == incident_id)
    if sqlite and is_big_incident(session, incident_id):
        # ``post_id + 0`` keeps SQLite off the post index: it walks the hits' subject index, so the
        # groups come out whole, one after the other (no temporary B-tree over millions of hits).
        statement = statement.where((HitRecord.post_id + 0).in_(posts))
    else:
        statement = statement.where(HitRecord.post_id.in_(posts))
    statement = statement.where(_effective()).group_by(HitRecord.subject_id)
    return statement.order_by(func.min(Subject.subject_ref))


def _incident_rows(session: Session, incident_id: int) -> Iterator[AffectedRow]:
    posts = {
        post_id: (source, url)
        for post_id, source, url in session.execute(
            select(Post.id, Post.source, Post.url)
            .join(IncidentPost, IncidentPost.post_id == Post.id)
            .where(IncidentPost.incident_id == incident_id)
        )
    }
    folded: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}
    moments: dict[Any, datetime] = {}
    # Core rows, not ORM results: yield_per streams (a server-side cursor on PostgreSQL).
    streamed = session.connection().execute(_grouped(session, incident_id), execution_options={"yield_per": FETCH_ROWS})
    for ref, rank, hits, first, last, pairs in streamed:
        parts = folded.get(pairs)
        if parts is None:
            if len(folded) >= _CACHE_ENTRIES:
                folded.clear()
            parts = folded[pairs] = _fold_pairs(pairs, posts)
        first_seen = moments.get(first) or _moment(moments, first)
        last_seen = moments.get(last) or _moment(moments, last)
        yield AffectedRow(
            incident_id, ref, parts[0], parts[1], STRENGTH_ORDER[rank], hits, first_seen, last_seen, parts[2], parts[3]
        )


def _fold_pairs(
    pairs: str, posts: dict[int, tuple[str, str | None]]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Types, co-occurring types (per post), venues and permalinks from ``post:type`` pairs."""
    per_post: dict[int, set[str]] = {}
    for item in set(pairs.split(_PAIRS)):
        post, _, id_type = item.partition(":")
        per_post.setdefault(int(post), set()).add(id_type)
    types = tuple(sorted(set().union(*per_post.values())))
    combos = tuple(sorted({"+".join(sorted(t)) for t in per_post.values() if len(t) > 1}))
    venues = tuple(sorted({posts[p][0] for p in per_post}))
    links = tuple(sorted({url for p in per_post if (url := posts[p][1])}))
    return types, combos, venues, links


_UTC = UTCDateTime()


def _moment(cache: dict[Any, datetime], raw: Any) -> datetime:
    """A stored time as an aware UTC datetime (SQLite hands back text), remembered by its raw value."""
    if len(cache) >= _CACHE_ENTRIES:
        cache.clear()
    value = _UTC.process_result_value(raw, None)  # type: ignore[arg-type]
    if value is None:
        raise ValueError("a hit without its first or last sighting time")
    cache[raw] = value
    return value
