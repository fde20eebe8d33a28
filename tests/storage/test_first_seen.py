"""Subjects' first sightings (the console's new-subjects chart): kept by the store, read instead of every
hit, honouring triage labels, gone with the subject; migration exports_0009 fills them from stored hits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import delete, text

from storage.db import make_engine, make_sessionmaker
from storage.migrate import alembic_config, upgrade
from storage.models.cases import EXCLUDING_LABELS, HitLabel
from storage.models.core import HitRecord, Post, Subject
from storage.repositories.charts import new_subjects_per_day
from storage.repositories.hits import HitRow, store_hits
from tests.leakmon.workflows.world import Db, open_db
from tests.storage.migrations import insert_hit

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
            connection.execute(text("SELECT count(*) FROM subject_first_seen")).scalar_one() == 2
        )  # cust-1: source, type


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
