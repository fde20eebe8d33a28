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

:func:`write_affected` writes the same rows as :func:`leakmon.workflows.tables.write_rows` would, byte
for byte, without making a row object: everything after the subject reference depends only on the
grouped row's (rank, count, first, last, pairs), which a dump's subjects share, so that part of a line
is rendered once per distinct value and each line is its head, the reference's cell and that tail.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring as json_string  # what json.dumps(ensure_ascii=False) quotes with
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import ColumnElement, String, and_, case, cast, exists, func, literal, select, type_coerce
from sqlalchemy.orm import Session, aliased

from leakmon.errors import InputError
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
        grouped = _grouped(session, incident.id).subquery()
        total += session.scalar(select(func.count()).select_from(grouped)) or 0
    return total


#: Grouped rows fetched per round trip (a server-side cursor on PostgreSQL).
FETCH_ROWS = 10_000
#: Distinct pair lists (and rendered line tails) remembered while folding (a dump's subjects share a handful).
_CACHE_ENTRIES = 4096
_PAIRS = "\x1f"  # between (post, type) pairs; post ids are digits, so ':' ends the post id
#: An incident with at most this many posts names them in the query; a bigger one is a subquery.
_LISTED_POSTS = 500


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


def _grouped(session: Session, incident_id: int, post_ids: Sequence[int] | None = None) -> Any:
    """The incident's effective hits grouped by subject (one row a subject: reference, best rank,
    count, first and last seen, pairs), ordered by subject reference.

    The hits are grouped by subject id first and each group then meets its subject (one join a
    subject, not one a hit). ``post_ids`` (the incident's posts, when few) are named in the query
    instead of a subquery joined to every hit. The label anti-join runs only when a hit of the
    incident carries an excluding label at all (most incidents have none: it cost a probe a hit).
    """
    pair = cast(HitRecord.post_id, String) + literal(":") + HitRecord.id_type
    sqlite = session.get_bind().dialect.name == "sqlite"
    pairs = func.group_concat(pair, _PAIRS) if sqlite else func.string_agg(pair, _PAIRS)
    posts: Any = select(IncidentPost.post_id).where(IncidentPost.incident_id == incident_id)
    if post_ids is not None and len(post_ids) <= _LISTED_POSTS:
        posts = sorted(post_ids)
    # ``post_id + 0`` keeps SQLite off the post index on a big incident: it walks the hits' subject
    # index, so the groups come out whole, one after the other (no temporary B-tree over millions of hits).
    post_id = HitRecord.post_id + 0 if sqlite and is_big_incident(session, incident_id) else HitRecord.post_id
    grouped = select(
        HitRecord.subject_id.label("subject_id"),
        func.min(_rank()).label("rank"),
        func.count().label("hits"),
        type_coerce(func.min(HitRecord.first_seen), String).label("first"),  # raw: converted once per distinct value
        type_coerce(func.max(HitRecord.last_seen), String).label("last"),
        pairs.label("pairs"),
    ).where(post_id.in_(posts), HitRecord.subject_id.is_not(None))
    if _any_excluded(session, posts):
        grouped = grouped.where(_effective())
    part = grouped.group_by(HitRecord.subject_id).subquery()
    return (
        select(Subject.subject_ref, part.c.rank, part.c.hits, part.c.first, part.c.last, part.c.pairs)
        .join(Subject, Subject.id == part.c.subject_id)
        .order_by(Subject.subject_ref)
    )


def _any_excluded(session: Session, posts: Any) -> bool:
    """Whether any hit of these posts has ever had an excluding label (then the anti-join decides)."""
    statement = (
        select(HitLabel.id)
        .join(HitRecord, HitRecord.id == HitLabel.hit_id)
        .where(HitLabel.label.in_(EXCLUDING_LABELS), HitRecord.post_id.in_(posts))
        .limit(1)
    )
    return session.execute(statement).first() is not None


_Tail = tuple[Any, ...]  # a grouped row after its reference: (rank, hits, first, last, pairs)
_Cells = tuple[tuple[str, ...], tuple[str, ...], str, int, datetime, datetime, tuple[str, ...], tuple[str, ...]]


class _Fold:
    """An incident's grouped rows: the posts' venues and permalinks, each distinct pair list and
    time converted once."""

    def __init__(
        self, incident_id: int, posts: dict[int, tuple[str, str | None]], parts: Iterable[Sequence[Any]]
    ) -> None:
        self.incident_id = incident_id
        self.posts = posts
        self.parts = parts  # chunks of rows (subject_ref, rank, hits, first, last, pairs)
        self._folded: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}
        self._moments: dict[Any, datetime] = {}

    def cells(self, tail: _Tail) -> _Cells:
        """The row's cells after ``subject_ref`` (the columns of :data:`COLUMNS` from ``identifier_types``)."""
        rank, hits, first, last, pairs = tail
        parts = self._folded.get(pairs)
        if parts is None:
            if len(self._folded) >= _CACHE_ENTRIES:
                self._folded.clear()
            parts = self._folded[pairs] = _fold_pairs(pairs, self.posts)
        first_seen = self._moments.get(first) or _moment(self._moments, first)
        last_seen = self._moments.get(last) or _moment(self._moments, last)
        return parts[0], parts[1], STRENGTH_ORDER[rank], hits, first_seen, last_seen, parts[2], parts[3]


def _fold_of(session: Session, incident_id: int) -> _Fold:
    """The incident's posts and its grouped rows, streamed."""
    posts = {
        post_id: (source, url)
        for post_id, source, url in session.execute(
            select(Post.id, Post.source, Post.url)
            .join(IncidentPost, IncidentPost.post_id == Post.id)
            .where(IncidentPost.incident_id == incident_id)
        )
    }
    # Core rows, not ORM results: yield_per streams (a server-side cursor on PostgreSQL).
    statement = _grouped(session, incident_id, list(posts))
    result = session.connection().execute(statement, execution_options={"yield_per": FETCH_ROWS})
    return _Fold(incident_id, posts, result.partitions())


def _incident_rows(session: Session, incident_id: int) -> Iterator[AffectedRow]:
    yield from _fold_rows(_fold_of(session, incident_id))


def _fold_rows(fold: _Fold) -> Iterator[AffectedRow]:
    incident_id = fold.incident_id
    for part in fold.parts:
        for row in part:
            yield AffectedRow(incident_id, row[0], *fold.cells(row[1:]))


def write_affected(
    session: Session,
    incidents: Iterable[Incident],
    fmt: str,
    output: Path,
    *,
    advance: Callable[[int], object] | None = None,
) -> int:
    """The rows of :func:`affected_rows` written to ``output`` in ``fmt``: the bytes
    :func:`leakmon.workflows.tables.write_rows` writes from them (formula-safe CSV, string cells in
    XLSX), rendered in bulk (see the module docstring). ``advance(n)`` is told of each chunk written;
    returns the rows written."""
    from leakmon.workflows import tables

    if fmt not in tables.FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(tables.FORMATS)}")
    tell = advance or _ignore
    if fmt == "xlsx":
        from leakmon.workflows.xlsx_stream import write_xlsx_pieces

        pieces = _xlsx_rows((_fold_of(session, incident.id) for incident in incidents), tell)
        return write_xlsx_pieces(pieces, COLUMNS, output, sheet_rows=tables.XLSX_SHEET_ROWS)
    count = 0
    with output.open("w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") as handle:
        if fmt == "csv":
            csv.writer(handle, lineterminator="\r\n").writerow(COLUMNS)
        for incident in incidents:
            for lines in _text_lines(_fold_of(session, incident.id), fmt):
                handle.write("".join(lines))
                count += len(lines)
                tell(len(lines))
    return count


def _ignore(_count: int) -> None:
    return None


#: A subject reference that CSV writes as it is: nothing a spreadsheet reads as a formula at its
#: start, no delimiter, quote or line break (anything else goes through the csv module).
_CSV_PLAIN = re.compile(r'[^=+\-@\t\r\n,"][^\r\n,"]*')


def _csv_ref(ref: str) -> str:
    """The reference's cell as ``csv.writer`` writes it in a row (neutralized, quoted if needed)."""
    from leakmon.workflows.tables import cell

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([cell(ref), ""])
    return buffer.getvalue()[:-3]  # without the empty last cell's "," and the line end


def _csv_tail(cells: _Cells) -> str:
    """``,types,...,permalinks\r\n``: the line after the reference's cell."""
    from leakmon.workflows.tables import cell

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(["", *(cell(value) for value in cells)])
    return buffer.getvalue()


_JSON_KEYS = tuple(", " + json_string(name) + ": " for name in COLUMNS[2:])


def _json_tail(cells: _Cells) -> str:
    """``, "identifier_types": [...], ... "permalinks": [...]}\n``, as ``json.dumps`` writes it."""
    from leakmon.workflows.tables import json_value

    encode = json.JSONEncoder(ensure_ascii=False).encode
    return "".join(key + encode(json_value(value)) for key, value in zip(_JSON_KEYS, cells, strict=True)) + "}\n"


def _text_lines(fold: _Fold, fmt: str) -> Iterator[list[str]]:
    """The incident's lines in CSV or JSON lines, a fetched chunk at a time."""
    incident_id = fold.incident_id
    plain: Callable[[str], object] | None
    quoted: Callable[[str], str]
    render: Callable[[_Cells], str]
    if fmt == "csv":
        head, plain, quoted, render = f"{incident_id},", _CSV_PLAIN.fullmatch, _csv_ref, _csv_tail
    else:
        head = '{"incident_id": ' + int.__repr__(incident_id) + ', "subject_ref": '
        plain, quoted, render = None, json_string, _json_tail
    tails: dict[_Tail, str] = {}
    for part in fold.parts:
        lines = []
        for row in part:
            key = row[1:]
            tail = tails.get(key)
            if tail is None:
                if len(tails) >= _CACHE_ENTRIES:
                    tails.clear()
                tail = tails[key] = render(fold.cells(key))
            ref = row[0]
            if plain is None or plain(ref) is None:
                ref = quoted(ref)
            lines.append(head + ref + tail)
        yield lines


def _xlsx_rows(folds: Iterable[_Fold], tell: Callable[[int], object]) -> Iterator[list[str]]:
    """Each row's XML cut where its number goes (see :func:`write_xlsx_pieces`): the incident's id
    cell, the reference's cell, then the cached cells of its tail."""
    from leakmon.workflows.xlsx_stream import cell_refs, cell_tail

    refs = cell_refs(len(COLUMNS))
    ends = [*refs[3:], "</row>"]  # what follows each tail cell: the next cell's start, or the row's end
    for fold in folds:
        head = ['<row r="', '">' + refs[0], cell_tail(fold.incident_id) + refs[1]]
        before_tail = refs[2]
        tails: dict[_Tail, list[str]] = {}
        for part in fold.parts:
            for row in part:
                key = row[1:]
                tail = tails.get(key)
                if tail is None:
                    if len(tails) >= _CACHE_ENTRIES:
                        tails.clear()
                    cells = fold.cells(key)
                    tail = tails[key] = [cell_tail(value) + end for value, end in zip(cells, ends, strict=True)]
                yield [*head, cell_tail(row[0]) + before_tail, *tail]
            tell(len(part))


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
