"""Hits: stored in bulk, batch by batch, upserted on their identity (re-runs never duplicate them).

Rows arrive as bounded batches of :class:`HitRow` (one frozen row type for the sink, ``scan`` and
``hits``). SQLite gets ``executemany`` on one prepared statement (its foreign keys check each row);
PostgreSQL gets ``COPY`` straight into ``hits`` while the post had no hits before the call and a
row's identity is new to the call (a scan's first store of a dump: half the server's CPU of an
upsert), else ``COPY`` into a temporary staging table and one ``INSERT ... SELECT ... ON
CONFLICT``. Both upsert on (post_id, identity_key), the 63-bit key of the identity (migration
``store_0010``); a hit whose key another identity of the post already holds is stored exactly, by
its whole identity, under a negative key of the post (:class:`_ExactStore`), so a key collision
neither merges two hits nor refuses one. On PostgreSQL ``hits`` has no foreign keys (migration
``store_0008``: their per-row triggers were 41 % of the server's work): the store locks the post
once and each batch's distinct subjects in one statement (``FOR KEY SHARE``, as the foreign keys
did) and refuses a batch naming an unknown one; triggers on ``posts`` and ``subjects`` delete or
unset hits as the keys' ``ON DELETE`` did. Nothing loads the stored rows back as ORM objects: what
the post-ingest bookkeeping needs is read in SQL (:func:`post_hits`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from hashlib import blake2b
from operator import itemgetter
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import Table, and_, case, distinct, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from storage.hitrow import HitRow, best_rows
from storage.models.cases import HitLabel, Incident, IncidentPost, SuppressionRule
from storage.models.core import HitRecord, identity_key
from storage.repositories.cases import BIG_INCIDENT, BIG_SHARE, PostTotals
from storage.repositories.first_seen import note_first_seen

IDENTITY = ("post_id", "id_type", "form", "digest", "subject_slot")


ROW_COLUMNS = HitRow._fields

Identity = tuple[str, str, bytes, int]
#: Keys of identities (type, form, digest, subject slot), in order: :func:`identity_keys`, or in
#: tests one that makes keys collide.
KeyFunction = Callable[[Iterable[Identity]], list[int]]


def identity_keys(identities: Iterable[Identity]) -> list[int]:
    """:func:`storage.models.core.identity_key` of each identity (inlined: no call per row)."""
    return [
        int.from_bytes(
            blake2b(b"%s\0%s\0%d\0%s" % (id_type.encode(), form.encode(), slot, digest), digest_size=8).digest(),
            "little",
        )
        >> 1
        for id_type, form, digest, slot in identities
    ]


#: A stored row: the :class:`HitRow`, then post id, first seen, last seen and identity key.
Stored = tuple[Any, ...]


def _stored(batch: Sequence[HitRow], post_id: int, when: Any, keys: KeyFunction) -> list[Stored]:
    """The batch's rows as stored, keyed. :func:`identity_keys` is inlined into the one pass that
    makes the tuples: a list of keys zipped with the rows after cost 0.5 s more per 400k rows
    (the allocations of a second list of tuples, and the collector's passes over them)."""
    if keys is not identity_keys:
        keyed = zip(batch, keys(map(_IDENTITY_OF, batch)), strict=True)
        return [(*row, post_id, when, when, key) for row, key in keyed]
    return [
        (
            *row,
            post_id,
            when,
            when,
            int.from_bytes(
                # row[3:6], row[8]: id_type, form, digest, subject_slot (tests compare with identity_key)
                blake2b(b"%s\0%s\0%d\0%s" % (row[3].encode(), row[4].encode(), row[8], row[5]), digest_size=8).digest(),
                "little",
            )
            >> 1,
        )
        for row in batch
    ]


#: Columns a more confident row overwrites. ``subject_id`` is not one: ``subject_slot`` (identity)
#: fixes it, and leaving it out of the update spares SQLite a foreign-key check per upserted row
#: (about 40 % of the insert's CPU); the insert itself still checks both foreign keys.
_UPDATED = [c for c in ROW_COLUMNS if c not in (*IDENTITY, "subject_id")]


@dataclass(frozen=True, slots=True)
class StoredHits:
    """What storing a post's hits did: rows of the post with ``id > before`` are the new ones."""

    post_id: int
    before: int
    new: int
    total: int
    #: The distinct subjects the post's hits name, when it had no hits before (as the first-sighting
    #: fold counted them), else None (see :func:`post_hits`).
    subjects: int | None = None


def store_hits(
    session: Session,
    post_id: int,
    batches: Iterable[Sequence[HitRow]],
    now: datetime,
    *,
    keys: KeyFunction = identity_keys,
) -> StoredHits:
    """Upsert the post's hits batch by batch; the more confident row of an identity wins.

    Hits found again get ``last_seen`` = ``now`` (hits of an earlier version of the post that are
    gone keep theirs). Each batch must hold each identity once (see :func:`best_rows`). ``keys``
    is for tests only (forcing key collisions): the stored keys must be :func:`identity_keys`.
    """
    table = cast(Table, HitRecord.__table__)
    before = session.scalar(select(func.coalesce(func.max(table.c.id), 0)).where(table.c.post_id == post_id)) or 0
    session.flush()
    # Every hit this call inserts gets an id above the table's highest (SQLite's next rowid, a
    # PostgreSQL sequence's next value): the first-sighting fold reads them as an id range.
    floor = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
    if session.get_bind().dialect.name == "postgresql":
        _copy_batches(session, post_id, batches, now, fresh=before == 0, keys=keys)
    else:
        _executemany_batches(session, post_id, batches, now, keys=keys)
    folded = note_first_seen(session, post_id, floor)  # subjects' first sightings, for the console's chart
    total, new = session.execute(
        select(func.count(), func.coalesce(func.sum(case((table.c.id > before, 1), else_=0)), 0)).where(
            table.c.post_id == post_id
        )
    ).one()
    subjects = folded if before == 0 else None  # the fold grouped all of a new post's hits by subject
    return StoredHits(post_id=post_id, before=int(before), new=int(new), total=int(total), subjects=subjects)


def _on_conflict() -> str:
    """The upsert tail both dialects share: the more confident row wins, ``last_seen`` moves on.

    Only a row of the same identity is updated: a row whose key another identity holds is neither
    inserted nor updated (it is left out of the statement's row count and stored exactly after).
    """
    better = ", ".join(
        f"{name} = CASE WHEN excluded.confidence > hits.confidence THEN excluded.{name} ELSE hits.{name} END"
        for name in _UPDATED
    )
    same = " AND ".join(f"hits.{name} = excluded.{name}" for name in IDENTITY[1:])
    return f"ON CONFLICT (post_id, identity_key) DO UPDATE SET {better}, last_seen = excluded.last_seen WHERE {same}"


_COLUMNS_SQL = ", ".join(ROW_COLUMNS)
_INSERT_SQL = (
    f"INSERT INTO hits ({_COLUMNS_SQL}, post_id, first_seen, last_seen, identity_key) "  # noqa: S608 - fixed names
    f"VALUES ({', '.join('?' * (len(ROW_COLUMNS) + 4))}) {_on_conflict()}"
)
#: The same for one row on PostgreSQL (named parameters; the explanation's text cast to ``json``).
_INSERT_ONE_PG = (
    f"INSERT INTO hits ({_COLUMNS_SQL}, post_id, first_seen, last_seen, identity_key) "  # noqa: S608 - fixed names
    f"VALUES ({', '.join(f':{name}' for name in ROW_COLUMNS[:-1])}, CAST(:explanation AS json), :post_id, :now, "
    f":now, :identity_key) {_on_conflict()}"
)


#: SQLite page cache while hits are stored, in KiB (the default is 2 MB). The identity index is keyed
#: by digest, so a dump's hits land at random places in it: with the default cache, 2M hits spent
#: more CPU in the kernel (cache pages spilled to the WAL and read back) than in SQLite (user 25.6 s,
#: system 29.7 s; with 128 MB: 30.3 s and 8.5 s). The pages are only held while a store runs.
SQLITE_STORE_CACHE_KIB = 128 * 1024


def _executemany_batches(
    session: Session, post_id: int, batches: Iterable[Sequence[HitRow]], now: datetime, *, keys: KeyFunction
) -> None:
    """SQLite: ``executemany`` of one prepared statement per batch, rows passed as plain tuples,
    with a larger page cache for the call (restored after, so the pooled connection gives it back).

    A batch whose row count falls short held a row whose key another identity holds: the batch is
    stored again exactly (the rows already stored are upserted to what they are)."""
    connection = session.connection()
    dialect = connection.dialect
    stamp = cast(Table, HitRecord.__table__).c.first_seen.type.dialect_impl(dialect).bind_processor(dialect)
    when = stamp(now) if stamp is not None else now
    exact = _ExactStore(session, post_id, keys)
    cache = connection.exec_driver_sql("PRAGMA main.cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA main.cache_size = -{SQLITE_STORE_CACHE_KIB}")
    try:
        for batch in batches:
            if not batch:
                continue
            rows = _stored(batch, post_id, when, keys)
            if exact.overflow:
                rows, rest = exact.split(rows)
                exact.store(rest)
            if not rows:
                continue
            done = connection.exec_driver_sql(_INSERT_SQL, rows)
            if done.rowcount != len(rows):
                exact.store(rows)
    finally:
        connection.exec_driver_sql(f"PRAGMA main.cache_size = {int(cache)}")


class _ExactStore:
    """Hits stored by their whole identity, one at a time: the path of a key collision.

    A hit is looked for under its key and among the post's negative keys (where hits whose key
    another identity held are stored); found, it is upserted there; else it takes its key if free,
    or the post's next negative key. ``overflow`` holds the keys (of their identities) of the
    post's hits stored under a negative key: a row with such a key never takes the fast path, since
    the hit it may be is not under its key. Storing a row again upserts it to what it is, so a batch
    can be stored again whole.
    """

    def __init__(self, session: Session, post_id: int, keys: KeyFunction) -> None:
        self.session, self.post_id = session, post_id
        self.pg = session.get_bind().dialect.name == "postgresql"
        moved = session.execute(
            text("SELECT id_type, form, digest, subject_slot FROM hits WHERE post_id = :p AND identity_key < 0"),
            {"p": post_id},
        ).all()
        self.overflow: set[int] = set(keys((str(t), str(f), bytes(d), int(s)) for t, f, d, s in moved))

    def split(self, rows: Sequence[Stored]) -> tuple[list[Stored], list[Stored]]:
        """``rows`` as (those that may take the fast path, those whose key is an overflow's)."""
        overflow = self.overflow
        return [r for r in rows if r[-1] not in overflow], [r for r in rows if r[-1] in overflow]

    def store(self, rows: Iterable[Stored]) -> None:
        for row in rows:
            self._store(row)

    def _store(self, stored: Stored) -> None:
        session, post, key = self.session, self.post_id, stored[-1]
        row = HitRow._make(stored[: len(ROW_COLUMNS)])
        where = {"p": post, "k": key, "t": row.id_type, "f": row.form, "d": row.digest, "s": row.subject_slot}
        target = session.scalar(text(_FIND_IDENTITY), where)
        if target is None:
            if session.scalar(text(_KEY_HELD), where) is None:
                target = key
            else:
                target = int(session.scalar(text(_LOWEST_MOVED), where) or 0) - 1
                self.overflow.add(key)
        if self.pg:
            values = {**row._asdict(), "post_id": post, "now": stored[-3], "identity_key": target}
            session.execute(text(_INSERT_ONE_PG), values)
        else:
            session.connection().exec_driver_sql(_INSERT_SQL, (*stored[:-1], target))


_FIND_IDENTITY = (
    "SELECT identity_key FROM hits WHERE post_id = :p AND (identity_key = :k OR identity_key < 0) "
    "AND id_type = :t AND form = :f AND digest = :d AND subject_slot = :s"
)
_KEY_HELD = "SELECT 1 FROM hits WHERE post_id = :p AND identity_key = :k"
_LOWEST_MOVED = "SELECT min(identity_key) FROM hits WHERE post_id = :p AND identity_key < 0"


_STAGE = "hit_stage"


class MissingParentError(IntegrityError):
    """Hits naming a post or subject that does not exist (PostgreSQL's stand-in for a foreign key)."""

    def __init__(self, what: str) -> None:
        super().__init__("INSERT INTO hits", None, LookupError(what))


def _copy_batches(
    session: Session,
    post_id: int,
    batches: Iterable[Sequence[HitRow]],
    now: datetime,
    *,
    fresh: bool,
    keys: KeyFunction,
) -> None:
    """PostgreSQL: each batch COPYed into ``hits`` (rows new to the call of a post with no hits) or
    into a temporary table and upserted from there (the rest); parents checked and locked first.

    Rows whose key repeats one of the batch's, or is an overflow's (see :class:`_ExactStore`), are
    stored exactly (a key may appear once in an upsert); an upsert whose row count falls short
    left out a row whose key another identity holds, and its rows are stored again exactly."""
    locked = session.scalar(text("SELECT id FROM posts WHERE id = :post_id FOR KEY SHARE"), {"post_id": post_id})
    if locked is None:
        raise MissingParentError(f"hits of post {post_id}, which does not exist")
    raw = session.connection().connection.driver_connection
    if raw is None:
        raise RuntimeError("no PostgreSQL connection to COPY into")
    seen: _SeenKeys | None = _SeenKeys() if fresh else None
    exact = _ExactStore(session, post_id, keys)
    staged = False
    types = _copy_types(session)
    for batch in batches:
        if not batch:
            continue
        _check_subjects(session, batch)
        if seen is not None and seen.size >= SEEN_IDENTITIES_MAX:
            seen = None  # memory stays bounded: the rest of the call upserts, which is always correct
        rows = _stored(batch, post_id, now, keys)
        array = np.fromiter(map(_KEY_OF, rows), dtype=np.int64, count=len(rows))
        one_by_one = _repeated(array)
        if exact.overflow:
            one_by_one |= np.isin(array, np.fromiter(exact.overflow, dtype=np.int64, count=len(exact.overflow)))
        again = ~one_by_one if seen is None else seen.add(array) & ~one_by_one
        direct = ~(again | one_by_one)
        if direct.any():
            with _copying(raw) as cursor, cursor.copy(_COPY_HITS) as copy:
                copy.set_types(types)
                for i in np.flatnonzero(direct).tolist():
                    copy.write_row(rows[i])
        if again.any():
            if not staged:
                session.execute(text(_CREATE_STAGE))
                staged = True
            upserted = [rows[i] for i in np.flatnonzero(again).tolist()]
            with _copying(raw) as cursor, cursor.copy(_COPY_STAGE) as copy:
                copy.set_types(types)
                for row in upserted:
                    copy.write_row(row)
            done = session.execute(text(_UPSERT_STAGE))
            session.execute(text(f"TRUNCATE {_STAGE}"))
            if cast(Any, done).rowcount != len(upserted):
                exact.store(upserted)
        if one_by_one.any():
            exact.store(rows[i] for i in np.flatnonzero(one_by_one).tolist())


_KEY_OF = itemgetter(-1)


def _copying(raw: Any) -> Any:
    """A cursor whose binary ``COPY`` sends ``bytea`` through psycopg's C dumper: the connection's
    (for DB-API ``Binary`` objects) is a Python method per digest, twice the client's cost of it."""
    from psycopg.types.string import BytesBinaryDumper  # here: a SQLite run never imports psycopg

    cursor = raw.cursor()
    cursor.adapters.register_dumper(bytes, BytesBinaryDumper)
    return cursor


def _repeated(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """True where a key appeared earlier in ``keys``."""
    repeated = np.ones(len(keys), dtype=bool)
    repeated[np.unique(keys, return_index=True)[1]] = False
    return repeated


#: Binary ``COPY``: the server reads each value as it is stored instead of parsing its text (two
#: timestamps, the hex of a digest, a float, integers): 15 % less of the server's CPU per row.
_STORED_SQL = f"{_COLUMNS_SQL}, post_id, first_seen, last_seen, identity_key"
_COPY_HITS = f"COPY hits ({_STORED_SQL}) FROM STDIN (FORMAT BINARY)"
_COPY_STAGE = f"COPY {_STAGE} ({_STORED_SQL}) FROM STDIN (FORMAT BINARY)"
#: The wire types of a binary ``COPY`` into ``hits``, read from the table itself (an integer's width
#: must be the column's). ``varchar`` and ``json`` travel as ``text``: the same bytes, and a ``json``
#: dumper would quote the explanation's JSON text again as a JSON string.
_HIT_TYPES = (
    "SELECT attname, CASE WHEN atttypid IN ('json'::regtype, 'varchar'::regtype) THEN 'text'::regtype "
    "ELSE atttypid END::int FROM pg_attribute WHERE attrelid = 'hits'::regclass AND attnum > 0 AND NOT attisdropped"
)


def _copy_types(session: Session) -> list[int]:
    """The type oids a binary ``COPY`` of hit rows (then post id, first and last seen, key) sends."""
    oids = {str(name): int(oid) for name, oid in session.execute(text(_HIT_TYPES))}
    return [oids[name] for name in (*ROW_COLUMNS, "post_id", "first_seen", "last_seen", "identity_key")]


_CREATE_STAGE = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} ON COMMIT DROP AS "  # noqa: S608 - fixed names
    f"SELECT {_STORED_SQL} FROM hits WITH NO DATA"
)
_UPSERT_STAGE = f"INSERT INTO hits ({_STORED_SQL}) SELECT {_STORED_SQL} FROM {_STAGE} {_on_conflict()}"  # noqa: S608 - fixed names
#: The batch's subjects that exist, locked against deletion until commit (as a foreign key's check).
_HELD_SUBJECTS = (
    "WITH held AS (SELECT id FROM subjects WHERE id = ANY(CAST(:ids AS bigint[])) FOR KEY SHARE) "
    "SELECT count(*) FROM held"
)


def _check_subjects(session: Session, batch: Sequence[HitRow]) -> None:
    """Refuse a batch naming a subject that does not exist; lock the others (one statement)."""
    wanted = sorted({row.subject_id for row in batch if row.subject_id is not None})
    if not wanted:
        return
    # The array's text form: psycopg's list dumper cost as much as the rest of the check.
    held = session.scalar(text(_HELD_SUBJECTS), {"ids": "{" + ",".join(map(str, wanted)) + "}"})
    if held != len(wanted):
        raise MissingParentError(f"{len(wanted) - int(held or 0)} subject id(s) of a batch of hits do not exist")


#: A row's identity as :attr:`HitRow.identity` builds it, read in C (no Python frame per row).
_IDENTITY_OF = itemgetter(*(ROW_COLUMNS.index(name) for name in IDENTITY[1:]))


#: Keys one call tracks for the direct ``COPY`` (8 bytes each: 128 MB). A post with more hits
#: stores the rest through the staging upsert, so memory does not grow with a 30M-row dump's hits.
SEEN_IDENTITIES_MAX = 16_000_000


class _SeenKeys:
    """The identity keys one call has COPYed so far, as sorted runs (8 bytes each).

    A row whose key is already there may be a hit stored by an earlier batch of this call (or one
    whose key another identity holds): it goes through the upsert instead of ``COPY``. Runs of
    equal size are merged, so a look-up searches O(log n) runs.
    """

    def __init__(self) -> None:
        self._runs: list[npt.NDArray[np.int64]] = []
        self.size = 0  # keys recorded

    def add(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Record the keys; return where each was recorded before (by an earlier call of ``add``).

        The runs are searched with the keys sorted (the run this batch adds): numpy's binary search
        starts each sorted needle where the last one ended, half the time of random needles."""
        order = np.argsort(keys, kind="stable")
        run = keys[order]
        found = np.zeros(len(keys), dtype=bool)
        for old in self._runs:
            at = np.searchsorted(old, run)
            found |= old[np.minimum(at, len(old) - 1)] == run
        while self._runs and len(self._runs[-1]) <= len(run):
            run = np.sort(np.concatenate((self._runs.pop(), run)))
        self._runs.append(run)
        self.size += len(keys)
        seen = np.empty(len(keys), dtype=bool)
        seen[order] = found
        return seen


def suppressible_new_hits(session: Session, stored: StoredHits) -> list[HitRecord]:
    """The post's new hits that some suppression rule might cover (same digest or subject), loaded."""
    rule_digests = select(SuppressionRule.digest)
    rule_subjects = select(SuppressionRule.subject_id).where(SuppressionRule.subject_id.is_not(None))
    if stored.new == 0 or session.scalar(select(SuppressionRule.id).limit(1)) is None:
        return []
    return list(
        session.scalars(
            select(HitRecord)
            .where(HitRecord.post_id == stored.post_id, HitRecord.id > stored.before)
            .where(or_(HitRecord.digest.in_(rule_digests), HitRecord.subject_id.in_(rule_subjects)))
            .order_by(HitRecord.id)
        )
    )


@dataclass(frozen=True, slots=True)
class PostHits:
    """A post's hits that survived triage, summed up in SQL (never loaded one by one)."""

    hits: int
    best: float
    one_identity: bool  # every hit has one (type, form, digest)
    in_files: bool
    subjects: int
    first: tuple[int, str] | None  # (hit id, type) of the lowest hit id, for the seller-contact rule
    one_subject: bool  # at most one distinct subject id (None counts as one)
    #: The files the hits were found in, when they were found in at most one (else None: see
    #: :func:`post_files`).
    files: tuple[str, ...] | None = ()
    #: What the post adds to its incident's aggregate, when asked for and no hit is excluded.
    totals: PostTotals | None = None


def effective_filter(excluded: Sequence[str]) -> tuple[Any, Any]:
    """The label alias to outer-join and the condition a hit survives triage under."""
    label = aliased(HitLabel)
    latest = select(func.max(HitLabel.id)).where(HitLabel.hit_id == HitRecord.id).correlate(HitRecord).scalar_subquery()
    return label, (label.id == latest, or_(label.label.is_(None), label.label.not_in(excluded)))


def excluded_hits(post_id: int, excluded: Sequence[str]) -> Any:
    """The ids of the post's hits whose latest label is one of ``excluded``, as a subquery.

    Driven by the labels (made by hand or by a rule, a few per post), not by the hits: a post of
    millions of hits pays one anti-join against this set instead of a label look-up per hit.
    """
    newer, labelled = aliased(HitLabel), aliased(HitRecord)
    post_of = select(labelled.post_id).where(labelled.id == HitLabel.hit_id).scalar_subquery()
    return select(HitLabel.hit_id).where(
        HitLabel.label.in_(excluded),
        post_of == post_id,  # a look-up per label: no planner may drive this from the post's hits
        ~select(newer.id).where(newer.hit_id == HitLabel.hit_id, newer.id > HitLabel.id).exists(),
    )


def _effective(post_id: int, excluded: Sequence[str], session: Session | None = None) -> Any:
    """The post's hits that survived triage (its hits less :func:`excluded_hits`).

    With ``session``, on SQLite, a big post's hits are read in table order (see :func:`_in_post`).
    """
    in_post = HitRecord.post_id == post_id if session is None else _in_post(session, post_id)
    return and_(in_post, HitRecord.id.not_in(excluded_hits(post_id, excluded)))


def _in_post(session: Session, post_id: int) -> Any:
    """``hits.post_id = :post``, read so that a big post costs one pass in table order on SQLite.

    SQLite reaches a post's rows through the identity index, whose entries are in digest order: a
    statement that reads the rows (not only the index) reads the table at random, minutes at
    millions of hits once the table outgrows the page cache. A post holding many hits and a good
    share of all of them is read by walking the table instead (the rule of
    :func:`storage.repositories.cases.incident_aggregate`).
    """
    if session.get_bind().dialect.name != "sqlite":
        return HitRecord.post_id == post_id
    rows = session.scalar(select(func.count()).where(HitRecord.post_id == post_id)) or 0  # the index alone
    top = session.scalar(select(func.max(HitRecord.id))) or 0
    if rows >= BIG_INCIDENT and rows * BIG_SHARE >= top:
        return HitRecord.post_id + 0 == post_id  # not indexable: the table is walked in order
    return HitRecord.post_id == post_id


def post_hits(
    session: Session,
    post_id: int,
    excluded: Sequence[str],
    *,
    exact: tuple[str, float] | None = None,
    subjects: int | None = None,
) -> PostHits:
    """The summary of the post's effective hits: one set-based pass over them.

    One subject and one file are each a ``min`` equal to its ``max`` (one identity: one type and
    form, then a look for a second digest); hits whose latest label excludes them are taken out only
    when the post has such a label (found from the labels' side), so a post without one is read with
    no per-hit label look-up at all. The files come with it, so grouping reads them again only when
    there are several (:func:`post_files`). The types come from the same pass (SQLite: its distinct
    values as a JSON array, a tiny index; PostgreSQL: grouped by type in a hash), the distinct
    subjects from a count of their own, unless the caller knows them (``subjects``: the distinct
    subjects of all the post's hits, :attr:`StoredHits.subjects`; taken only when no hit is
    excluded). With ``exact`` = (match kind, least confidence) and no hit
    excluded, the pass also sums up what the post adds to its incident's aggregate
    (:attr:`PostHits.totals`), so an incident whose only post it is is not read again.
    """
    where = _in_post(session, post_id)
    labelled = bool(session.scalar(select(excluded_hits(post_id, excluded).exists())))
    if labelled:
        where = and_(where, HitRecord.id.not_in(excluded_hits(post_id, excluded)))
    slot = func.coalesce(HitRecord.subject_id, 0)
    columns: list[Any] = [func.count(), func.max(HitRecord.confidence), func.min(HitRecord.id)]
    columns += [
        f(column) for column in (HitRecord.attachment_sha256, slot, HitRecord.form) for f in (func.min, func.max)
    ]
    columns += [func.min(HitRecord.first_seen), func.max(HitRecord.last_seen)]
    sqlite = session.get_bind().dialect.name == "sqlite"
    if exact is not None and sqlite:  # each aggregate is 0.1-0.2 s per 4M hits: a probe follows instead
        columns.append(func.max(HitRecord.first_seen))
    elif exact is not None:  # a probe would sort the hits: the new rows have no statistics yet
        strong = and_(HitRecord.match_kind == exact[0], HitRecord.confidence >= exact[1])
        columns += [func.min(case((strong, HitRecord.first_seen))), func.max(case((strong, HitRecord.first_seen)))]
        columns.append(func.min(case((strong, HitRecord.id))))
    if sqlite:  # one row; the types' distinct values as a JSON array (no sort of the hits)
        row = session.execute(select(func.json_group_array(distinct(HitRecord.id_type)), *columns).where(where)).one()
        groups = [tuple(row[1:])] if row[1] else []
        types = sorted(set(json.loads(row[0]))) if row[1] else []
    else:  # a hash of a few groups (no sort either)
        grouped = session.execute(select(HitRecord.id_type, *columns).where(where).group_by(HitRecord.id_type)).all()
        groups = [tuple(row[1:]) for row in grouped]
        types = sorted(str(row[0]) for row in grouped)
    hits = sum(int(group[0]) for group in groups)
    best = _most(group[1] for group in groups)
    first_id = _least(group[2] for group in groups)
    file_low, file_high, low, high, form_low, form_high, first_seen, last_seen = (
        (_least if i % 2 == 0 else _most)(group[3 + i] for group in groups) for i in range(8)
    )
    if subjects is None or labelled:
        subjects = session.scalar(select(func.count(distinct(HitRecord.subject_id))).where(where)) if hits else 0
    first = None
    one_identity = False
    if first_id is not None:
        first_type, digest = session.execute(
            select(HitRecord.id_type, HitRecord.digest).where(HitRecord.id == first_id)
        ).one()
        first = (int(first_id), str(first_type))
        if len(types) == 1 and form_low == form_high:  # one digest? (PostgreSQL has no min(bytea))
            other = select(HitRecord.id).where(where, HitRecord.digest != digest).limit(1)
            one_identity = session.scalar(other) is None
    files: tuple[str, ...] | None = None
    if file_low == file_high:
        files = () if file_low is None else (str(file_low),)
    totals = None
    if exact is not None and not labelled:
        found, known = _first_strong_exact(session, where, groups, exact, first_seen, walked=sqlite)
        totals = PostTotals(
            post_id=post_id,
            subjects=int(subjects or 0),
            hits=hits,
            id_types=tuple(types),
            first_seen=first_seen,
            last_seen=last_seen,
            exact_kind=exact[0],
            strong=exact[1],
            first_strong_exact=found,
            exact_known=known,
        )
    return PostHits(
        hits=hits,
        best=float(best or 0.0),
        one_identity=one_identity,
        in_files=file_high is not None,
        subjects=int(subjects or 0),
        first=first,
        one_subject=low == high,  # at most one distinct subject id (None counting as one)
        files=files,
        totals=totals,
    )


def _first_strong_exact(
    session: Session,
    where: Any,
    groups: Sequence[tuple[Any, ...]],
    exact: tuple[str, float],
    first_seen: Any,
    *,
    walked: bool,
) -> tuple[tuple[datetime, int, float] | None, bool]:
    """The post's first strong exact hit in (first seen, id) order, and whether it is known: it is the
    lowest id among them when they were all first seen at once (a post stored in one go); else it is
    left for the aggregate to look for. ``walked`` (SQLite): the pass had only the hits' last first
    seen, and when it equals the first the hit is looked for in id order (the walk of the post's rows
    stops at the first); else the pass had the strong exact hits' first and last first seen and lowest id.
    """
    if walked:
        if first_seen is None or first_seen != _most(group[11] for group in groups):
            return None, first_seen is None
        strong = and_(HitRecord.match_kind == exact[0], HitRecord.confidence >= exact[1])
        row = session.execute(
            select(HitRecord.first_seen, HitRecord.id, HitRecord.confidence)
            .where(where, strong)
            .order_by(HitRecord.id)
            .limit(1)
        ).first()
        return ((row[0], int(row[1]), float(row[2])) if row else None), True
    exact_first = _least(group[11] for group in groups)
    if exact_first is None:
        return None, True
    if exact_first != _most(group[12] for group in groups):
        return None, False
    hit_id = int(_least(group[13] for group in groups))
    confidence = session.scalar(select(HitRecord.confidence).where(HitRecord.id == hit_id))
    return (exact_first, hit_id, float(confidence or 0.0)), True


def _least(values: Iterable[Any]) -> Any:
    """SQL's ``min`` of group minima: None values ignored, None when there is no other."""
    return min((value for value in values if value is not None), default=None)


def _most(values: Iterable[Any]) -> Any:
    return max((value for value in values if value is not None), default=None)


def post_files(session: Session, post_id: int) -> set[str]:
    """The files the post's hits were found in."""
    return set(
        session.scalars(
            select(HitRecord.attachment_sha256)
            .where(HitRecord.post_id == post_id, HitRecord.attachment_sha256.is_not(None))
            .distinct()
        )
    )


def shared_subjects(
    session: Session, post_id: int, excluded: Sequence[str], subjects: int | None = None
) -> dict[int, int]:
    """Open incidents holding the subjects of the post's effective hits: incident id -> subjects shared.

    The post's own open incident holds every one of them (``subjects``: their number, when the
    caller has counted it, see :attr:`PostHits.subjects`); the other incidents are counted through
    their other posts' hits only, so a post of millions of hits is never joined with itself.
    """
    mine = (
        select(HitRecord.subject_id).where(_effective(post_id, excluded), HitRecord.subject_id.is_not(None)).distinct()
    )
    other = aliased(HitRecord)
    rows = session.execute(
        select(IncidentPost.incident_id, func.count(distinct(other.subject_id)))
        .join(other, other.post_id == IncidentPost.post_id)
        .join(Incident, Incident.id == IncidentPost.incident_id)
        .where(other.post_id != post_id, other.subject_id.in_(mine), Incident.status == "open")
        .group_by(IncidentPost.incident_id)
    )
    shared = {int(incident_id): int(count) for incident_id, count in rows}
    own = session.scalar(
        select(IncidentPost.incident_id)
        .join(Incident, Incident.id == IncidentPost.incident_id)
        .where(IncidentPost.post_id == post_id, Incident.status == "open")
    )
    if own is not None:
        if subjects is None:
            subjects = session.scalar(select(func.count()).select_from(mine.subquery())) or 0
        if subjects:
            shared[int(own)] = int(subjects)
    return shared


__all__ = [
    "IDENTITY",
    "ROW_COLUMNS",
    "HitRow",
    "KeyFunction",
    "MissingParentError",
    "PostHits",
    "StoredHits",
    "best_rows",
    "effective_filter",
    "excluded_hits",
    "identity_key",
    "identity_keys",
    "post_files",
    "post_hits",
    "shared_subjects",
    "store_hits",
    "suppressible_new_hits",
]
