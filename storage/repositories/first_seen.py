"""Subjects' first sightings, one row per subject and day (see
:class:`storage.models.charts.SubjectFirstSeen`), folded in set-based as hits are stored.

The fold of a post's new hits reads them once, grouped by subject (the first and last time, the
distinct sources and types). A subject with no row yet whose new hits all fall on one UTC day (every
subject of a first mass breach) gets one row in that one statement. The others, ``rest`` (a subject
seen before, or new hits spanning midnight), are noted in a temporary table (SQLite
``temp.first_seen_new``, PostgreSQL ``first_seen_rest``), never passed as parameters. Their new
(subject, source or type, earliest day) pairs that an existing row of the same or an earlier day
already holds change nothing and are dropped in SQL; what is left (a new source or type for the
subject, or a sighting stored later but dated earlier) is read in one pass ordered by subject
(PostgreSQL: a server-side cursor; SQLite: the pairs are written to ``temp.first_seen_pairs`` in
one statement, keyed by subject, and read back in that order) and merged in Python
:data:`FOLD_SUBJECTS` subjects at a time (:func:`_fold_known`: the chunk's existing rows read in one
statement, its changed rows written in one delete and one upsert): the memory and every statement's
parameters are bounded by that, not by the number of subjects (a repeat breach of a million
people). The rule for an earlier-dated sighting: its source or type leaves the later day's row (a
row left empty is deleted) and joins the row of its own day, so each source and type of a subject
is in exactly one row, that of its earliest hit's day, whatever order the hits were stored in.

Concurrency: SQLite has one writer. PostgreSQL folds under the incident grouping lock
(:func:`storage.repositories.cases.lock_grouping`, taken by the post hook of the same transaction
right after anyway), so two stores never merge into one subject's rows at once: the fold reads
what the previous one committed (and its cursor sees the rows as they were when it opened, not
the merge's own writes). Takes a Session, never commits.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import CursorResult, inspect, text
from sqlalchemy.orm import Session

from storage.repositories.cases import lock_grouping

#: The post's new hits grouped by subject: the first and last time, the source when there is one
#: (``s0 = s1``), the distinct types as a JSON array. SQLite: ``NOT INDEXED`` keeps the planner off
#: the identity index (post, type, form, digest, ...), whose order is the digests' (random), and off
#: the ``subject_id`` index the grouping would otherwise walk (one random read of the table a hit): a
#: rowid range (``id > :after``, which NOT INDEXED allows) reads the new hits in table order and the
#: grouping sorts them; ``after`` is best the table's highest id before the store (see
#: :func:`storage.repositories.hits.store_hits`), so the range holds this store's rows.
_GROUPED = (
    "SELECT subject_id, {d0} AS d0, {d1} AS d1, min(source) = max(source) AS one, {sources} AS sources, "
    "{types} AS types FROM {hits} WHERE post_id = :post AND id > :after AND subject_id IS NOT NULL "
    "GROUP BY subject_id"
)
#: Per grouped subject: ``fresh``, no row yet and one day and source (its row is the grouped one);
#: ``rest``, anything else but a row of the same or an earlier day holding exactly the same source and
#: types (a dump stored again, a repost: nothing new). Only ``rest`` subjects go to :func:`_fold_known`.
_CLASSIFY = (
    "SELECT subject_id, d0, d1, one, sources, types, one AND d0 = d1 AND NOT known AS fresh, "
    "NOT (one AND d0 = d1) OR (known AND NOT EXISTS (SELECT 1 FROM subject_first_seen f "
    "WHERE f.subject_id = k.subject_id AND f.day <= k.d0 AND f.sources = k.sources AND f.types = k.types)) AS rest "
    "FROM (SELECT g.*, EXISTS (SELECT 1 FROM subject_first_seen f WHERE f.subject_id = g.subject_id) AS known "
    "FROM ({grouped}) AS g) AS k"
)
_SQLITE_GROUPED = _GROUPED.format(
    d0="date(min(first_seen))",
    d1="date(max(first_seen))",
    sources="json_array(min(source))",
    types="json_group_array(DISTINCT id_type)",  # in the order stored
    hits="main.hits NOT INDEXED",
)
_SQLITE_TEMP = (
    "CREATE TEMP TABLE IF NOT EXISTS first_seen_new (subject_id INTEGER PRIMARY KEY, d0 TEXT, d1 TEXT, "
    "one INTEGER, sources TEXT, types TEXT, fresh INTEGER, rest INTEGER)"
)
_SQLITE_GROUP = (
    "INSERT INTO temp.first_seen_new (subject_id, d0, d1, one, sources, types, fresh, rest) "
    + _CLASSIFY.format(grouped=_SQLITE_GROUPED)
)
_SQLITE_FRESH = (
    "INSERT INTO main.subject_first_seen (subject_id, day, sources, types) "
    "SELECT subject_id, d0, sources, types FROM temp.first_seen_new WHERE fresh"
)
_SQLITE_REST = "SELECT 1 FROM temp.first_seen_new WHERE rest LIMIT 1"
_SQLITE_PAIRS_TEMP = (
    "CREATE TEMP TABLE IF NOT EXISTS first_seen_pairs (subject_id INTEGER, kind INTEGER, key TEXT, day TEXT, "
    "PRIMARY KEY (subject_id, kind, key)) WITHOUT ROWID"
)
#: PostgreSQL: the same in one statement (the classified subjects materialized once); it notes the
#: ``rest`` subjects in ``first_seen_rest`` and returns how many. No sort before the insert: folds
#: run one at a time (the grouping lock), so no two take row locks in different orders.
_PG_GROUPED = _GROUPED.format(
    d0="(min(first_seen) AT TIME ZONE 'UTC')::date",
    d1="(max(first_seen) AT TIME ZONE 'UTC')::date",
    sources="json_build_array(min(source))::text",
    types="json_agg(DISTINCT id_type)::text",  # sorted
    hits="hits",
)
_PG_FRESH = (
    "WITH c AS MATERIALIZED (" + _CLASSIFY.format(grouped=_PG_GROUPED) + "), fresh AS ("  # noqa: S608
    "INSERT INTO subject_first_seen (subject_id, day, sources, types) "
    "SELECT subject_id, d0, sources, types FROM c WHERE fresh"
    "), rest AS (INSERT INTO first_seen_rest (subject_id) SELECT subject_id FROM c WHERE rest RETURNING 1"
    ") SELECT (SELECT count(*) FROM rest), (SELECT count(*) FROM c)"
)
#: Whether the post has a hit naming a subject, and whether this connection has ``first_seen_rest``
#: (a temporary table lives as long as the connection; one made in a rolled-back transaction is gone).
_PG_ANY = (
    "SELECT to_regclass('pg_temp.first_seen_rest') IS NOT NULL FROM hits "
    "WHERE post_id = :post AND id > :after AND subject_id IS NOT NULL LIMIT 1"
)
_PG_TEMP = "CREATE TEMP TABLE IF NOT EXISTS first_seen_rest (subject_id bigint PRIMARY KEY) ON COMMIT DELETE ROWS"
#: Per dialect, for tests that check the plan: the statement that reads the new hits.
_SQL = {"sqlite": _SQLITE_GROUPED, "postgresql": _PG_FRESH}

#: The (subject, kind, key, day) pairs of the new hits of the subjects in ``{rest}`` that no row of
#: the subject of the same or an earlier day holds yet. kind 0: a source, 1: an identifier type.
_NEW_PAIRS = (
    "SELECT subject_id, 0 AS kind, source AS key, min(first_seen) AS t FROM {hits} "
    "WHERE post_id = :post AND id > :after AND {rest} GROUP BY subject_id, source "
    "UNION ALL SELECT subject_id, 1, id_type, min(first_seen) FROM {hits} "
    "WHERE post_id = :post AND id > :after AND {rest} GROUP BY subject_id, id_type"
)
_SQLITE_UNCOVERED = (
    "INSERT INTO temp.first_seen_pairs (subject_id, kind, key, day) "  # noqa: S608
    f"SELECT n.subject_id, n.kind, n.key, date(n.t) FROM ({_NEW_PAIRS}) AS n WHERE NOT EXISTS ("
    "SELECT 1 FROM subject_first_seen e, json_each(CASE n.kind WHEN 0 THEN e.sources ELSE e.types END) AS j "
    "WHERE e.subject_id = n.subject_id AND e.day <= date(n.t) AND j.value = n.key)"
).format(
    hits="hits NOT INDEXED",
    rest="subject_id IN (SELECT subject_id FROM temp.first_seen_new WHERE rest)",
)
#: The pairs in the order of their key (subject first): read lazily, written to no table while read.
_SQLITE_PAIRS = "SELECT subject_id, kind, key, day FROM temp.first_seen_pairs ORDER BY subject_id, kind, key"
_PG_UNCOVERED = (
    f"SELECT n.subject_id, n.kind, n.key, (n.t AT TIME ZONE 'UTC')::date FROM ({_NEW_PAIRS}) AS n "  # noqa: S608
    "WHERE NOT EXISTS (SELECT 1 FROM subject_first_seen e WHERE e.subject_id = n.subject_id "
    "AND e.day <= (n.t AT TIME ZONE 'UTC')::date "
    "AND (CASE n.kind WHEN 0 THEN e.sources ELSE e.types END)::jsonb @> jsonb_build_array(n.key)) "
    "ORDER BY n.subject_id"
).format(hits="hits", rest="subject_id IN (SELECT subject_id FROM first_seen_rest)")
#: The existing rows of a chunk's subjects: SQLite, those of the pairs' table in a range of subjects;
#: PostgreSQL, an array of the chunk's subjects (at most :data:`FOLD_SUBJECTS`).
_SQLITE_ROWS = (
    "SELECT subject_id, day, sources, types FROM subject_first_seen WHERE subject_id IN "
    "(SELECT DISTINCT subject_id FROM temp.first_seen_pairs WHERE subject_id BETWEEN :lo AND :hi)"
)
_PG_ROWS = (
    "SELECT subject_id, day, sources, types FROM subject_first_seen WHERE subject_id = ANY(CAST(:ids AS bigint[]))"
)
_UPSERT = (
    "INSERT INTO subject_first_seen (subject_id, day, sources, types) VALUES (:s, :d, :sources, :types) "
    "ON CONFLICT (subject_id, day) DO UPDATE SET sources = excluded.sources, types = excluded.types"
)
_DELETE = "DELETE FROM subject_first_seen WHERE subject_id = :s AND day = :d"
#: Subjects merged at a time: their pairs and rows are all the merge holds (each subject's whole).
FOLD_SUBJECTS = 10_000
#: Pairs fetched from the server at a time (PostgreSQL's cursor).
_FETCH = 2_000


#: Engines whose schema has the table in this shape (looked up until it does: a schema older than
#: migration ``exports_0009`` stores hits without it, and that migration fills the table from them; one
#: between it and ``firstseen_0010`` has the old shape, whose rows that migration moves).
_READY: weakref.WeakSet[Any] = weakref.WeakSet()


def note_first_seen(session: Session, post_id: int, after: int) -> int | None:
    """Fold the post's hits stored after hit id ``after`` into the subjects' first sightings.

    Returns the number of distinct subjects those hits name (the fold grouped them by subject), or
    None when nothing was folded (a schema without the table in this shape)."""
    bind = session.get_bind()
    if bind not in _READY:
        schema = inspect(session.connection())
        if not schema.has_table("subject_first_seen"):
            return None
        if "day" not in {column["name"] for column in schema.get_columns("subject_first_seen")}:
            return None  # exports_0009's shape (a test of an older migration): folded by firstseen_0010 only
        _READY.add(bind)
    params: dict[str, Any] = {"post": post_id, "after": after}
    if bind.dialect.name == "postgresql":
        ready = session.execute(text(_PG_ANY), params).first()
        if ready is None:
            return 0  # most crawled posts: no hit, so no lock (concurrent sinks stay concurrent)
        lock_grouping(session)
        if not ready[0]:
            session.execute(text(_PG_TEMP))
        rest, grouped = session.execute(text(_PG_FRESH), params).one()
        if rest:
            pairs = session.execute(text(_PG_UNCOVERED).execution_options(yield_per=_FETCH), params)
            _fold_stream(session, pairs)
            session.execute(text("DELETE FROM first_seen_rest"))  # for another fold in this transaction
        return int(grouped)
    session.execute(text(_SQLITE_TEMP))
    paired = False
    try:
        grouped = cast(CursorResult[Any], session.execute(text(_SQLITE_GROUP), params)).rowcount
        session.execute(text(_SQLITE_FRESH))
        if session.execute(text(_SQLITE_REST)).first() is not None:
            session.execute(text(_SQLITE_PAIRS_TEMP))
            paired = True
            session.execute(text(_SQLITE_UNCOVERED), params)
            _fold_stream(session, session.execute(text(_SQLITE_PAIRS)))
    finally:
        session.execute(text("DELETE FROM temp.first_seen_new"))
        if paired:
            session.execute(text("DELETE FROM temp.first_seen_pairs"))
    return int(grouped)


def as_date(value: Any) -> date:
    """A day as the driver returns it (a date, a datetime, or SQLite's ISO text) as a ``date``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@lru_cache(maxsize=4096)
def _keys(value: str) -> frozenset[str]:
    """A row's JSON array as a set (a dump's subjects share a few arrays: each parsed once)."""
    return frozenset(json.loads(value))


@lru_cache(maxsize=4096)
def _json(keys: frozenset[str], sqlite: bool) -> str:
    """Sorted and spaced as the dialect's own JSON functions write them (see ``rest`` in :data:`_CLASSIFY`)."""
    return json.dumps(sorted(keys), ensure_ascii=False, separators=(",", ":") if sqlite else (", ", ": "))


def _fold_stream(session: Session, pairs: Iterable[Any]) -> None:
    """Merge pairs ordered by subject :data:`FOLD_SUBJECTS` subjects at a time (a subject's pairs together)."""
    chunk: list[Any] = []
    subjects, last = 0, None
    for pair in pairs:
        if pair[0] != last:
            if subjects >= FOLD_SUBJECTS:
                _fold_known(session, chunk)
                chunk, subjects = [], 0
            subjects, last = subjects + 1, pair[0]
        chunk.append(pair)
    _fold_known(session, chunk)


def _fold_known(session: Session, pairs: Sequence[Any]) -> None:
    """Merge (subject, kind, key, day) pairs no row of that day or earlier holds into the subjects' rows.

    A pair's key leaves a later day's row of the subject (a sighting stored later but dated earlier;
    a row left with no key is deleted) and joins the row of its own day (made if missing).
    """
    if not pairs:
        return
    iso = session.get_bind().dialect.name == "sqlite"  # SQLite keeps a date as ISO text
    if iso:  # the chunk's subjects: a range of the pairs' table (no parameter list)
        found = session.execute(text(_SQLITE_ROWS), {"lo": pairs[0][0], "hi": pairs[-1][0]})
    else:
        found = session.execute(text(_PG_ROWS), {"ids": sorted({int(p[0]) for p in pairs})})
    rows: dict[tuple[int, date], list[frozenset[str]]] = {}
    by_subject: dict[int, list[date]] = {}
    for s, d, sources, types in found:
        day = as_date(d)
        rows[(int(s), day)] = [_keys(sources), _keys(types)]
        by_subject.setdefault(int(s), []).append(day)
    changed: set[tuple[int, date]] = set()
    for s, kind, key, d in pairs:
        subject, day, which = int(s), as_date(d), int(kind)
        for other in by_subject.get(subject, ()):
            later = rows[(subject, other)]
            if other > day and key in later[which]:
                later[which] = later[which] - {key}
                changed.add((subject, other))
        row = rows.get((subject, day))
        if row is None:
            row = rows[(subject, day)] = [frozenset(), frozenset()]
            by_subject.setdefault(subject, []).append(day)
        row[which] = row[which] | {key}
        changed.add((subject, day))

    def day_of(d: date) -> date | str:
        return d.isoformat() if iso else d

    gone = [{"s": s, "d": day_of(d)} for s, d in sorted(changed) if not any(rows[(s, d)])]
    kept = [
        {"s": s, "d": day_of(d), "sources": _json(rows[(s, d)][0], iso), "types": _json(rows[(s, d)][1], iso)}
        for s, d in sorted(changed)
        if any(rows[(s, d)])
    ]
    if gone:
        session.execute(text(_DELETE), gone)
    if kept:
        session.execute(text(_UPSERT), kept)
