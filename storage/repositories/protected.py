"""The protected set in the database: bulk loading digests, reading them back as arrays, confirming.

Only digests, subject ids and kind numbers exist here; the plaintext never reaches this module. A
full-form digest is stored as (prefix, subject_id, rest, kind) (:class:`storage.models.core.ProtectedIdentifier`);
a mask-form digest, shared by many subjects, once as (prefix, rest, kind, subjects)
(:class:`storage.models.core.ProtectedMask`), merged with the subjects already stored under it.
A load resolves each batch's subject refs to ids as it comes (one set-based statement per batch),
keeps the rows in numpy arrays (spilled to an anonymous temporary file in buckets by the prefix's
top bits once they grow big), and at ``finish`` writes them bucket by bucket, each bucket sorted
and de-duplicated: SQLite appends to the ``WITHOUT ROWID`` primary key with ``executemany``,
PostgreSQL loads an empty set with binary ``COPY`` (primary key dropped, rebuilt
after) and merges into a non-empty one through a staged ``COPY``. All of it runs in the caller's
transaction, so ``--replace`` swaps the whole set atomically; the same transaction rewrites the
kind counts (``protected_kinds``) and the per-key summary (``protected_sets``: a version token and
a digest count), so start-up reads a few rows instead of scanning the set.
"""

from __future__ import annotations

import functools
import itertools
import json
import secrets
import struct
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import Table, bindparam, delete, func, insert, select, text
from sqlalchemy.orm import Session

from storage.models.core import ProtectedIdentifier, ProtectedKind, ProtectedMask, ProtectedSet, Subject

#: SQLite page cache for a bulk load, in KiB (the default is 2 MB).
SQLITE_LOAD_CACHE_KIB = 512 * 1024

#: The set's primary key (prefix, subject_id, rest), by name.
PRIMARY_KEY = "pk_protected_identifiers"

#: Digests per confirmation query (SQLite allows 32,766 bound values).
CONFIRM_BATCH = 2000

#: One staged row: (subject_ref, key_id, id_type, form, digest).
StagedRow = tuple[str, str, str, str, bytes]

#: The one form stored a row per (digest, subject); every other form is a mask form, stored a row per
#: digest with all its subjects (``protected_masks``).
FULL_FORM = "full"

#: One ``protected_masks`` row: (prefix, rest, kind, subjects as sorted big-endian int64s).
MaskRow = tuple[int, bytes, int, bytes]

#: How a mask row's subjects are packed.
_SUBJECTS = np.dtype(">i8")

#: A digest row while loading (native byte order): the signed prefix, subject id, kind, other 24 bytes.
ROW = np.dtype([("prefix", "<i8"), ("subject", "<i8"), ("kind", "<i2"), ("rest", "V24")])

#: PostgreSQL's timestamp epoch (binary COPY counts microseconds from it).
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

#: Subject refs resolved to ids at once on PostgreSQL (one ``COPY`` of new subjects: a ``COPY`` of 5,000
#: cost 0.3-0.6 s more server time per 1M subjects than one of 100,000).
SUBJECT_REFS_AT_ONCE = 100_000
#: Rows held in memory before they are spilled to disk in buckets (42 B each: about 84 MB).
SPILL_ROWS = 2_000_000
#: Rows written by one ``executemany`` or ``COPY``.
WRITE_ROWS = 500_000
#: Buckets by the prefix's top bits (signed order), so each is sorted alone and written in turn (at most 8).
BUCKET_BITS = 6

#: A digest as (big-endian signed prefix, the other 24 bytes): how 32 digest bytes split.
_DIGEST = np.dtype([("prefix", ">i8"), ("rest", "V24")])

#: PostgreSQL binary COPY framing (header with no flags and no extension, trailer) and one row:
#: 4 fields (prefix int8, subject_id int8, kind int2, rest bytea), each after its byte length.
_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_PGCOPY_TRAILER = b"\xff\xff"
_PGCOPY_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("prefix_len", ">i4"),
        ("prefix", ">i8"),
        ("subject_len", ">i4"),
        ("subject", ">i8"),
        ("kind_len", ">i4"),
        ("kind", ">i2"),
        ("rest_len", ">i4"),
        ("rest", "V24"),
    ]
)
#: One row of ``COPY (SELECT prefix, subject_id ...) TO STDOUT (FORMAT BINARY)``.
_PGCOPY_PAIR = np.dtype(
    [("fields", ">i2"), ("prefix_len", ">i4"), ("prefix", ">i8"), ("subject_len", ">i4"), ("subject", ">i8")]
)


def split_digests(digests: bytes) -> npt.NDArray[Any]:
    """Concatenated 32-byte digests as (signed big-endian prefix, rest) records."""
    return np.frombuffer(digests, dtype=_DIGEST)


def join_digest(prefix: int, rest: bytes) -> bytes:
    """The 32-byte digest of a stored (prefix, rest)."""
    return prefix.to_bytes(8, "big", signed=True) + bytes(rest)


@dataclass(frozen=True)
class DigestGroup:
    """The digests of one (type, form) in a batch; ``subjects[i]`` indexes the batch's subject refs."""

    id_type: str
    form: str
    subjects: npt.NDArray[np.uint32]
    digests: bytes  # 32 bytes per digest, concatenated

    def __len__(self) -> int:
        return len(self.subjects)


@dataclass(frozen=True)
class DigestBatch:
    """Digests of one key in columns (what an import chunk produces): no Python object per digest."""

    key_id: str
    subjects: list[str]  # distinct subject refs
    groups: list[DigestGroup]

    def __len__(self) -> int:
        return sum(len(g) for g in self.groups)

    def __iter__(self) -> Iterator[StagedRow]:
        """The batch as staged rows (``protect hash`` output, tests)."""
        for g in self.groups:
            for j, subject in enumerate(g.subjects.tolist()):
                yield self.subjects[subject], self.key_id, g.id_type, g.form, g.digests[32 * j : 32 * j + 32]

    @classmethod
    def from_rows(cls, rows: Iterable[StagedRow]) -> list[DigestBatch]:
        """Staged rows (a ``--hashed`` file, tests) as one batch per key id."""
        by_key: dict[str, tuple[dict[str, int], dict[tuple[str, str], tuple[list[int], list[bytes]]]]] = {}
        for subject, key_id, id_type, form, digest in rows:
            refs, groups = by_key.setdefault(key_id, ({}, {}))
            positions, digests = groups.setdefault((id_type, form), ([], []))
            positions.append(refs.setdefault(subject, len(refs)))
            digests.append(digest)
        return [
            cls(
                key_id,
                list(refs),
                [
                    DigestGroup(id_type, form, np.array(p, dtype=np.uint32), b"".join(d))
                    for (id_type, form), (p, d) in groups.items()
                ],
            )
            for key_id, (refs, groups) in by_key.items()
        ]


@dataclass(frozen=True)
class LoadResult:
    staged: int
    inserted: int
    subjects_added: int
    removed: int


class ProtectedLoader:
    """Stage digests batch by batch, then ``finish`` moves them into the protected set.

    ``stage`` resolves the batch's subject refs to subject ids (adding new subjects) and keeps the
    rows as numpy records; nothing else touches the set until ``finish``.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._dialect = session.get_bind().dialect.name
        self._staged = 0
        self._subjects_added = 0
        self._next_subject: int | None = None  # SQLite: the id the next new subject gets
        self._copy_subjects = True  # PostgreSQL: new subjects by COPY until a batch holds a known one
        self._subject_sequence: str | None = None  # PostgreSQL: the sequence subject ids are drawn from
        self._now = datetime.now(UTC)
        self._kinds: dict[tuple[str, str, str], int] = {
            (k.key_id, k.id_type, k.form): k.kind for k in session.scalars(select(ProtectedKind))
        }
        self._new_kinds: set[int] = set()
        self._unresolved: list[tuple[npt.NDArray[Any], list[str]]] = []  # PostgreSQL: rows and their refs
        self._unresolved_refs = 0
        self._pending: list[npt.NDArray[Any]] = []
        self._pending_rows = 0
        self._spill: list[IO[bytes]] | None = None
        if self._dialect == "sqlite":
            # A bulk load touches many more pages than SQLite's default 2 MB cache holds.
            self._session.execute(text(f"PRAGMA main.cache_size = -{SQLITE_LOAD_CACHE_KIB}"))

    def _raw(self) -> Any:
        raw = self._session.connection().connection.dbapi_connection
        if raw is None:  # pragma: no cover - a live session always has one
            raise RuntimeError("no DBAPI connection")
        return raw

    def _kind(self, key_id: str, id_type: str, form: str) -> int:
        kind = self._kinds.get((key_id, id_type, form))
        if kind is None:
            kind = max(self._kinds.values(), default=0) + 1
            if kind > 32767:  # pragma: no cover - a smallint; thousands of keys x types x forms
                raise RuntimeError("too many (key, type, form) kinds in the protected set")
            self._kinds[(key_id, id_type, form)] = kind
            self._new_kinds.add(kind)
        return kind

    def stage(self, batch: DigestBatch | Sequence[StagedRow]) -> None:
        """Stage a batch of digests (a columnar batch, or staged rows)."""
        if not isinstance(batch, DigestBatch):
            for part in DigestBatch.from_rows(batch):
                self.stage(part)
            return
        if not batch.groups or not len(batch):
            return
        # PostgreSQL resolves the refs of several batches at once (:meth:`_resolve_subjects`): until then
        # a row's subject is its position in the batch's refs.
        ids = None if self._dialect == "postgresql" else self._subject_ids(batch.subjects)
        rows = np.empty(len(batch), dtype=ROW)
        at = 0
        for group in batch.groups:
            n = len(group)
            split = split_digests(group.digests)
            chunk = rows[at : at + n]
            chunk["prefix"] = split["prefix"]
            chunk["rest"] = split["rest"]
            chunk["subject"] = group.subjects if ids is None else ids[group.subjects]
            chunk["kind"] = self._kind(batch.key_id, group.id_type, group.form)
            at += n
        self._staged += len(rows)
        if ids is not None:
            self._keep(rows)
            return
        self._unresolved.append((rows, batch.subjects))
        self._unresolved_refs += len(batch.subjects)
        if self._unresolved_refs >= SUBJECT_REFS_AT_ONCE:
            self._resolve_subjects()

    def _keep(self, rows: npt.NDArray[Any]) -> None:
        """Hold rows whose subjects are resolved (spilled to disk once they grow big)."""
        self._pending.append(rows)
        self._pending_rows += len(rows)
        if self._pending_rows >= SPILL_ROWS:
            self._spill_pending()

    def _resolve_subjects(self) -> None:
        """Subject ids for the rows of the batches staged since the last call (PostgreSQL): their refs,
        concatenated, in one statement or ``COPY`` (a ref in two of the batches makes the ``COPY`` fail
        and the insert-or-ignore take over, as a ref stored earlier does)."""
        if not self._unresolved:
            return
        waiting, self._unresolved, self._unresolved_refs = self._unresolved, [], 0
        ids = self._subject_ids(list(itertools.chain.from_iterable(refs for _, refs in waiting)))
        at = 0
        for rows, refs in waiting:
            rows["subject"] = ids[at + rows["subject"]]
            at += len(refs)
            self._keep(rows)

    def _subject_ids(self, refs: list[str]) -> npt.NDArray[np.int64]:
        """Subject ids of ``refs`` in order (distinct on SQLite), adding the refs not yet known.

        One statement per batch when every ref is new (a first import): SQLite numbers the new
        subjects itself (the load holds the database's write lock, so the next id is known) and
        PostgreSQL returns the ids it drew; refs that already existed are looked up in a second one.
        """
        if self._dialect == "postgresql":
            return self._subject_ids_postgres(refs)
        cursor = self._raw().cursor()
        if self._next_subject is None:
            self._next_subject = int(cursor.execute("SELECT coalesce(max(id), 0) + 1 FROM subjects").fetchone()[0])
        base = self._next_subject
        self._next_subject += len(refs)
        refs_json = json.dumps(refs)
        cursor.execute(
            "INSERT INTO subjects (id, subject_ref, created_at) SELECT ? + key, value, ? FROM json_each(?) "
            "WHERE true ORDER BY value ON CONFLICT (subject_ref) DO NOTHING",
            (base, self._now.strftime("%Y-%m-%d %H:%M:%S.%f"), refs_json),
        )
        added = max(cursor.rowcount, 0)
        self._subjects_added += added
        if added == len(refs):
            cursor.close()
            return np.arange(base, base + len(refs), dtype=np.int64)
        found = cursor.execute(
            "SELECT j.key, s.id FROM json_each(?) AS j JOIN subjects AS s ON s.subject_ref = j.value", (refs_json,)
        ).fetchall()
        cursor.close()
        if len(found) != len(refs):  # pragma: no cover - every ref was just inserted or existed
            raise RuntimeError("subject references could not be resolved")
        ids = np.zeros(len(refs), dtype=np.int64)
        pairs = np.fromiter(itertools.chain.from_iterable(found), dtype=np.int64, count=2 * len(found))
        ids[pairs[0::2]] = pairs[1::2]
        return ids

    def _subject_ids_postgres(self, refs: list[str]) -> npt.NDArray[np.int64]:
        """New refs go in by ``COPY`` with ids drawn from the sequence (a third of the server time of an
        insert-or-ignore that returns the ids); the first ``refs`` holding a known ref (or one ref twice)
        roll that attempt back to a savepoint, and from then on the load inserts-or-ignores (a re-import
        or a merge)."""
        if not refs:
            return np.empty(0, dtype=np.int64)
        if self._copy_subjects:
            encoded = _encoded_refs(refs)
            if encoded is not None:
                ids = self._copy_new_subjects(*encoded)
                if ids is not None:
                    return ids
            self._copy_subjects = False
        distinct = list(dict.fromkeys(refs))
        with self._raw().cursor() as cursor:
            cursor.execute(
                "INSERT INTO subjects (subject_ref, created_at) SELECT r, %s FROM unnest(%s::text[]) AS u(r) "
                "ORDER BY r ON CONFLICT (subject_ref) DO NOTHING RETURNING subject_ref, id",
                (self._now, distinct),
            )
            known: dict[str, int] = dict(cursor.fetchall())
            self._subjects_added += len(known)
            if len(known) < len(distinct):
                cursor.execute(
                    "SELECT subject_ref, id FROM subjects WHERE subject_ref = ANY(%s)",
                    ([r for r in distinct if r not in known],),
                )
                known.update(cursor.fetchall())
        if len(known) != len(distinct):  # pragma: no cover - every ref was just inserted or existed
            raise RuntimeError("subject references could not be resolved")
        return np.fromiter(map(known.__getitem__, refs), dtype=np.int64, count=len(refs))

    def _copy_new_subjects(self, joined: bytes, lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64] | None:
        """Insert the refs ``joined`` holds (UTF-8, none holding NUL; ``lengths`` bytes each) as new subjects
        by ``COPY``; None (and nothing inserted) when one of them already exists or is there twice.

        The ids are one range drawn by a single ``setval``: the load holds ``subjects`` in SHARE ROW
        EXCLUSIVE mode (taken here once), so no other transaction inserts subjects, and so draws from
        their sequence, until it ends (one ``nextval`` per id was 0.3 s of server time per 1M subjects)."""
        from psycopg.errors import UniqueViolation  # PostgreSQL only: not loaded at start-up

        raw = self._raw()
        count = len(lengths)
        with raw.cursor() as cursor:
            if self._subject_sequence is None:
                cursor.execute("LOCK TABLE subjects IN SHARE ROW EXCLUSIVE MODE")
                cursor.execute("SELECT pg_get_serial_sequence('subjects', 'id')")
                self._subject_sequence = str(cursor.fetchone()[0])
            cursor.execute(  # the last id of the range; a range of one is a plain nextval
                "SELECT setval(%s::regclass, nextval(%s::regclass) + %s - 1)",
                (self._subject_sequence, self._subject_sequence, count),
            )
            first = int(cursor.fetchone()[0]) - count + 1
            ids = np.arange(first, first + count, dtype=np.int64)
            body = _pgcopy_subjects(ids, joined, lengths, self._now)
            cursor.execute("SAVEPOINT leakmon_new_subjects")
            try:
                with cursor.copy("COPY subjects (id, subject_ref, created_at) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.write(body)
            except UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT leakmon_new_subjects")
                return None
            cursor.execute("RELEASE SAVEPOINT leakmon_new_subjects")
        self._subjects_added += count
        return ids

    def _spill_pending(self) -> None:
        """Append the pending rows to the bucket files (created on the first spill)."""
        if not self._pending:
            return
        rows = np.concatenate(self._pending)
        self._pending, self._pending_rows = [], 0
        if self._spill is None:
            # Anonymous files (unlinked at once), closed as ``finish`` reads them back.
            self._spill = [tempfile.TemporaryFile(prefix="leakmon-load-") for _ in range(1 << BUCKET_BITS)]  # noqa: SIM115
        buckets = _buckets(rows)
        order = np.argsort(buckets, kind="stable")
        bounds = np.searchsorted(buckets[order], np.arange((1 << BUCKET_BITS) + 1))
        rows = np.take(rows, order)
        for b, spill in enumerate(self._spill):
            if bounds[b] < bounds[b + 1]:
                spill.write(rows[bounds[b] : bounds[b + 1]].tobytes())

    def _sorted_buckets(self) -> Iterator[tuple[npt.NDArray[Any], npt.NDArray[Any]]]:
        """The staged rows in (prefix, subject, rest) order without duplicates, a bucket at a time, as
        (full-form rows, mask-form rows). Full-form rows come in slices of at most WRITE_ROWS (what one
        ``executemany`` or ``COPY`` turns into Python objects or bytes at once); a bucket's mask rows
        come whole (a mask digest's subjects are all in its bucket), with an empty slice of full rows."""
        if self._spill is None:
            rows = np.concatenate(self._pending) if self._pending else np.empty(0, dtype=ROW)
            self._pending = []
            buckets: Iterable[npt.NDArray[Any]] = [_sort_unique(rows)]
        else:
            self._spill_pending()
            buckets = self._read_buckets()
        masks = np.array(sorted(k for name, k in self._kinds.items() if name[2] != FULL_FORM), dtype=np.int16)
        for rows in buckets:
            is_mask = np.isin(rows["kind"], masks)
            full = np.compress(~is_mask, rows) if is_mask.any() else rows
            for start in range(0, len(full), WRITE_ROWS):
                yield full[start : start + WRITE_ROWS], rows[:0]
            if is_mask.any():
                yield rows[:0], np.compress(is_mask, rows)

    def _read_buckets(self) -> Iterator[npt.NDArray[Any]]:
        spills, self._spill = self._spill or [], None
        for spill in spills:
            spill.seek(0)
            rows = np.frombuffer(spill.read(), dtype=ROW)
            spill.close()
            if len(rows):
                yield _sort_unique(rows)

    def finish(self, *, replace: bool) -> LoadResult:
        """Move the staged rows into the set (idempotent); ``replace`` first empties the set."""
        session = self._session
        self._resolve_subjects()
        counts = {k.kind: int(k.digests) for k in session.scalars(select(ProtectedKind))}
        removed = 0
        if replace:
            removed = sum(counts.values())
            if self._dialect == "postgresql":  # new, empty files in one step (rolled back with the load)
                session.execute(text("TRUNCATE protected_identifiers, protected_masks"))
            else:
                session.execute(delete(ProtectedIdentifier))
                session.execute(delete(ProtectedMask))
            counts = {}
        empty = sum(counts.values()) == 0
        added = self._load_postgres(empty) if self._dialect == "postgresql" else self._load_sqlite(empty)
        for kind, n in added.items():
            counts[kind] = counts.get(kind, 0) + n
        names = {kind: name for name, kind in self._kinds.items()}
        session.execute(delete(ProtectedKind))
        kept = [
            {"kind": kind, "key_id": names[kind][0], "id_type": names[kind][1], "form": names[kind][2], "digests": n}
            for kind, n in sorted(counts.items())
            if n
        ]
        if kept:
            session.execute(insert(ProtectedKind), kept)
        _write_summary(session)
        if self._dialect == "postgresql":
            # A bulk load leaves no column statistics (the key is rebuilt, autovacuum has not run yet): the
            # planner then guesses that a confirmation's ``prefix IN (...)`` matches most rows and scans the
            # whole set for every batch of hits. Sampling now costs a fraction of a second.
            session.execute(text("ANALYZE protected_identifiers, protected_masks, subjects"))
        return LoadResult(
            staged=self._staged, inserted=sum(added.values()), subjects_added=self._subjects_added, removed=removed
        )

    def _load_sqlite(self, empty: bool) -> dict[int, int]:
        """Insert bucket by bucket in key order: into an empty key range the B-tree only appends.

        Into an empty set every (already de-duplicated) row is new and the rows go in one pass; into a
        non-empty one kind by kind, so each kind's count of new rows is exact. Mask digests are merged
        with their stored subjects (:meth:`_mask_rows`) and written one row per digest.
        """
        cursor = self._raw().cursor()
        added: dict[int, int] = {}
        for rows, masks in self._sorted_buckets():
            if len(masks):
                cursor.executemany(
                    "INSERT INTO protected_masks (prefix, rest, kind, subjects) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (prefix, rest, kind) DO UPDATE SET subjects = excluded.subjects",
                    self._mask_rows(masks, empty, added),
                )
            if not len(rows):
                continue
            parts = [rows] if empty else [rows[rows["kind"] == kind] for kind in np.unique(rows["kind"]).tolist()]
            for part in parts:
                inserted = _sqlite_insert(cursor, part)
                if empty:
                    _add_counts(added, part)
                else:
                    kind = int(part["kind"][0])
                    added[kind] = added.get(kind, 0) + inserted
        cursor.close()
        return added

    def _mask_rows(self, masks: npt.NDArray[Any], empty: bool, added: dict[int, int]) -> list[MaskRow]:
        """One bucket's mask rows as one (prefix, rest, kind, subjects) row per digest to write, merged
        with the subjects already stored under it (none when the set was ``empty``); counts the new
        (digest, subject) pairs into ``added``. A digest whose stored subjects already hold every staged
        one is not written again."""
        rows, starts = _mask_groups(masks)
        ends = np.append(starts[1:], len(rows)).tolist()
        heads = rows[starts]
        prefixes, kinds = heads["prefix"].tolist(), heads["kind"].tolist()
        rests = heads["rest"].tobytes()
        ids = rows["subject"].astype(_SUBJECTS)
        blob = ids.tobytes()
        stored = {} if empty else self._stored_masks(sorted(set(prefixes)))
        out: list[MaskRow] = []
        for i, (start, end) in enumerate(zip(starts.tolist(), ends, strict=True)):
            prefix, kind, rest = prefixes[i], kinds[i], rests[24 * i : 24 * i + 24]
            old = stored.get((prefix, rest, kind))
            if old is None:
                out.append((prefix, rest, kind, blob[8 * start : 8 * end]))
                added[kind] = added.get(kind, 0) + end - start
                continue
            before = len(old) // 8
            merged = np.union1d(np.frombuffer(old, dtype=_SUBJECTS), ids[start:end]).astype(_SUBJECTS)
            if len(merged) > before:
                out.append((prefix, rest, kind, merged.tobytes()))
                added[kind] = added.get(kind, 0) + len(merged) - before
        return out

    def _stored_masks(self, prefixes: list[int]) -> dict[tuple[int, bytes, int], bytes]:
        """The stored mask rows under ``prefixes``: (prefix, rest, kind) -> subjects."""
        table = cast(Table, ProtectedMask.__table__)
        query = select(table.c.prefix, table.c.rest, table.c.kind, table.c.subjects).where(
            table.c.prefix.in_(bindparam("wanted", expanding=True))
        )
        connection = self._session.connection()
        found: dict[tuple[int, bytes, int], bytes] = {}
        for start in range(0, len(prefixes), CONFIRM_BATCH):
            for prefix, rest, kind, subjects in connection.execute(
                query, {"wanted": prefixes[start : start + CONFIRM_BATCH]}
            ):
                found[(int(prefix), bytes(rest), int(kind))] = bytes(subjects)
        return found

    def _load_postgres(self, empty: bool) -> dict[int, int]:
        """An empty set: binary ``COPY`` straight into the table with its primary key dropped, rebuilt
        in one pass after; transactional DDL, so a failure restores the table. A non-empty set: ``COPY`` into a
        temporary stage, then one insert-or-ignore that reports the new rows' kinds."""
        session = self._session
        added: dict[int, int] = {}
        restore: list[tuple[str, str]] = []
        if empty:
            # Truncated (it is empty: the loader is its only writer) so this transaction's COPY may write the
            # rows frozen, then the key is built in one in-memory pass by this backend (see _key_build_settings).
            session.execute(text("TRUNCATE protected_identifiers"))
            session.execute(text(f"ALTER TABLE protected_identifiers DROP CONSTRAINT {PRIMARY_KEY}"))
            current_kb = session.scalar(
                text("SELECT setting::bigint FROM pg_settings WHERE name = 'maintenance_work_mem'")
            )
            restore = self._set_local(_key_build_settings(self._staged, int(current_kb or 0)))
            target = "protected_identifiers"
        else:
            session.execute(text("DROP TABLE IF EXISTS protected_stage"))
            session.execute(
                text(
                    "CREATE TEMPORARY TABLE protected_stage (prefix BIGINT NOT NULL, subject_id BIGINT NOT NULL,"
                    " kind SMALLINT NOT NULL, rest BYTEA NOT NULL) ON COMMIT DROP"
                )
            )
            target = "protected_stage"
        mask_target = "protected_masks"
        if not empty:
            session.execute(text("DROP TABLE IF EXISTS protected_mask_stage"))
            session.execute(
                text(
                    "CREATE TEMPORARY TABLE protected_mask_stage (prefix BIGINT NOT NULL, rest BYTEA NOT NULL,"
                    " kind SMALLINT NOT NULL, subjects BYTEA NOT NULL) ON COMMIT DROP"
                )
            )
            mask_target = "protected_mask_stage"
        with self._raw().cursor() as cursor:
            for rows, masks in self._sorted_buckets():
                if len(masks):
                    mask_rows = self._mask_rows(masks, empty, added)
                    if mask_rows:
                        with cursor.copy(
                            f"COPY {mask_target} (prefix, rest, kind, subjects) FROM STDIN (FORMAT BINARY)"
                        ) as copy:
                            copy.write(_pgcopy_masks(mask_rows))
                if not len(rows):
                    continue
                options = "FORMAT BINARY, FREEZE" if empty else "FORMAT BINARY"
                with cursor.copy(f"COPY {target} (prefix, subject_id, kind, rest) FROM STDIN ({options})") as copy:
                    copy.write(_pgcopy_rows(rows))
                if empty:
                    _add_counts(added, rows)
        if not empty:
            session.execute(
                text(
                    "INSERT INTO protected_masks (prefix, rest, kind, subjects) SELECT prefix, rest, kind, subjects "
                    "FROM protected_mask_stage ORDER BY prefix, rest, kind "
                    "ON CONFLICT (prefix, rest, kind) DO UPDATE SET subjects = excluded.subjects"
                )
            )
            session.execute(text("DROP TABLE protected_mask_stage"))
        if empty:
            session.execute(
                text(
                    f"ALTER TABLE protected_identifiers ADD CONSTRAINT {PRIMARY_KEY} "
                    "PRIMARY KEY (prefix, subject_id, rest)"
                )
            )
            self._set_local(restore)
            return added
        result = session.execute(
            text(
                "WITH new AS (INSERT INTO protected_identifiers (prefix, subject_id, rest, kind) "
                "SELECT prefix, subject_id, rest, kind FROM protected_stage ORDER BY prefix, subject_id, rest "
                "ON CONFLICT DO NOTHING RETURNING kind) SELECT kind, count(*) FROM new GROUP BY kind"
            )
        )
        for kind, n in result:
            added[int(kind)] = added.get(int(kind), 0) + int(n)
        session.execute(text("DROP TABLE protected_stage"))
        return added

    def _set_local(self, settings: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Set PostgreSQL settings for the rest of this transaction; returns their values before."""
        before: list[tuple[str, str]] = []
        with self._raw().cursor() as cursor:
            for name, value in settings:
                cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", (name, name, value))
                before.append((name, str(cursor.fetchone()[0])))
        return before


#: Memory for sorting one staged row while the primary key is built (``trace_sort``: 10M rows took
#: 1,174,467 KB, the index tuple, its sort slot and allocation overhead), and the most an import asks for.
KEY_BUILD_BYTES_PER_ROW = 128
KEY_BUILD_MAX_MB = 1024


def _key_build_settings(rows: int, current_kb: int) -> list[tuple[str, str]]:
    """Settings for building the primary key over ``rows`` freshly copied rows: enough
    ``maintenance_work_mem`` to sort them in memory (up to 1 GB; never less than the server's
    ``current_kb``), and no parallel workers.

    10M rows, measured on 2 shared cores at load 8-10 (CPU of the backend and its workers): rows not
    frozen, the server's 64 MB and 2 workers, 10.3-10.4 s; rows frozen by ``COPY``, 4.2-5.4 s; frozen,
    no workers, sorted in memory (2 GB) 4.3 s, or in two runs (953 MB) 4.9-5.5 s. The workers save
    no CPU on a shared machine, and under load they did not save wall time either."""
    settings = [("max_parallel_maintenance_workers", "0")]
    mb = min(KEY_BUILD_MAX_MB, rows * KEY_BUILD_BYTES_PER_ROW >> 20)
    if mb << 10 > current_kb:
        settings.append(("maintenance_work_mem", f"{mb}MB"))
    return settings


#: Rows per multi-row ``INSERT`` on SQLite (4 parameters a row; SQLite allows 32,766): a statement per
#: 250 rows costs a third less than ``executemany`` of a statement per row (1M rows: 1.5 -> 1.0 s CPU).
SQLITE_ROWS_PER_INSERT = 250


def _sqlite_insert(cursor: Any, rows: npt.NDArray[Any]) -> int:
    """Insert ``rows`` (in key order) into ``protected_identifiers``, skipping rows already stored, by
    multi-row statements; returns the number of new rows."""
    flat = list(
        itertools.chain.from_iterable(
            zip(
                rows["prefix"].tolist(),
                rows["subject"].tolist(),
                rows["rest"].tolist(),  # bytes of 24
                rows["kind"].tolist(),
                strict=True,
            )
        )
    )
    per = SQLITE_ROWS_PER_INSERT
    whole = len(rows) // per * per
    inserted = 0
    if whole:
        width = 4 * per
        cursor.executemany(_sqlite_insert_sql(per), (flat[i : i + width] for i in range(0, 4 * whole, width)))
        inserted += max(cursor.rowcount, 0)
    if whole < len(rows):
        cursor.execute(_sqlite_insert_sql(len(rows) - whole), flat[4 * whole :])
        inserted += max(cursor.rowcount, 0)
    return inserted


@functools.lru_cache(maxsize=4)
def _sqlite_insert_sql(rows: int) -> str:
    values = ", ".join(["(?, ?, ?, ?)"] * rows)
    return f"INSERT INTO protected_identifiers (prefix, subject_id, rest, kind) VALUES {values} ON CONFLICT DO NOTHING"  # noqa: S608 - placeholders only


def _add_counts(added: dict[int, int], rows: npt.NDArray[Any]) -> None:
    kinds, n = np.unique(rows["kind"], return_counts=True)
    for kind, count in zip(kinds.tolist(), n.tolist(), strict=True):
        added[kind] = added.get(kind, 0) + count


def _buckets(rows: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Each row's bucket: the prefix's top bits, numbered in signed order (negative prefixes first).

    As bytes, so the stable sort by bucket is numpy's radix sort (2M rows: 0.01 s, 0.12 s as intp)."""
    return ((rows["prefix"] >> (64 - BUCKET_BITS)) + (1 << (BUCKET_BITS - 1))).astype(np.uint8)


def _sort_unique(rows: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``rows`` sorted by (prefix, subject, rest), each (digest, subject) once.

    One sort by prefix (full forms almost never share one), then only the runs of equal prefixes
    (mask forms shared by many subjects, duplicates) by subject, and only the rarer runs of equal
    (prefix, subject) by rest as well. The sorts permute an index; the rows are gathered once at the
    end by ``np.take`` (fancy indexing and assignment of these 42-byte records cost 4-10x as much).
    """
    if len(rows) < 2:
        return rows
    prefix, subject = rows["prefix"], rows["subject"]
    order = np.argsort(prefix)
    tie = _ties(prefix[order])
    if tie.any():
        at = _run_members(tie)
        idx = order[at]
        order[at] = idx[_by_run_then(prefix[idx], subject[idx])]
        tie &= _ties(subject[order])
    if not tie.any():
        return np.take(rows, order)
    at = _run_members(tie)
    idx = order[at]
    words = np.frombuffer(np.take(rows["rest"], idx).tobytes(), dtype=">u8").reshape(-1, 3)
    order[at] = idx[np.lexsort((words[:, 2], words[:, 1], words[:, 0], subject[idx], prefix[idx]))]
    rows = np.take(rows, order)
    rest = rows["rest"]
    keep = np.ones(len(rows), dtype=bool)
    keep[1:] = ~(tie & (rest[1:] == rest[:-1]))
    return np.compress(keep, rows)


def _by_run_then(grouped: npt.NDArray[np.int64], values: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """The order that sorts ``values`` within each run of equal ``grouped`` (runs already in order): one
    sort of (run number, value) packed into one integer when both fit in 63 bits (2.5M rows in 30 runs:
    0.6 -> 0.2 s CPU against ``np.lexsort`` of the two keys), else the lexsort."""
    if not len(values):
        return np.empty(0, dtype=np.intp)
    run = np.cumsum(np.concatenate(([False], grouped[1:] != grouped[:-1])))
    low, high = int(values.min()), int(values.max())
    bits = max(high - low, 1).bit_length()
    if bits + int(run[-1]).bit_length() > 63:
        return np.lexsort((values, grouped))
    return np.argsort((run << bits) | (values - low))


def _ties(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """``result[i]``: ``values[i + 1] == values[i]``."""
    return np.asarray(values[1:] == values[:-1])


def _run_members(tie: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """Positions of the rows in a run of equal neighbours (``tie`` as :func:`_ties` gives it)."""
    member = np.zeros(len(tie) + 1, dtype=bool)
    member[1:] |= tie
    member[:-1] |= tie
    return np.flatnonzero(member)


def _mask_groups(rows: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp]]:
    """Mask rows (as :func:`_sort_unique` leaves them) ordered so each digest's rows are one run, its
    subjects ascending, and the start of each run.

    Sorted by (prefix, subject, rest), a run of equal prefixes is one digest unless two digests share
    a prefix (or a digest is under two kinds); only then are the rows sorted again by the whole digest.
    """
    if not len(rows):
        return rows, np.empty(0, dtype=np.intp)
    prefix, rest, kind = rows["prefix"], rows["rest"], rows["kind"]
    same = prefix[1:] == prefix[:-1]
    if (same & ((rest[1:] != rest[:-1]) | (kind[1:] != kind[:-1]))).any():
        words = np.frombuffer(rest.tobytes(), dtype=">u8").reshape(-1, 3)
        rows = np.take(rows, np.lexsort((rows["subject"], kind, words[:, 2], words[:, 1], words[:, 0], prefix)))
        prefix, rest, kind = rows["prefix"], rows["rest"], rows["kind"]
        same = (prefix[1:] == prefix[:-1]) & (rest[1:] == rest[:-1]) & (kind[1:] == kind[:-1])
    starts = np.concatenate(([0], np.flatnonzero(~same) + 1)).astype(np.intp)
    return rows, starts


#: The fixed part of one ``protected_masks`` binary COPY row: 4 fields (prefix int8, rest bytea,
#: kind int2, subjects bytea), each after its byte length; the subjects' bytes follow.
_PGCOPY_MASK = np.dtype(
    [
        ("fields", ">i2"),
        ("prefix_len", ">i4"),
        ("prefix", ">i8"),
        ("rest_len", ">i4"),
        ("rest", "V24"),
        ("kind_len", ">i4"),
        ("kind", ">i2"),
        ("subjects_len", ">i4"),
    ]
)


def _pgcopy_masks(rows: list[MaskRow]) -> bytes:
    """Mask rows as one PostgreSQL binary COPY stream."""
    head = np.zeros(len(rows), dtype=_PGCOPY_MASK)
    head["fields"], head["prefix_len"], head["rest_len"], head["kind_len"] = 4, 8, 24, 2
    head["prefix"] = [r[0] for r in rows]
    head["rest"] = np.frombuffer(b"".join(r[1] for r in rows), dtype="V24")
    head["kind"] = [r[2] for r in rows]
    head["subjects_len"] = [len(r[3]) for r in rows]
    fixed = head.tobytes()
    size = _PGCOPY_MASK.itemsize
    body = b"".join(itertools.chain.from_iterable((fixed[i * size : (i + 1) * size], r[3]) for i, r in enumerate(rows)))
    return _PGCOPY_HEADER + body + _PGCOPY_TRAILER


def _encoded_refs(refs: list[str]) -> tuple[bytes, npt.NDArray[np.int64]] | None:
    """``refs`` as their UTF-8 bytes joined and each one's byte length; None if one holds NUL (a
    ``text`` value cannot, so the insert-or-ignore path reports it)."""
    joined = "".join(refs).encode()
    if b"\x00" in joined:
        return None
    lengths = np.fromiter(map(len, refs), dtype=np.int64, count=len(refs))
    if len(joined) != int(lengths.sum()):  # some ref is not ASCII: count its bytes
        lengths = np.fromiter((len(r.encode()) for r in refs), dtype=np.int64, count=len(refs))
    return joined, lengths


#: The fixed part of a ``subjects`` binary COPY row before its ref: 3 fields (id int8, subject_ref
#: text, created_at timestamptz), the id after its length, then the ref's length; the ref's bytes and
#: the timestamp (its length, microseconds since 2000) follow.
_PGCOPY_SUBJECT = np.dtype([("fields", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("ref_len", ">i4")])


def _pgcopy_subjects(ids: npt.NDArray[np.int64], joined: bytes, lengths: npt.NDArray[np.int64], now: datetime) -> bytes:
    """New subjects as one binary COPY stream, laid out by numpy (the refs' bytes scattered into place):
    a ``struct.pack`` and a join per ref cost about 1 us each."""
    count = len(ids)
    head = np.empty(count, dtype=_PGCOPY_SUBJECT)
    head["fields"], head["id_len"], head["id"], head["ref_len"] = 3, 8, ids, lengths
    stamp = np.frombuffer(struct.pack(">iq", 8, (now - _PG_EPOCH) // timedelta(microseconds=1)), dtype=np.uint8)
    fixed = _PGCOPY_SUBJECT.itemsize
    if count and int(lengths.min()) == int(lengths.max()):  # refs of one width (the usual case): a matrix
        width = int(lengths[0])
        rows = np.empty((count, fixed + width + len(stamp)), dtype=np.uint8)
        rows[:, :fixed] = head.view(np.uint8).reshape(count, fixed)
        rows[:, fixed : fixed + width] = np.frombuffer(joined, dtype=np.uint8).reshape(count, width)
        rows[:, fixed + width :] = stamp
        return _PGCOPY_HEADER + rows.tobytes() + _PGCOPY_TRAILER
    sizes = fixed + lengths + len(stamp)
    starts = np.zeros(count, dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    out = np.empty(len(_PGCOPY_HEADER) + int(sizes.sum()) + len(_PGCOPY_TRAILER), dtype=np.uint8)
    out[: len(_PGCOPY_HEADER)] = np.frombuffer(_PGCOPY_HEADER, dtype=np.uint8)
    out[len(out) - len(_PGCOPY_TRAILER) :] = np.frombuffer(_PGCOPY_TRAILER, dtype=np.uint8)
    starts += len(_PGCOPY_HEADER)
    out[starts[:, None] + np.arange(fixed)] = head.view(np.uint8).reshape(count, fixed)
    ref_starts = starts + fixed
    shift = np.repeat(ref_starts - (np.cumsum(lengths) - lengths), lengths)
    out[np.arange(len(joined), dtype=np.int64) + shift] = np.frombuffer(joined, dtype=np.uint8)
    out[(ref_starts + lengths)[:, None] + np.arange(len(stamp))] = stamp
    return out.tobytes()


def _pgcopy_rows(rows: npt.NDArray[Any]) -> memoryview:
    """``rows`` as one PostgreSQL binary COPY stream, laid out by numpy in one buffer (no Python object
    per row, no copy of the stream: 500k rows 0.06-0.09 -> 0.03 s against the fields assigned into a
    record array, turned into bytes and framed)."""
    count, size, head = len(rows), _PGCOPY_ROW.itemsize, len(_PGCOPY_HEADER)
    buf = np.empty(head + count * size + len(_PGCOPY_TRAILER), dtype=np.uint8)
    buf[:head] = np.frombuffer(_PGCOPY_HEADER, dtype=np.uint8)
    buf[head + count * size :] = np.frombuffer(_PGCOPY_TRAILER, dtype=np.uint8)
    body = buf[head : head + count * size]
    matrix = body.reshape(count, size)
    matrix[:] = _PGCOPY_ROW_TEMPLATE
    out = body.view(_PGCOPY_ROW)
    out["prefix"], out["subject"], out["kind"] = rows["prefix"], rows["subject"], rows["kind"]
    source = np.ascontiguousarray(rows).view(np.uint8).reshape(count, ROW.itemsize)
    rest_from, rest_to = _field_offset(ROW, "rest"), _field_offset(_PGCOPY_ROW, "rest")
    matrix[:, rest_to : rest_to + 24] = source[:, rest_from : rest_from + 24]
    return buf.data


def _field_offset(dtype: np.dtype[Any], name: str) -> int:
    return int(cast(Any, dtype.fields)[name][1])


def _pgcopy_row_template() -> npt.NDArray[np.uint8]:
    """One binary COPY row with its field count and lengths set (values zero)."""
    row = np.zeros(1, dtype=_PGCOPY_ROW)
    row["fields"], row["prefix_len"], row["subject_len"], row["kind_len"], row["rest_len"] = 4, 8, 8, 2, 24
    return row.view(np.uint8)


_PGCOPY_ROW_TEMPLATE = _pgcopy_row_template()


def digest_count(session: Session) -> int:
    """(digest, subject) pairs in the whole set (the loader's exact kind counts; mask rows count each subject)."""
    return int(session.scalar(select(func.sum(ProtectedKind.digests))) or 0)


def _key_kinds(session: Session, key_id: str) -> list[int]:
    return list(session.scalars(select(ProtectedKind.kind).where(ProtectedKind.key_id == key_id)))


def index_arrays(session: Session, key_id: str, *, batch: int = 500_000) -> tuple[np.ndarray, np.ndarray]:
    """The set under ``key_id`` as (uint64 big-endian digest prefixes, uint32 subject ids).

    The pairs are written into arrays sized once from the set's kind counts (full forms, then a pair
    per subject of each mask digest): a list of parts joined at the end held the parts and the whole
    at once, 24 bytes a pair."""
    kinds = _key_kinds(session, key_id)
    if not kinds:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.uint32)
    expected = session.scalar(select(func.sum(ProtectedKind.digests)).where(ProtectedKind.kind.in_(kinds)))
    pairs = _Pairs(int(expected or 0))
    if session.get_bind().dialect.name == "sqlite":
        _index_arrays_sqlite(session, kinds, batch, pairs)
    else:
        _index_arrays_postgres(session, kinds, pairs)
    _mask_pairs(session, kinds, pairs)
    return pairs.arrays()


class _Pairs:
    """(prefix, subject) pairs appended in place; grows (doubling) only if the expected count fell short."""

    def __init__(self, expected: int) -> None:
        self.prefixes = np.empty(expected, dtype=np.uint64)
        self.subjects = np.empty(expected, dtype=np.uint32)
        self.size = 0

    def add(self, prefixes: npt.NDArray[Any], subjects: npt.NDArray[Any]) -> None:
        """Append: any integer dtype and byte order (signed prefixes keep their 64 bits)."""
        end = self.size + len(prefixes)
        if end > len(self.prefixes):
            grown = max(end, 2 * len(self.prefixes))
            for name, dtype in (("prefixes", np.uint64), ("subjects", np.uint32)):
                larger = np.empty(grown, dtype=dtype)
                larger[: self.size] = getattr(self, name)[: self.size]
                setattr(self, name, larger)
        wide = prefixes.astype(np.uint64 if prefixes.dtype.kind == "u" else np.int64, copy=False)
        self.prefixes[self.size : end] = wide.view(np.uint64)
        self.subjects[self.size : end] = subjects
        self.size = end

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self.size == len(self.prefixes):
            return self.prefixes, self.subjects
        return self.prefixes[: self.size].copy(), self.subjects[: self.size].copy()


def _mask_pairs(session: Session, kinds: list[int], pairs: _Pairs) -> None:
    """The mask digests under ``kinds`` as (prefix, subject) pairs, a pair per subject a digest lists.

    Streamed (a mask of a dump's common e-mail domain lists every subject: one row of 8 MB per 1M)."""
    table = cast(Table, ProtectedMask.__table__)
    query = select(table.c.prefix, table.c.subjects).where(table.c.kind.in_(kinds))
    for prefix, subjects in session.connection().execute(query.execution_options(stream_results=True, yield_per=64)):
        ids = np.frombuffer(subjects, dtype=_SUBJECTS)
        pairs.add(np.full(len(ids), prefix, dtype=np.int64), ids)


#: One row of the SQLite fast path: the 8-byte prefix and the subject id, both big-endian.
_PACKED = np.dtype([("prefix", ">u8"), ("subject", ">u4")])


def _index_arrays_sqlite(session: Session, kinds: list[int], batch: int, pairs: _Pairs) -> None:
    """SQLite packs each prefix range into one hex string (prefix and subject id side by side per row):
    two C-level conversions instead of a Python tuple per row."""
    connection = session.connection()
    total = int(session.scalar(select(func.sum(ProtectedKind.digests))) or 0)
    bits = max(0, min(16, (total // max(batch, 1)).bit_length()))
    kind_list = ",".join(str(int(k)) for k in kinds)
    packed = text(
        "SELECT group_concat(printf('%016X%08X', prefix, subject_id), '') FROM protected_identifiers "  # noqa: S608 - integers only
        f"WHERE prefix >= :low AND prefix <= :high AND kind IN ({kind_list})"
    )
    step = 1 << (64 - bits)
    for low in range(-(1 << 63), 1 << 63, step):
        hexed = connection.execute(packed, {"low": low, "high": low + step - 1}).scalar()
        if hexed:
            rows = np.frombuffer(bytes.fromhex(hexed), dtype=_PACKED)
            pairs.add(rows["prefix"], rows["subject"])


def _index_arrays_postgres(session: Session, kinds: list[int], pairs: _Pairs) -> None:
    """PostgreSQL sends (prefix, subject id) as binary ``COPY`` records, parsed by numpy as they come.

    Slices of about 4 MiB become arrays at once: holding the whole stream first (its blocks, their
    join and the body sliced off it: three copies of 26 bytes a digest) made 11M digests cost about
    900 MB on top of the index (the 1M-user PostgreSQL scan peaked at 1,969 MB).
    """
    raw: Any = session.connection().connection.dbapi_connection
    query = "COPY (SELECT prefix, subject_id FROM protected_identifiers WHERE kind IN ({})) TO STDOUT (FORMAT BINARY)"
    size = _PGCOPY_PAIR.itemsize
    pending = bytearray()
    header = len(_PGCOPY_HEADER)

    def parse(count: int) -> None:
        rows = np.frombuffer(pending, dtype=_PGCOPY_PAIR, count=count, offset=header)
        pairs.add(rows["prefix"], rows["subject"])
        del rows  # releases the buffer before it is cut
        del pending[header : header + count * size]

    with raw.cursor() as cursor, cursor.copy(query.format(",".join(str(int(k)) for k in kinds))) as copy:
        for block in copy:
            pending += block
            if len(pending) - header >= _COPY_SLICE:
                parse((len(pending) - header) // size)
    count = (len(pending) - header - len(_PGCOPY_TRAILER)) // size
    if count > 0:
        parse(count)


#: Bytes of binary COPY records parsed at a time (:func:`_index_arrays_postgres`).
_COPY_SLICE = 4 << 20


#: One row of :func:`digest_rows`' SQLite path: prefix, subject id and the other 24 bytes, big-endian.
_PACKED_ROW = np.dtype([("prefix", ">u8"), ("subject", ">u4"), ("rest", "V24")])
#: One row of ``COPY (SELECT prefix, subject_id, rest ...) TO STDOUT (FORMAT BINARY)``.
_PGCOPY_TRIPLE = np.dtype(
    [
        ("fields", ">i2"),
        ("prefix_len", ">i4"),
        ("prefix", ">i8"),
        ("subject_len", ">i4"),
        ("subject", ">i8"),
        ("rest_len", ">i4"),
        ("rest", "V24"),
    ]
)
#: (unsigned prefixes, subject ids, the other 24 bytes as an n x 24 uint8 array)
DigestRows = tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], npt.NDArray[np.uint8]]


def _triples(prefixes: npt.NDArray[Any], subjects: npt.NDArray[Any], rests: npt.NDArray[Any]) -> DigestRows:
    wide = prefixes.astype(np.uint64 if prefixes.dtype.kind == "u" else np.int64).view(np.uint64)
    tails = np.frombuffer(rests.tobytes(), dtype=np.uint8).reshape(-1, 24)
    return wide, subjects.astype(np.int64), tails


def digest_rows(session: Session, key_id: str, *, batch: int = 500_000) -> Iterator[DigestRows]:
    """The full-form digests under ``key_id`` with their subjects, a slice at a time (what the
    confirmation store of :mod:`matchers.confirm` is built from; :func:`index_arrays` reads the pairs)."""
    kinds = _key_kinds(session, key_id)
    if not kinds:
        return
    kind_list = ",".join(str(int(k)) for k in kinds)
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        total = int(session.scalar(select(func.sum(ProtectedKind.digests))) or 0)
        bits = max(0, min(16, (total // max(batch, 1)).bit_length()))
        packed = text(
            "SELECT group_concat(printf('%016X%08X', prefix, subject_id) || hex(rest), '') "  # noqa: S608 - integers only
            f"FROM protected_identifiers WHERE prefix >= :low AND prefix <= :high AND kind IN ({kind_list})"
        )
        step = 1 << (64 - bits)
        for low in range(-(1 << 63), 1 << 63, step):
            hexed = connection.execute(packed, {"low": low, "high": low + step - 1}).scalar()
            if hexed:
                rows = np.frombuffer(bytes.fromhex(hexed), dtype=_PACKED_ROW)
                yield _triples(rows["prefix"], rows["subject"], rows["rest"])
        return
    raw: Any = connection.connection.dbapi_connection
    query = (
        "COPY (SELECT prefix, subject_id, rest FROM protected_identifiers "  # noqa: S608 - integers only
        f"WHERE kind IN ({kind_list})) TO STDOUT (FORMAT BINARY)"
    )
    size = _PGCOPY_TRIPLE.itemsize
    pending = bytearray()
    header = len(_PGCOPY_HEADER)
    with raw.cursor() as cursor, cursor.copy(query) as copy:
        for block in copy:
            pending += block
            if len(pending) - header >= _COPY_SLICE:
                count = (len(pending) - header) // size
                rows = np.frombuffer(bytes(pending[header : header + count * size]), dtype=_PGCOPY_TRIPLE)
                del pending[header : header + count * size]
                yield _triples(rows["prefix"], rows["subject"], rows["rest"])
    count = (len(pending) - header - len(_PGCOPY_TRAILER)) // size
    if count > 0:
        rows = np.frombuffer(bytes(pending[header : header + count * size]), dtype=_PGCOPY_TRIPLE)
        yield _triples(rows["prefix"], rows["subject"], rows["rest"])


def mask_digests(session: Session, key_id: str) -> Iterator[tuple[int, bytes, npt.NDArray[np.int64]]]:
    """The mask-form digests under ``key_id``: (unsigned prefix, the other 24 bytes, sorted subject ids)."""
    kinds = _key_kinds(session, key_id)
    if not kinds:
        return
    table = cast(Table, ProtectedMask.__table__)
    query = select(table.c.prefix, table.c.rest, table.c.subjects).where(table.c.kind.in_(kinds))
    for prefix, rest, subjects in session.connection().execute(
        query.execution_options(stream_results=True, yield_per=64)
    ):
        yield prefix % (1 << 64), bytes(rest), np.frombuffer(bytes(subjects), dtype=_SUBJECTS).astype(np.int64)


def prefix_rows(session: Session, key_id: str, prefixes: Sequence[int]) -> list[tuple[int, bytes, int]]:
    """Every (unsigned prefix, other 24 bytes, subject id) under ``key_id`` with one of the unsigned ``prefixes``."""
    kinds = _key_kinds(session, key_id)
    signed = [p - (1 << 64) if p >= 1 << 63 else p for p in prefixes]
    out: list[tuple[int, bytes, int]] = []
    table = cast(Table, ProtectedIdentifier.__table__)
    masks = cast(Table, ProtectedMask.__table__)
    for start in range(0, len(signed), CONFIRM_BATCH):
        wanted = signed[start : start + CONFIRM_BATCH]
        query = select(table.c.prefix, table.c.rest, table.c.subject_id).where(
            table.c.prefix.in_(wanted), table.c.kind.in_(kinds)
        )
        for prefix, rest, subject in session.connection().execute(query):
            out.append((prefix % (1 << 64), bytes(rest), int(subject)))
        mask_query = select(masks.c.prefix, masks.c.rest, masks.c.subjects).where(
            masks.c.prefix.in_(wanted), masks.c.kind.in_(kinds)
        )
        for prefix, rest, subjects in session.connection().execute(mask_query):
            for subject in np.frombuffer(bytes(subjects), dtype=_SUBJECTS).tolist():
                out.append((prefix % (1 << 64), bytes(rest), int(subject)))
    return out


def set_types(session: Session, key_id: str) -> frozenset[str]:
    """The identifier types the set under ``key_id`` holds (a type it lacks need not be scanned for)."""
    query = select(ProtectedKind.id_type).where(ProtectedKind.key_id == key_id, ProtectedKind.digests > 0)
    return frozenset(session.scalars(query))


def _write_summary(session: Session) -> None:
    """Rewrite ``protected_sets`` after a load: every key with digests, under a fresh version."""
    per_key = session.execute(
        select(ProtectedKind.key_id, func.sum(ProtectedKind.digests))
        .where(ProtectedKind.digests > 0)
        .group_by(ProtectedKind.key_id)
    ).all()
    session.execute(delete(ProtectedSet))
    if not per_key:  # an empty set holds no key
        return
    version = secrets.token_hex(16)
    session.execute(
        insert(ProtectedSet),
        [{"key_id": key, "version": version, "digests": int(n)} for key, n in sorted(per_key)],
    )


def set_key_ids(session: Session) -> set[str]:
    """The key ids the set's digests were made with (from the summary: the loader is the set's only writer)."""
    return set(session.scalars(select(ProtectedSet.key_id)))


def set_fingerprint(session: Session, key_id: str) -> str:
    """Changes whenever the set under ``key_id`` changes (every load writes a new version token)."""
    row = session.execute(
        select(ProtectedSet.version, ProtectedSet.digests).where(ProtectedSet.key_id == key_id)
    ).first()
    return f"{key_id}:empty" if row is None else f"{key_id}:{row.version}:{row.digests}"


def confirm_digests(session: Session, digests: Iterable[bytes]) -> dict[bytes, tuple[int, ...]]:
    """Full-digest confirmation of index hits: digest -> the subjects that truly hold it.

    The prefix finds the candidate rows through the primary keys of both tables (full-form rows and
    mask rows); the other 24 bytes decide."""
    by_prefix: dict[int, list[bytes]] = {}
    for digest in dict.fromkeys(digests):
        by_prefix.setdefault(int.from_bytes(digest[:8], "big", signed=True), []).append(digest)
    found: dict[bytes, list[int]] = {}
    table = cast(Table, ProtectedIdentifier.__table__)
    masks = cast(Table, ProtectedMask.__table__)
    query = select(table.c.prefix, table.c.rest, table.c.subject_id).where(
        table.c.prefix.in_(bindparam("wanted", expanding=True))
    )
    mask_query = select(masks.c.prefix, masks.c.rest, masks.c.subjects).where(
        masks.c.prefix.in_(bindparam("wanted", expanding=True))
    )
    connection = session.connection()  # Core, not the ORM: this runs for every index hit of a scan
    prefixes = list(by_prefix)
    for start in range(0, len(prefixes), CONFIRM_BATCH):
        wanted = {"wanted": prefixes[start : start + CONFIRM_BATCH]}
        for prefix, rest, subject_id in connection.execute(query, wanted):
            digest = join_digest(prefix, rest)
            if digest in by_prefix[prefix]:
                found.setdefault(digest, []).append(subject_id)
        for prefix, rest, subjects in connection.execute(mask_query, wanted):
            digest = join_digest(prefix, rest)
            if digest in by_prefix[prefix]:
                found.setdefault(digest, []).extend(np.frombuffer(bytes(subjects), dtype=_SUBJECTS).tolist())
    return {digest: tuple(sorted(set(ids))) for digest, ids in found.items()}


def confirm_pairs(session: Session, pairs: Iterable[tuple[bytes, int]]) -> set[tuple[bytes, int]]:
    """The (digest, subject) pairs the set truly holds: :func:`confirm_digests` for given subjects only.

    A weak value (a name) counts only for the subjects of the strong values beside it, and a common
    name is held by thousands of subjects: confirming the digest alone reads every holder's row
    (in a dump of N users, each name's holders grow with N, so matching grew with N squared). Each
    pair is one seek of the primary key (prefix, subject_id, rest) through a joined VALUES list
    (an ``IN`` of row values makes SQLite scan the table). Positional parameters straight to the
    driver: this runs for every record holding a name.
    """
    wanted: dict[tuple[int, int], list[bytes]] = {}
    for digest, subject in dict.fromkeys(pairs):
        wanted.setdefault((int.from_bytes(digest[:8], "big", signed=True), subject), []).append(digest)
    found: set[tuple[bytes, int]] = set()
    keys = list(wanted)
    connection = session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    step = CONFIRM_BATCH // 2  # two parameters a pair
    for start in range(0, len(keys), step):
        chunk = keys[start : start + step]
        params = tuple(value for pair in chunk for value in pair)
        for prefix, subject_id, rest in connection.exec_driver_sql(_pairs_query(len(chunk), marker), params):
            digest = join_digest(prefix, rest)
            if digest in wanted.get((prefix, subject_id), ()):
                found.add((digest, subject_id))
    # Mask-form digests (a name's "김*연") are one row each with their sorted subjects: read each wanted
    # prefix's rows once and look the subjects up in them (a blob of 8 bytes a holder, not a row each).
    by_prefix: dict[int, list[tuple[bytes, int]]] = {}
    for (prefix, subject), digests in wanted.items():
        for digest in digests:
            by_prefix.setdefault(prefix, []).append((digest, subject))
    masks = cast(Table, ProtectedMask.__table__)
    mask_query = select(masks.c.prefix, masks.c.rest, masks.c.subjects).where(
        masks.c.prefix.in_(bindparam("wanted", expanding=True))
    )
    prefixes = list(by_prefix)
    for start in range(0, len(prefixes), CONFIRM_BATCH):
        for prefix, rest, subjects in connection.execute(
            mask_query, {"wanted": prefixes[start : start + CONFIRM_BATCH]}
        ):
            digest = join_digest(prefix, rest)
            asked = [s for d, s in by_prefix[prefix] if d == digest]
            if not asked:
                continue
            held = np.frombuffer(bytes(subjects), dtype=_SUBJECTS)
            at = np.searchsorted(held, asked)
            for subject, i in zip(asked, at.tolist(), strict=True):
                if i < len(held) and int(held[i]) == subject:
                    found.add((digest, subject))
    return found


@functools.lru_cache(maxsize=8)
def _pairs_query(n: int, marker: str) -> str:
    """``WITH wanted (p, s) AS (VALUES ...)`` joined to the set's primary key, for ``n`` pairs."""
    row = f"(CAST({marker} AS BIGINT), CAST({marker} AS BIGINT))"
    return (
        f"WITH wanted (p, s) AS (VALUES {', '.join([row] * n)}) "  # noqa: S608 - placeholders only
        "SELECT t.prefix, t.subject_id, t.rest FROM wanted "
        "JOIN protected_identifiers t ON t.prefix = wanted.p AND t.subject_id = wanted.s"
    )


def subject_refs(session: Session, subject_ids: Iterable[int]) -> dict[int, str]:
    """Opaque references of internal subject ids (Core queries of up to CONFIRM_BATCH ids)."""
    ids = list(set(subject_ids))
    refs: dict[int, str] = {}
    table = cast(Table, Subject.__table__)
    query = select(table.c.id, table.c.subject_ref).where(table.c.id.in_(bindparam("ids", expanding=True)))
    connection = session.connection()
    for start in range(0, len(ids), CONFIRM_BATCH):
        for subject_id, ref in connection.execute(query, {"ids": ids[start : start + CONFIRM_BATCH]}):
            refs[subject_id] = ref
    return refs


def set_stats(session: Session) -> Iterator[tuple[str, str, str, int]]:
    """(key_id, id_type, form, count) for `protect stats` (the loader's exact counts)."""
    rows = session.execute(
        select(ProtectedKind.key_id, ProtectedKind.id_type, ProtectedKind.form, ProtectedKind.digests)
        .where(ProtectedKind.digests > 0)
        .order_by(ProtectedKind.key_id, ProtectedKind.id_type, ProtectedKind.form)
    )
    for key_id, id_type, form, count in rows:
        yield key_id, id_type, form, int(count)


def subject_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Subject)) or 0)
