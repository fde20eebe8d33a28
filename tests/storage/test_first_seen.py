"""Subjects' first sightings (the console's new-subjects chart): kept by the store, one row per subject
and day, read instead of every hit, honouring triage labels, gone with the subject; migration exports_0009
fills them from stored hits, firstseen_0010 moves them to one row per subject and day and back."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, event, text

import storage.repositories.hits as hits_module
from storage.db import make_engine, make_sessionmaker
from storage.migrate import alembic_config, upgrade
from storage.models.cases import EXCLUDING_LABELS, HitLabel
from storage.models.core import HitRecord, Post, Subject
from storage.repositories import first_seen
from storage.repositories.charts import new_subjects_per_day
from storage.repositories.hits import HitRow, store_hits
from tests.leakmon.workflows.world import Db, open_db
from tests.storage.migrations import insert_hit, migrate

DAY = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=3)
SINCE = DAY - timedelta(days=10)


@pytest.fixture
def db(db_url: str) -> Db:
    return open_db(db_url)


def _new(db: Db, by: str = "source", since: datetime = SINCE) -> list[tuple[date, str, int]]:
    with db.sessions() as session:
        return new_subjects_per_day(session, since=since, by=by, excluded=EXCLUDING_LABELS)  # type: ignore[arg-type]


def _row(subject_id: int, id_type: str, digest: int) -> HitRow:
    return HitRow(
        None, "chan", "text:line 1", id_type, "full", digest.to_bytes(32, "big"), "k", subject_id, subject_id, 1,
        "exact", "none", 0.9, "***", "{}",
    )  # fmt: skip


def test_the_store_keeps_each_subjects_first_sighting(db: Db) -> None:
    with db.world() as w:
        first, second = w.subject("cust-1").id, w.subject("cust-2").id
        post = w.post("chan", "1", at=DAY)
        store_hits(w.session, post.id, [[_row(first, "phone", 1), _row(first, "email", 2)]], DAY)
        later = w.post("chan", "2", at=DAY + timedelta(days=1))
        rows = [_row(first, "phone", 1), _row(second, "phone", 3)]
        store_hits(w.session, later.id, [rows[:1], rows[1:]], DAY + timedelta(days=1))
        early = w.post("chan", "3", at=DAY - timedelta(days=1))  # a sighting stored late, dated earlier
        store_hits(w.session, early.id, [[_row(second, "phone", 3)]], DAY - timedelta(days=1))
    assert _new(db) == [(DAY.date() - timedelta(days=1), "chan", 1), (DAY.date(), "chan", 1)]
    assert _new(db, "id_type") == [
        (DAY.date() - timedelta(days=1), "phone", 1),
        (DAY.date(), "email", 1),
        (DAY.date(), "phone", 1),
    ]
    assert _new(db, since=DAY) == [(DAY.date(), "chan", 1)]  # cust-2 was first seen the day before


def test_a_record_outlives_purged_hits_and_goes_with_the_subject(db: Db) -> None:
    with db.world() as w:
        old = w.post("chan", "1", at=DAY - timedelta(days=30))
        w.ingest(old, [w.hit(old, "cust-1", "phone")])
        new = w.post("chan", "2", at=DAY)
        w.ingest(new, [w.hit(new, "cust-1", "phone"), w.hit(new, "cust-2", "phone")])
    with db.sessions.begin() as session:  # retention deletes the old sighting's hits
        session.execute(delete(HitRecord).where(HitRecord.first_seen < DAY - timedelta(days=20)))
    # cust-1 is not new on DAY (it was seen 30 days ago); recounting the hits left said it was
    assert _new(db) == [(DAY.date(), "chan", 1)]
    with db.sessions.begin() as session:
        session.execute(delete(Subject).where(Subject.subject_ref == "cust-2"))
    assert _new(db) == []
    with db.engine.connect() as connection:
        assert (
            connection.execute(text("SELECT count(*) FROM subject_first_seen")).scalar_one() == 1
        )  # cust-1: one day, its source and type


def test_an_excluded_first_sighting_moves_the_subjects_day(db: Db) -> None:
    with db.world() as w:
        first = w.post("chan", "1", at=DAY - timedelta(days=2))
        fp = w.hit(first, "cust-1", "phone")
        w.ingest(first, [fp])
        second = w.post("chan", "2", at=DAY)
        w.ingest(second, [w.hit(second, "cust-1", "phone"), w.hit(second, "cust-2", "phone")])
        fp_id = fp.id
    assert _new(db) == [(DAY.date() - timedelta(days=2), "chan", 1), (DAY.date(), "chan", 1)]
    with db.sessions.begin() as session:
        session.add(HitLabel(hit_id=fp_id, label="false_positive", actor="analyst", created_at=DAY))
    assert _new(db) == [(DAY.date(), "chan", 2)]  # cust-1's first effective sighting is DAY now
    with db.sessions.begin() as session:
        session.add(HitLabel(hit_id=fp_id, label="confirmed", actor="analyst", created_at=DAY))
    assert _new(db) == [(DAY.date() - timedelta(days=2), "chan", 1), (DAY.date(), "chan", 1)]


def test_migration_fills_first_sightings_from_stored_hits_and_downgrades(db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
        command.downgrade(config, "store_0008_hits_pg_parents")
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        subjects = [Subject(subject_ref=f"cust-{i}", created_at=DAY) for i in range(2)]
        session.add_all(subjects)
        posts = [
            Post(source=source, external_id=str(i), venue="telegram", first_seen=DAY, last_seen=DAY, versions=1,
                 content_hash="h", status="ok")
            for i, source in enumerate(("chan", "chan", "forum"))
        ]  # fmt: skip
        session.add_all(posts)
        session.flush()
        for n, (post, subject, id_type, at) in enumerate(
            [
                (posts[0], subjects[0], "phone", DAY),
                (posts[1], subjects[0], "phone", DAY - timedelta(days=1)),
                (posts[1], subjects[0], "email", DAY),
                (posts[2], subjects[1], "phone", DAY),
                (posts[2], None, "phone", DAY),  # a partial hit: no subject, no first sighting
            ]
        ):
            row = HitRow(
                attachment_sha256=None, source=post.source, locator="x", id_type=id_type, form="full",
                digest=n.to_bytes(32, "big"), key_id="k", subject_id=subject.id if subject else None,
                subject_slot=subject.id if subject else 0, compatible_subjects=1, match_kind="exact",
                obfuscation="none", confidence=0.9, masked="***", explanation="{}",
            )  # fmt: skip
            insert_hit(session.connection(), post.id, row, at)  # the schema of then: no identity key (store_0010)
    upgrade(engine)
    engine.dispose()
    db = open_db(db_url)
    yesterday = DAY.date() - timedelta(days=1)
    assert _new(db) == [(yesterday, "chan", 1), (DAY.date(), "forum", 1)]
    assert _new(db, "id_type") == [(yesterday, "phone", 1), (DAY.date(), "email", 1), (DAY.date(), "phone", 1)]
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "store_0008_hits_pg_parents")
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM subjects"))  # the trigger went with the table
        tables = connection.execute(text("SELECT count(*) FROM hits WHERE subject_id IS NOT NULL")).scalar_one()
    assert tables == 0
    db.engine.dispose()


#: A history of sightings: posts in the order they are stored, each (source, [(subject, type, day offset)]).
#: Offsets are days before DAY; posts stored later hold sightings dated earlier, a post spans two days,
#: a same-day post adds a type to a subject's row, a partial hit has no subject.
HISTORY: list[tuple[str, list[tuple[str | None, str, int]]]] = [
    ("chan", [("a", "phone", 0), ("a", "email", 0), ("b", "phone", 0), ("c", "name", 0)]),
    ("chan", [("a", "name", 0), ("b", "phone", 0)]),  # same day: a's row gains a type, b's nothing
    ("forum", [("a", "phone", 2), ("b", "email", 0), ("c", "name", 3)]),  # stored later, dated earlier
    ("chan", [("b", "phone", 1), ("b", "email", 4), ("d", "phone", 0), ("d", "email", 1)]),  # two days
    ("forum", [(None, "phone", 5), ("e", "rrn", 1)]),
    ("chan", [("c", "name", 4), ("c", "phone", 4)]),  # moves all of c's earlier rows' chan and name
]


def _expected(history: list[tuple[str, list[tuple[str | None, str, int]]]], by: str) -> list[tuple[date, str, int]]:
    """The chart's figures counted straight from the sightings (no labels)."""
    first: dict[tuple[str, str], date] = {}
    for source, sightings in history:
        for subject, id_type, back in sightings:
            if subject is None:
                continue
            key = source if by == "source" else id_type
            day = DAY.date() - timedelta(days=back)
            first[(subject, key)] = min(day, first.get((subject, key), day))
    return sorted((d, k, n) for (d, k), n in Counter((d, k) for (_s, k), d in first.items()).items())


def _store(db: Db, history: list[tuple[str, list[tuple[str | None, str, int]]]], prefix: str = "") -> None:
    with db.world() as w:
        for n, (source, sightings) in enumerate(history):
            post = w.post(source, f"{prefix}{n}-{uuid.uuid4().hex}", at=DAY)
            hits = [
                w.hit(
                    post, f"{prefix}{s}" if s else None, t, at=DAY - timedelta(days=back), label=f"{prefix}{s}{t}{back}"
                )
                for s, t, back in sightings
            ]
            w.ingest(post, hits)


def _rows(db: Db) -> dict[int, list[tuple[str, list[str], list[str]]]]:
    with db.engine.connect() as connection:
        found = connection.execute(text("SELECT subject_id, day, sources, types FROM subject_first_seen"))
        rows: dict[int, list[tuple[str, list[str], list[str]]]] = {}
        for s, d, sources, types in found:
            rows.setdefault(s, []).append((str(d)[:10], sorted(json.loads(sources)), sorted(json.loads(types))))
    return {s: sorted(r) for s, r in rows.items()}


def test_one_row_per_subject_and_day_whatever_the_storing_order(db: Db) -> None:
    """Each source and type of a subject is in one row, that of its earliest sighting's day: a sighting
    stored later but dated earlier moves it to the earlier day's row (a row left empty goes)."""
    _store(db, HISTORY)
    for by in ("source", "id_type"):
        assert _new(db, by) == _expected(HISTORY, by)
    with db.sessions() as session:
        ids = {s.subject_ref: s.id for s in session.query(Subject)}
    day = {back: (DAY.date() - timedelta(days=back)).isoformat() for back in range(6)}
    rows = _rows(db)
    assert rows[ids["a"]] == [(day[2], ["forum"], ["phone"]), (day[0], ["chan"], ["email", "name"])]
    assert rows[ids["c"]] == [(day[4], ["chan"], ["name", "phone"]), (day[3], ["forum"], [])]
    assert rows[ids["d"]] == [(day[1], ["chan"], ["email"]), (day[0], [], ["phone"])]
    assert len(rows) == 5  # a, b, c, d, e: the partial hit has no subject


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_figures_do_not_depend_on_the_storing_order(db: Db, seed: int) -> None:
    shuffled = HISTORY[:]
    random.Random(seed).shuffle(shuffled)
    _store(db, shuffled)
    assert _new(db, "source") == _expected(HISTORY, "source")
    assert _new(db, "id_type") == _expected(HISTORY, "id_type")


def test_a_subject_seen_again_later_adds_only_what_is_new(db: Db) -> None:
    first = [("chan", [("a", "phone", 3), ("a", "email", 3)])]
    _store(db, first)
    before = _rows(db)
    _store(db, [("chan", [("a", "phone", 0), ("a", "email", 1)])])  # nothing new: no write
    assert _rows(db) == before
    _store(db, [("chan", [("a", "phone", 1)])])  # a part of what is known (not the same set)
    assert _rows(db) == before
    _store(db, [("forum", [("a", "phone", 0), ("a", "name", 0)])])
    (rows,) = _rows(db).values()
    day = {back: (DAY.date() - timedelta(days=back)).isoformat() for back in (0, 3)}
    assert rows == [(day[3], ["chan"], ["email", "phone"]), (day[0], ["forum"], ["name"])]


def _old_figures(connection: Any, kind: int) -> list[tuple[date, str, int]]:
    """What exports_0009's chart counted: its rows of ``kind`` per (UTC) day and key."""
    day = "(first_seen AT TIME ZONE 'UTC')::date" if connection.dialect.name == "postgresql" else "date(first_seen)"
    found = connection.execute(
        text(f"SELECT {day}, key, count(*) FROM subject_first_seen WHERE kind = :k GROUP BY 1, 2"),  # noqa: S608
        {"k": kind},
    )
    return sorted((d if isinstance(d, date) else date.fromisoformat(d), k, n) for d, k, n in found)


def test_the_migration_keeps_the_figures_of_rows_stored_both_ways(db_url: str) -> None:
    """Rows exports_0009 kept (one per subject and source or type) read the same after firstseen_0010
    as rows the new fold stores, and as the sightings themselves; the downgrade gives them back."""
    engine = make_engine(db_url)
    migrate(engine, "upgrade", "exports_0009_subject_first_seen")
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        subjects = {ref: Subject(subject_ref=f"old-{ref}", created_at=DAY) for ref in "abcde"}
        session.add_all(subjects.values())
        session.flush()
        for n, (source, sightings) in enumerate(HISTORY):
            post = Post(source=source, external_id=f"old{n}", venue="telegram", first_seen=DAY, last_seen=DAY,
                        versions=1, content_hash="h", status="ok")  # fmt: skip
            session.add(post)
            session.flush()
            for m, (ref, id_type, back) in enumerate(sightings):
                subject = subjects[ref] if ref else None
                row = HitRow(
                    attachment_sha256=None, source=source, locator="x", id_type=id_type, form="full",
                    digest=(n * 100 + m).to_bytes(32, "big"), key_id="k", subject_id=subject.id if subject else None,
                    subject_slot=subject.id if subject else 0, compatible_subjects=1, match_kind="exact",
                    obfuscation="none", confidence=0.9, masked="***", explanation="{}",
                )  # fmt: skip
                insert_hit(session.connection(), post.id, row, DAY - timedelta(days=back))  # no identity key then
    # exports_0009's own fill (the hits above were stored before it) ...
    migrate(engine, "downgrade", "store_0008_hits_pg_parents")
    migrate(engine, "upgrade", "exports_0009_subject_first_seen")
    with engine.connect() as connection:
        old = {by: _old_figures(connection, kind) for by, kind in (("source", 0), ("id_type", 1))}
        old_rows = sorted(
            tuple(r) for r in connection.execute(text("SELECT subject_id, kind, key FROM subject_first_seen"))
        )
    assert old == {by: _expected(HISTORY, by) for by in ("source", "id_type")}
    engine.dispose()
    db = open_db(db_url)  # ... moved by firstseen_0010
    for by in ("source", "id_type"):
        assert _new(db, by) == old[by]
    _store(db, HISTORY, prefix="new-")  # the same sightings through the new fold, other subjects
    for by in ("source", "id_type"):
        assert _new(db, by) == [(d, k, 2 * n) for d, k, n in old[by]]
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM subjects WHERE subject_ref LIKE 'new-%'"))
    migrate(db.engine, "downgrade", "exports_0009_subject_first_seen")
    with db.engine.connect() as connection:
        assert {by: _old_figures(connection, kind) for by, kind in (("source", 0), ("id_type", 1))} == old
        back = sorted(
            tuple(r) for r in connection.execute(text("SELECT subject_id, kind, key FROM subject_first_seen"))
        )
    assert back == old_rows
    migrate(db.engine, "upgrade", "heads")
    for by in ("source", "id_type"):
        assert _new(db, by) == old[by]
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM subjects"))  # the trigger still deletes their rows
        assert connection.execute(text("SELECT count(*) FROM subject_first_seen")).scalar_one() == 0
    db.engine.dispose()


def test_one_store_of_two_sources_and_two_days(db: Db) -> None:
    """Rows of one store naming two sources (or spanning midnight) are split by their own first day."""
    with db.world() as w:
        a, b = w.subject("cust-1").id, w.subject("cust-2").id
        post = w.post("chan", "1", at=DAY)
        rows = [_row(a, "phone", 1), _row(a, "email", 2)._replace(source="forum"), _row(b, "phone", 3)]
        store_hits(w.session, post.id, [rows], DAY)
    assert _new(db) == [(DAY.date(), "chan", 2), (DAY.date(), "forum", 1)]
    assert _new(db, "id_type") == [(DAY.date(), "email", 1), (DAY.date(), "phone", 2)]
    assert sorted(len(r) for r in _rows(db).values()) == [1, 1]


def test_a_post_without_subjects_takes_no_lock(db: Db) -> None:
    """PostgreSQL folds under the grouping lock; a post with no hit naming a subject (most crawled
    posts) must not take it, or every sink would wait for every other one's commit."""
    with db.world() as w:
        post = w.post("chan", "1", at=DAY)
        partial = _row(w.subject("cust-1").id, "phone", 1)._replace(subject_id=None, subject_slot=0)
        store_hits(w.session, post.id, [[partial]], DAY)
        store_hits(w.session, w.post("chan", "2", at=DAY).id, [], DAY)
        if db.engine.dialect.name == "postgresql":
            held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            assert w.session.execute(text(held)).scalar_one() == 0
    assert _new(db) == []


def _random_history(seed: int, people: int = 40) -> list[tuple[str, list[tuple[str | None, str, int]]]]:
    """Posts of many subjects: a first breach, the same people again from a new source (a few dated
    earlier), posts spanning days, and a post dated earliest that empties some subjects' rows."""
    rng = random.Random(seed)
    refs = [f"p{i:02d}" for i in range(people)]
    types = ("phone", "email", "name", "rrn")
    history: list[tuple[str, list[tuple[str | None, str, int]]]] = [
        ("chan", [(r, t, 1) for r in refs for t in types[:2]]),  # the first breach, one day
        ("forum", [(r, t, rng.choice((0, 1, 1, 2))) for r in refs for t in types[:3]]),  # again, a new source
    ]
    for _ in range(4):
        source = rng.choice(("chan", "forum", "paste"))
        sightings = {(rng.choice(refs), rng.choice(types), rng.randrange(5)) for _ in range(people)}
        history.append((source, sorted(sightings)))  # type: ignore[arg-type]
    history.append(("paste", [(r, t, 6) for r in refs[::3] for t in types]))  # earliest: moves everything
    return history


def _rows_by_ref(db: Db, prefix: str) -> dict[str, list[tuple[str, list[str], list[str]]]]:
    with db.sessions() as session:
        refs = {
            s.id: s.subject_ref.removeprefix(prefix) for s in session.query(Subject) if s.subject_ref.startswith(prefix)
        }
    return {refs[s]: rows for s, rows in _rows(db).items() if s in refs}


@pytest.mark.parametrize("seed", [1, 2])
def test_folding_one_subject_at_a_time_gives_the_same_rows(db: Db, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """The merge's chunks (FOLD_SUBJECTS subjects) change nothing: one subject at a time, three, or the
    default give the same rows on a repeat breach from a new source, sightings stored later but dated
    earlier, posts spanning midnight and rows left empty (deleted)."""
    history = _random_history(seed)
    _store(db, history, prefix="d-")
    for size in (1, 3):
        monkeypatch.setattr(first_seen, "FOLD_SUBJECTS", size)
        _store(db, history, prefix=f"c{size}-")
    default = _rows_by_ref(db, "d-")
    assert _rows_by_ref(db, "c1-") == default
    assert _rows_by_ref(db, "c3-") == default
    assert len(default) == 40
    assert any(types == [] for rows in default.values() for _d, _s, types in rows)  # a row with sources only
    assert _new(db, "source", since=DAY - timedelta(days=10)) == [
        (d, k, 3 * n) for d, k, n in _expected(history, "source")
    ]


def test_a_repeat_breach_is_folded_in_bounded_chunks(db: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    """A repeat breach of N people from a new source: no statement of the fold gets more parameters
    (nor an array longer) than FOLD_SUBJECTS, the post's hits are read a fixed number of times, and
    the pairs are fetched as they are merged (PostgreSQL: a server-side cursor), not all at once."""
    people, size = 60, 4
    refs = [f"r{i:02d}" for i in range(people)]
    _store(db, [("chan", [(r, t, 1) for r in refs for t in ("phone", "email")])])
    monkeypatch.setattr(hits_module, "note_first_seen", lambda *_: None)
    with db.world() as w:
        ids = {ref: w.subject(ref).id for ref in refs}
        post = w.post("forum", "again", at=DAY)
        floor = w.session.scalar(text("SELECT max(id) FROM hits"))
        rows = [_row(ids[r], t, 10_000 + n)._replace(source="forum") for n, r in enumerate(refs) for t in ("phone",)]
        store_hits(w.session, post.id, [rows], DAY)
    monkeypatch.undo()
    monkeypatch.setattr(first_seen, "FOLD_SUBJECTS", size, raising=False)
    widths: list[int] = []
    hit_reads: list[str] = []
    server_side: list[bool] = []

    def width(value: Any) -> int:
        if isinstance(value, dict):
            return max([len(value), *(width(v) for v in value.values())])
        return len(value) if isinstance(value, list | tuple) else 1

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        widths.append(len(parameters) if executemany else width(parameters or {}))
        if " hits" in statement:
            hit_reads.append(statement)
        if "ORDER BY n.subject_id" in statement or "FROM temp.first_seen_pairs ORDER BY" in statement:
            server_side.append(bool(getattr(cursor, "name", None)))

    merged: list[tuple[int, int]] = []  # (pairs pulled from the database so far, pairs merged)
    pulled = [0]
    fold_stream, fold_known = getattr(first_seen, "_fold_stream", None), first_seen._fold_known

    def counting(pairs: Any) -> Any:
        for pair in pairs:
            pulled[0] += 1
            yield pair

    monkeypatch.setattr(
        first_seen, "_fold_stream", lambda session, pairs: fold_stream(session, counting(pairs)), raising=False
    )
    monkeypatch.setattr(
        first_seen,
        "_fold_known",
        lambda session, pairs: (merged.append((pulled[0], len(pairs))), fold_known(session, pairs)),
    )
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        with db.sessions.begin() as session:
            first_seen.note_first_seen(session, post.id, floor)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert max(widths) <= size
    assert len(hit_reads) <= 3  # grouped once, the pairs once (PostgreSQL: its "any" probe): not per chunk
    assert server_side == [db.engine.dialect.name == "postgresql"]  # the pairs' one read (SQLite's is lazy)
    assert len(merged) == people // size
    assert all(n <= size for _pulled, n in merged)
    assert merged[0][0] <= size + 1  # the first chunk merged before the rest were fetched
    day = DAY.date().isoformat(), (DAY.date() - timedelta(days=1)).isoformat()
    assert set(map(str, _rows_by_ref(db, "r").values())) == {
        str([(day[1], ["chan"], ["email", "phone"]), (day[0], ["forum"], [])])
    }
