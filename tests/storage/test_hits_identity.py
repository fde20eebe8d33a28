"""The hit identity enforced by a 64-bit key (migration ``store_0010``): keys that collide neither
merge two hits nor refuse one, on both databases, whichever path (direct ``COPY``, staged upsert,
SQLite's ``executemany``) a row takes; the migration keys the hits already stored."""

from __future__ import annotations

from collections.abc import Iterable
from hashlib import blake2b

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_sessionmaker
from storage.models.cases import HitLabel
from storage.models.core import HitRecord, Post, identity_key
from storage.repositories.hits import HitRow, Identity, identity_keys, store_hits
from tests.storage.migrations import insert_hit, migrate
from tests.storage.test_hits_store import T0, _row, _world


def _mod(n: int):  # type: ignore[no-untyped-def]
    """A key function under which keys collide (every key is one of ``n``)."""

    def keys(identities: Iterable[Identity]) -> list[int]:
        return [k % n for k in identity_keys(identities)]

    return keys


def _post(sessions: sessionmaker[Session], external_id: str) -> int:
    with sessions.begin() as session:
        post = Post(source="chan", external_id=external_id, venue="file", first_seen=T0, last_seen=T0, content_hash="h")
        session.add(post)
        session.flush()
        return post.id


def _stored(sessions: sessionmaker[Session], post_id: int) -> list[tuple[object, ...]]:
    with sessions() as session:
        rows = session.scalars(select(HitRecord).where(HitRecord.post_id == post_id))
        return sorted(
            (r.digest, r.id_type, r.form, r.subject_slot, r.locator, r.confidence, r.first_seen, r.last_seen)
            for r in rows
        )


def _batches(a: int, b: int, c: int) -> list[list[HitRow]]:
    """Repeats across batches, more and less confident, subject and partial hits (each batch has
    each identity once)."""
    return [
        [_row(i, (a, b, c, None)[i % 4], 0.5, f"d.csv:row {i}") for i in range(1, 13)],
        [_row(i, (a, b, c, None)[i % 4], 0.3 + (i % 3) * 0.2, f"d.csv:row {100 + i}") for i in range(5, 19)],
        [_row(i, (a, b, c, None)[i % 4], 0.9, f"d.csv:row {200 + i}") for i in range(17, 23)],
    ]


def test_identity_keys_are_the_models_and_stable() -> None:
    identities = [("phone", "full", bytes(range(32)), 7), ("phone", "p3s4", b"\x01" * 32, 0), ("name", "full", b"", 1)]
    keys = identity_keys(identities)
    assert keys == [identity_key(*identity) for identity in identities]
    assert all(0 <= key < 2**63 for key in keys)
    assert len(set(keys)) == 3
    # The key is stored: it must not change between processes or versions (BLAKE2b, not hash()).
    digest = blake2b(b"phone\0full\0" + b"7\0" + bytes(range(32)), digest_size=8).digest()
    assert keys[0] == int.from_bytes(digest, "little") >> 1 == 2789945472846062946


@pytest.mark.parametrize("colliding", [1, 3], ids=["all-collide", "mod-3"])
def test_colliding_keys_neither_merge_nor_refuse(db_url: str, colliding: int) -> None:
    """Stored under keys that collide, a post's hits end exactly as under distinct keys: as a new
    post (PostgreSQL's direct COPY) and as a post that already has hits (the upsert), stored again
    without a duplicate, the more confident row of an identity winning."""
    sessions, plain, (a, b, c) = _world(db_url)
    fresh, existing = _post(sessions, "2"), _post(sessions, "3")
    keys = _mod(colliding)
    with sessions.begin() as session:
        store_hits(session, plain, _batches(a, b, c), T0)
        store_hits(session, existing, [[_row(99, b, 0.95, "d.csv:row 0")]], T0, keys=keys)  # held before
    with sessions.begin() as session:
        new = store_hits(session, fresh, _batches(a, b, c), T0, keys=keys)
        old = store_hits(session, existing, _batches(a, b, c), T0, keys=keys)
    assert (new.new, new.total) == (22, 22)
    assert (old.new, old.total) == (22, 23)
    expected = _stored(sessions, plain)
    assert _stored(sessions, fresh) == expected
    assert [r for r in _stored(sessions, existing) if r[4] != "d.csv:row 0"] == expected
    later = T0.replace(day=8)
    with sessions.begin() as session:  # stored again: nothing new, every hit seen again
        again = store_hits(session, fresh, _batches(a, b, c), later, keys=keys)
    assert (again.new, again.total) == (0, 22)
    assert [r[:6] for r in _stored(sessions, fresh)] == [r[:6] for r in expected]
    assert {r[7] for r in _stored(sessions, fresh)} == {later}
    with sessions() as session:
        moved = select(HitRecord.id).where(HitRecord.post_id == fresh, HitRecord.identity_key < 0)
        assert session.scalar(moved.limit(1)) is not None  # the collisions did take the exact path


def test_a_collision_survives_the_deletion_of_the_key_holder(db_url: str) -> None:
    """Retention deletes single hits: the identity stored under a negative key is still found by
    its identity once the hit holding its key is gone (no duplicate), and the gone one comes back."""
    sessions, post_id, (a, b, _c) = _world(db_url)
    keys = _mod(1)
    with sessions.begin() as session:
        store_hits(session, post_id, [[_row(1, a, 0.9), _row(2, b, 0.9)]], T0, keys=keys)
    with sessions.begin() as session:
        session.execute(text("DELETE FROM hits WHERE identity_key >= 0"))
    with sessions.begin() as session:
        stored = store_hits(session, post_id, [[_row(2, b, 0.9)], [_row(1, a, 0.9)]], T0, keys=keys)
    assert (stored.new, stored.total) == (1, 2)
    with sessions.begin() as session:
        again = store_hits(session, post_id, [[_row(1, a, 0.9), _row(2, b, 0.9)]], T0, keys=keys)
    assert (again.new, again.total) == (0, 2)


def test_the_database_refuses_a_second_hit_under_a_key(db_url: str) -> None:
    sessions, post_id, (a, _b, _c) = _world(db_url)
    with sessions.begin() as session:
        store_hits(session, post_id, [[_row(1, a, 0.9)]], T0)
    fields = {**_row(2, a, 0.9)._asdict(), "explanation": {}}
    with sessions() as session:
        key = session.scalar(select(HitRecord.identity_key))
        session.add(HitRecord(post_id=post_id, **fields, first_seen=T0, last_seen=T0, identity_key=key))
        with pytest.raises(IntegrityError):
            session.commit()


def test_an_orm_insert_gets_the_identity_key(db_url: str) -> None:
    sessions, post_id, (a, _b, _c) = _world(db_url)
    row = _row(5, a, 0.9)
    with sessions.begin() as session:
        fields = {**row._asdict(), "explanation": {}}
        session.add(HitRecord(post_id=post_id, **fields, first_seen=T0, last_seen=T0))
    with sessions() as session:
        assert session.scalar(select(HitRecord.identity_key)) == identity_key(*row.identity)
    with sessions.begin() as session:  # the store finds it: nothing twice
        stored = store_hits(session, post_id, [[row]], T0)
    assert (stored.new, stored.total) == (0, 1)


def test_store_0010_keys_the_stored_hits_and_downgrades(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hits stored before the key (one pair whose keys collide, forced) are all kept, keyed, labels
    and views intact; storing them again adds nothing; the downgrade restores the identity index."""
    engine = make_engine(db_url)
    migrate(engine, "upgrade", "exports_0009_subject_first_seen")
    migrate(engine, "upgrade", "heads")
    migrate(engine, "downgrade", "exports_0009_subject_first_seen")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO subjects (id, subject_ref, created_at) VALUES (7, 'cust-7', :t)"), {"t": T0}
        )
        for post_id in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO posts (id, source, external_id, venue, first_seen, last_seen, content_hash,"
                    " versions, status, text_length, trade_terms, extra) VALUES (:p, 'chan', :e, 'file', :t, :t,"
                    " 'h', 1, 'ok', 0, '[]', '{}')"
                ),
                {"p": post_id, "e": str(post_id), "t": T0},
            )
        rows = [_row(1, 7, 0.9), _row(2, None, 0.3), _row(3, 7, 0.8), _row(4, 7, 0.7)]
        for row in rows:
            insert_hit(connection, 1, row, T0)
        insert_hit(connection, 2, rows[0], T0)
        first = connection.execute(text("SELECT min(id) FROM hits")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO hit_labels (hit_id, label, note, actor, created_at) VALUES (:h, 'confirmed', '', 'a', :t)"
            ),
            {"h": first + 1, "t": T0},
        )
        viewed = connection.execute(text("SELECT count(*) FROM v_hits")).scalar_one()
    forced = {rows[1].identity: 5, rows[2].identity: 5}  # these two collide

    def key(id_type: str, form: str, digest: bytes, slot: int) -> int:
        return forced.get((id_type, form, digest, slot), identity_key(id_type, form, digest, slot))

    monkeypatch.setattr("storage.models.core.identity_key", key)
    migrate(engine, "upgrade", "store_0010_hits_identity_key")
    with engine.connect() as connection:
        keyed = connection.execute(text("SELECT post_id, digest, identity_key FROM hits ORDER BY id")).all()
        assert connection.execute(text("SELECT count(*) FROM hit_labels")).scalar_one() == 1
        assert connection.execute(text("SELECT count(*) FROM v_hits")).scalar_one() == viewed
        if engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"]
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    assert [(p, bytes(d)[-1]) for p, d, _k in keyed] == [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1)]
    assert [k for _p, _d, k in keyed] == [key(*rows[0].identity), 5, -1, key(*rows[3].identity), key(*rows[0].identity)]

    def keys(identities: Iterable[Identity]) -> list[int]:
        return [key(*identity) for identity in identities]

    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        again = store_hits(session, 1, [rows[::-1], [_row(5, 7, 0.9)]], T0, keys=keys)
    assert (again.new, again.total) == (1, 5)
    with sessions() as session:
        assert session.scalar(select(HitLabel.hit_id)) == first + 1
    migrate(engine, "downgrade", "exports_0009_subject_first_seen")
    uniques = {tuple(u["column_names"]) for u in inspect(engine).get_unique_constraints("hits")}
    uniques |= {tuple(i["column_names"]) for i in inspect(engine).get_indexes("hits") if i["unique"]}
    assert ("post_id", "id_type", "form", "digest", "subject_slot") in uniques
    with engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM hits")).scalar_one() == 6
    with pytest.raises(IntegrityError), engine.begin() as connection:
        insert_hit(connection, 1, rows[0], T0)
    monkeypatch.undo()
    migrate(engine, "upgrade", "heads")  # again, from the downgraded schema
    with sessions.begin() as session:
        assert store_hits(session, 1, [rows], T0).new == 0
    engine.dispose()


def test_the_store_keys_each_hit_with_its_identity_key(db_url: str) -> None:
    """The store's inlined key (one pass with the row's tuple) is ``identity_key``, on every path."""
    sessions, post_id, (a, b, _c) = _world(db_url)
    rows = [_row(1, a, 0.9), _row(2, None, 0.3), _row(3, b, 0.5)]
    with sessions.begin() as session:
        store_hits(session, post_id, [rows[:2], [rows[2], _row(1, a, 0.95)]], T0)
    with sessions() as session:
        stored = session.execute(select(HitRecord.digest, HitRecord.identity_key).order_by(HitRecord.digest)).all()
    assert stored == [(row.digest, identity_key(*row.identity)) for row in rows]
