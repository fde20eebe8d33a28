"""``store_hits``: bulk upserts on the hit identity; unknown posts and subjects refused on both databases.

SQLite checks them with foreign keys, PostgreSQL set-based per batch (migration store_0008), whose
delete triggers stand in for the keys' ``ON DELETE`` actions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models.cases import HitLabel
from storage.models.core import HitRecord, Post, Subject
from storage.repositories.first_seen import _SQL
from storage.repositories.hits import ROW_COLUMNS, SQLITE_STORE_CACHE_KIB, HitRow, MissingParentError, store_hits
from tests.storage.migrations import insert_hit, migrate

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _row(digest: int, subject: int | None, confidence: float, locator: str = "d.csv:row 2") -> HitRow:
    return HitRow(
        attachment_sha256=None,
        source="chan",
        locator=locator,
        id_type="phone",
        form="full" if subject else "p3s4",
        digest=digest.to_bytes(32, "big"),
        key_id="k1",
        subject_id=subject,
        subject_slot=subject or 0,
        compatible_subjects=1 if subject else 3,
        match_kind="exact" if subject else "partial",
        obfuscation="none",
        confidence=confidence,
        masked="010-****-0000",
        explanation='{"extractor": "phone"}',
    )


def _world(url: str) -> tuple[sessionmaker[Session], int, list[int]]:
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        subjects = [Subject(subject_ref=f"cust-{i}", created_at=T0) for i in range(3)]
        post = Post(
            source="chan", external_id="1", venue="file", first_seen=T0, last_seen=T0, content_hash="h", status="ok"
        )
        session.add_all([*subjects, post])
        session.flush()
        ids = (post.id, [s.id for s in subjects])
    return sessions, ids[0], ids[1]


def test_rows_are_upserted_on_their_identity_across_batches(db_url: str) -> None:
    sessions, post_id, (a, b, c) = _world(db_url)
    first = [[_row(1, a, 0.5, "d.csv:row 2"), _row(2, b, 0.9)], [_row(1, a, 0.8, "d.csv:row 9"), _row(3, None, 0.3)]]
    with sessions.begin() as session:
        stored = store_hits(session, post_id, first, T0)
    assert (stored.new, stored.total) == (3, 3)
    later = T0 + timedelta(days=1)
    with sessions.begin() as session:
        again = store_hits(session, post_id, [[_row(1, a, 0.6, "d.csv:row 40"), _row(4, c, 0.9)]], later)
    assert (again.new, again.total) == (1, 4)
    with sessions() as session:
        rows = {
            r.digest[-1]: r
            for r in session.scalars(select(HitRecord).where(HitRecord.post_id == post_id).order_by(HitRecord.id))
        }
    # The more confident row of an identity wins (row 9 beat row 2, and row 40 did not beat row 9) ...
    assert (rows[1].locator, rows[1].confidence, rows[1].subject_id) == ("d.csv:row 9", 0.8, a)
    # ... and a hit found again is seen again, while the others keep their times.
    assert (rows[1].first_seen, rows[1].last_seen) == (T0, later)
    assert rows[2].last_seen == T0
    assert (rows[3].subject_id, rows[3].subject_slot) == (None, 0)
    assert rows[4].subject_id == c


def test_an_unknown_subject_or_post_is_refused(db_url: str) -> None:
    """SQLite: foreign keys on every inserted row; PostgreSQL: the post once, each batch's subjects."""
    sessions, post_id, (a, _b, _c) = _world(db_url)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        store_hits(session, post_id, [[_row(1, a, 0.9), _row(2, 10_000_000, 0.9)]], T0)
    with pytest.raises(IntegrityError), sessions.begin() as session:  # in a later batch
        store_hits(session, post_id, [[_row(1, a, 0.9)], [_row(3, None, 0.3)], [_row(2, 10_000_000, 0.9)]], T0)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        store_hits(session, post_id + 1000, [[_row(1, a, 0.9)]], T0)
    with sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM hits")) == 0


def test_missing_parents_are_named_without_values() -> None:
    error = MissingParentError("2 subject id(s) of a batch of hits do not exist")
    assert isinstance(error, IntegrityError)
    assert "2 subject id(s)" in str(error)


def _label(session: Session, hit_id: int) -> None:
    session.add(HitLabel(hit_id=hit_id, label="confirmed", note="", actor="alice", created_at=T0))


def test_deleting_posts_and_subjects_follows_the_hits(db_url: str) -> None:
    """What ON DELETE CASCADE / SET NULL did: on PostgreSQL the store_0008 triggers do it."""
    sessions, post_id, (a, b, c) = _world(db_url)
    with sessions.begin() as session:
        other = Post(source="chan", external_id="2", venue="file", first_seen=T0, last_seen=T0, content_hash="h")
        session.add(other)
        session.flush()
        other_id = other.id
        store_hits(session, post_id, [[_row(1, a, 0.9), _row(2, b, 0.9), _row(3, None, 0.3)]], T0)
        store_hits(session, other_id, [[_row(1, a, 0.9), _row(4, c, 0.9)]], T0)
        for hit_id in session.scalars(select(HitRecord.id)):
            _label(session, hit_id)
    with sessions.begin() as session:
        session.execute(text("DELETE FROM posts WHERE id = :p"), {"p": post_id})
        session.execute(text("DELETE FROM subjects WHERE id IN (:a, :b)"), {"a": a, "b": b})
    with sessions() as session:
        left = session.execute(select(HitRecord.post_id, HitRecord.digest, HitRecord.subject_id)).all()
        labels = session.scalar(text("SELECT count(*) FROM hit_labels"))
    assert sorted((p, d[-1], s) for p, d, s in left) == [(other_id, 1, None), (other_id, 4, c)]
    assert labels == 2  # the deleted post's hits took their labels with them


def test_hits_have_no_foreign_keys_on_postgresql_only(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    keys = {key["referred_table"] for key in inspect(engine).get_foreign_keys("hits")}
    engine.dispose()
    assert keys == (set() if db_url.startswith("postgresql") else {"posts", "subjects"})


def test_store_0008_upgrades_with_data_and_downgrades(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine, "upgrade", "mbstore_0007_hits_post_index")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO subjects (id, subject_ref, created_at) VALUES (7, 'cust-7', :t)"), {"t": T0}
        )
        connection.execute(
            text(
                "INSERT INTO posts (id, source, external_id, venue, first_seen, last_seen, content_hash, versions,"
                " status, text_length, trade_terms, extra) VALUES (1, 'chan', '1', 'file', :t, :t, 'h', 1, 'ok',"
                " 0, '[]', '{}')"
            ),
            {"t": T0},
        )
    with engine.begin() as connection:  # as the store wrote them then (it now needs store_0010's key)
        for row in (_row(1, 7, 0.9), _row(2, None, 0.3)):
            insert_hit(connection, 1, row, T0)
    migrate(engine, "upgrade", "store_0008_hits_pg_parents")
    migrate(engine, "upgrade", "store_0010_hits_identity_key")
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        assert session.scalar(text("SELECT count(*) FROM hits")) == 2
        with pytest.raises(IntegrityError), session.begin_nested():
            store_hits(session, 1, [[_row(3, 8, 0.9)]], T0)
        store_hits(session, 1, [[_row(3, 7, 0.9)]], T0)
    migrate(engine, "downgrade", "mbstore_0007_hits_post_index")
    keys = {key["referred_table"] for key in inspect(engine).get_foreign_keys("hits")}
    with engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM hits")).scalar_one() == 3
        connection.execute(text("DELETE FROM posts"))
        assert connection.execute(text("SELECT count(*) FROM hits")).scalar_one() == 0
    engine.dispose()
    assert keys == {"posts", "subjects"}


def test_hits_have_one_index_per_look_up(db_url: str) -> None:
    """Post look-ups use the identity key's index (it starts with post_id): no separate post_id index,
    and the five-column identity index is gone (store_0010)."""
    engine = make_engine(db_url)
    upgrade(engine)
    indexes = {(tuple(i["column_names"]), bool(i["unique"])) for i in inspect(engine).get_indexes("hits")}
    uniques = {tuple(u["column_names"]) for u in inspect(engine).get_unique_constraints("hits")}
    engine.dispose()
    assert indexes == {(("subject_id",), False), (("post_id", "identity_key"), True)}
    assert uniques == set()


def test_a_subject_being_stored_cannot_be_deleted_before_the_commit(pg_url: str) -> None:
    """PostgreSQL: the store's set-based check locks the batch's subjects FOR KEY SHARE, as the key did
    (SQLite writers hold the database's write lock)."""
    sessions, post_id, (a, b, _c) = _world(pg_url)
    with sessions() as storing, sessions() as deleting:
        storing.begin()
        store_hits(storing, post_id, [[_row(1, a, 0.9)]], T0)
        deleting.begin()
        deleting.execute(text("SET LOCAL lock_timeout = '500ms'"))
        deleting.execute(text("DELETE FROM subjects WHERE id = :b"), {"b": b})  # not stored: free
        with pytest.raises(OperationalError, match="lock timeout"):
            deleting.execute(text("DELETE FROM subjects WHERE id = :a"), {"a": a})
        deleting.rollback()
        storing.commit()


def _stored(sessions: sessionmaker[Session], post_id: int) -> list[tuple[object, ...]]:
    with sessions() as session:
        rows = session.scalars(select(HitRecord).where(HitRecord.post_id == post_id))
        return sorted(
            (r.digest[-1], r.subject_slot, r.locator, r.confidence, r.subject_id, r.first_seen, r.last_seen)
            for r in rows
        )


@pytest.mark.parametrize("tracked", [None, 3], ids=["all-tracked", "tracking-capped"])
def test_a_new_posts_hits_are_stored_as_the_upsert_stores_them(
    db_url: str, monkeypatch: pytest.MonkeyPatch, tracked: int | None
) -> None:
    """PostgreSQL COPYs a post's first hits straight into ``hits``; identities repeated across batches
    (more and less confident) still end as the upsert makes them, on both databases, also once the
    call stops tracking identities (past ``SEEN_IDENTITIES_MAX`` every further batch upserts)."""
    if tracked is not None:
        monkeypatch.setattr("storage.repositories.hits.SEEN_IDENTITIES_MAX", tracked)
    sessions, fresh, (a, b, c) = _world(db_url)
    batches = [
        [_row(1, a, 0.5, "d.csv:row 2"), _row(2, b, 0.9), _row(3, None, 0.3)],
        [_row(1, a, 0.8, "d.csv:row 9"), _row(4, c, 0.9), _row(2, b, 0.4, "d.csv:row 7")],
        [_row(5, a, 0.9), _row(3, None, 0.3, "d.csv:row 11"), _row(1, a, 0.7, "d.csv:row 12")],
        [_row(6, b, 0.9)],
    ]
    with sessions.begin() as session:
        old = Post(source="chan", external_id="2", venue="file", first_seen=T0, last_seen=T0, content_hash="h")
        session.add(old)
        session.flush()
        upserted = old.id
        store_hits(session, upserted, [[_row(99, c, 0.9)]], T0)  # the post has a hit: every row upserts
    with sessions.begin() as session:
        new = store_hits(session, fresh, batches, T0)
        again = store_hits(session, upserted, batches, T0)
    assert (new.before, new.new, new.total) == (0, 6, 6)
    assert (again.new, again.total) == (6, 7)
    assert _stored(sessions, fresh) == [r for r in _stored(sessions, upserted) if r[0] != 99]
    assert [r[2] for r in _stored(sessions, fresh)] == [
        "d.csv:row 9",
        "d.csv:row 2",
        "d.csv:row 2",
        "d.csv:row 2",
        "d.csv:row 2",
        "d.csv:row 2",
    ]


def test_seen_keys_flag_every_repeat_across_merged_runs() -> None:
    """The direct COPY's guard: no key seen before may pass as new (merges of runs included)."""
    import numpy as np

    from storage.repositories.hits import _SeenKeys

    seen = _SeenKeys()
    for start in range(0, 3000, 100):  # 30 batches: runs merged many times
        batch = list(range(start * 7919, (start + 100) * 7919, 7919))
        repeats = list(range(0, start * 7919, 37 * 7919))  # keys of earlier batches
        flagged = seen.add(np.array([*batch, *repeats], dtype=np.int64))
        assert flagged.tolist() == [False] * len(batch) + [True] * len(repeats)


@pytest.mark.parametrize("walk", [True, False], ids=["walked", "indexed"])
def test_post_summary_and_shared_subjects_follow_the_latest_labels(
    db_url: str, monkeypatch: pytest.MonkeyPatch, walk: bool
) -> None:
    """The post hook's statements, set-based: a hit whose latest label excludes it does not count; the
    post's own open incident shares all its subjects, another incident those its other posts hold.
    On SQLite a big post is read in table order (``walked``), a small one through its index."""
    from storage.models.cases import EXCLUDING_LABELS, Incident, IncidentPost
    from storage.repositories import hits
    from storage.repositories.hits import post_hits, shared_subjects

    monkeypatch.setattr(hits, "BIG_INCIDENT", 0 if walk else 10**12)

    sessions, post_id, (a, b, c) = _world(db_url)
    with sessions.begin() as session:
        other = Post(source="chan", external_id="2", venue="file", first_seen=T0, last_seen=T0, content_hash="h")
        session.add(other)
        session.flush()
        store_hits(session, post_id, [[_row(1, a, 0.9), _row(2, b, 0.8), _row(3, c, 0.7), _row(4, None, 0.3)]], T0)
        store_hits(session, other.id, [[_row(1, a, 0.9), _row(3, c, 0.9)]], T0)
        query = select(HitRecord.subject_id, HitRecord.id).where(HitRecord.post_id == post_id)
        ids = {row.subject_id: row.id for row in session.execute(query)}
        session.add(HitLabel(hit_id=ids[b], label="false_positive", note="", actor="x", created_at=T0))
        session.add(HitLabel(hit_id=ids[c], label="test_data", note="", actor="x", created_at=T0))
        session.add(HitLabel(hit_id=ids[c], label="confirmed", note="", actor="x", created_at=T0))  # latest wins
        mine, theirs = (
            Incident(title=t, status="open", created_at=T0, updated_at=T0, first_seen=T0, last_seen=T0) for t in "mt"
        )
        session.add_all([mine, theirs])
        session.flush()
        session.add_all(
            [
                IncidentPost(post_id=post_id, incident_id=mine.id, joined_at=T0, reason="new", fingerprint=""),
                IncidentPost(post_id=other.id, incident_id=theirs.id, joined_at=T0, reason="new", fingerprint=""),
            ]
        )
        session.flush()
        summary = post_hits(session, post_id, EXCLUDING_LABELS)
        assert (summary.hits, summary.subjects, summary.one_identity, summary.one_subject) == (3, 2, False, False)
        assert summary.first == (min(ids[a], ids[None]), "phone")
        expected = {mine.id: 2, theirs.id: 2}
        assert shared_subjects(session, post_id, EXCLUDING_LABELS) == expected
        assert shared_subjects(session, post_id, EXCLUDING_LABELS, summary.subjects) == expected
        theirs.status = "closed"
        session.flush()
        assert shared_subjects(session, post_id, EXCLUDING_LABELS) == {mine.id: 2}


def test_sqlite_stores_with_a_larger_page_cache_and_gives_it_back(tmp_path: Path) -> None:
    """A dump's hits land at random places in the digest-keyed identity index: with SQLite's default
    2 MB cache most of a big store's time went to spilling pages and reading them back."""
    sessions, post_id, (a, b, _c) = _world(f"sqlite:///{tmp_path / 'hits.db'}")
    seen: list[int] = []
    with sessions.begin() as session:
        default = session.execute(text("PRAGMA main.cache_size")).scalar()

        def batches() -> Iterator[list[HitRow]]:
            for digest, subject in ((1, a), (2, b)):
                seen.append(session.execute(text("PRAGMA main.cache_size")).scalar_one())
                yield [_row(digest, subject, 0.9)]

        store_hits(session, post_id, batches(), T0)
        after = session.execute(text("PRAGMA main.cache_size")).scalar()
    assert seen == [-SQLITE_STORE_CACHE_KIB] * 2
    assert after == default != -SQLITE_STORE_CACHE_KIB
    with sessions() as session, pytest.raises(IntegrityError):  # given back after a failed store too
        store_hits(session, post_id, [[_row(3, 10_000_000, 0.9)]], T0)
    with sessions() as session:
        assert session.execute(text("PRAGMA main.cache_size")).scalar() == default


def test_the_first_sighting_fold_reads_the_new_hits_in_table_order(tmp_path: Path) -> None:
    """SQLite read a store's new hits through the identity index (digest order: one random rowid
    look-up each, half of a dump's store) instead of as the id range they are."""
    sessions, post_id, _subjects = _world(f"sqlite:///{tmp_path / 'hits.db'}")
    with sessions() as session:
        plan = " ".join(
            str(step[-1])
            for step in session.execute(text(f"EXPLAIN QUERY PLAN {_SQL['sqlite']}"), {"post": post_id, "after": 0})
        )
    assert "INTEGER PRIMARY KEY (rowid>?)" in plan
    assert "sqlite_autoindex_hits" not in plan


def test_a_later_store_of_an_older_post_folds_only_its_new_hits(db_url: str) -> None:
    """The fold reads the hits above the table's highest id before the store: an older post stored
    again after other posts' hits folds its own new hits, and no other post's."""
    sessions, post_id, (a, b, c) = _world(db_url)
    with sessions.begin() as session:
        other = Post(
            source="other", external_id="2", venue="file", first_seen=T0, last_seen=T0, content_hash="h", status="ok"
        )
        session.add(other)
        session.flush()
        store_hits(session, post_id, [[_row(1, a, 0.9)]], T0)
        store_hits(session, other.id, [[_row(2, b, 0.9)._replace(source="other")]], T0 + timedelta(days=1))
        session.execute(text("DELETE FROM subject_first_seen WHERE subject_id = :b"), {"b": b})  # would come back
        again = store_hits(
            session,
            post_id,
            [[_row(1, a, 0.9), _row(3, c, 0.9, "d.csv:row 7")._replace(id_type="email")]],
            T0 + timedelta(days=2),
        )
        assert (again.new, again.total) == (1, 2)
        seen = sorted(
            (s, kind, key)
            for s, sources, types in session.execute(text("SELECT subject_id, sources, types FROM subject_first_seen"))
            for kind, keys in enumerate((sources, types))
            for key in json.loads(keys)
        )  # one row per subject and day (firstseen_0010), its sources and types as JSON
    assert seen == sorted([(a, 0, "chan"), (a, 1, "phone"), (c, 0, "chan"), (c, 1, "email")])


def test_every_value_is_stored_as_given(db_url: str) -> None:
    """PostgreSQL COPYs hits in binary (direct and staged): each value reads back as it was given,
    the explanation's JSON text verbatim (not quoted again as a JSON string)."""
    sessions, post_id, (a, _b, _c) = _world(db_url)
    explanation = '{"extractor": "이름.fast", "validation": null, "context": ["김*수"], "reasons": ["x"]}'
    given = [
        _row(1, a, 0.1 + 0.2, "가나.csv:row 2")._replace(explanation=explanation, masked="김*수"),
        _row(2, None, 1e-300)._replace(attachment_sha256="ab" * 32, obfuscation="spaced"),
    ]
    when = T0 + timedelta(microseconds=123_457)
    with sessions.begin() as session:
        store_hits(session, post_id, [given[:1], given], when)  # the repeat goes through the staged upsert
    as_text = "explanation::text" if db_url.startswith("postgresql") else "explanation"
    with sessions() as session:
        stored = session.execute(
            text(f"SELECT {', '.join(ROW_COLUMNS[:-1])}, {as_text} FROM hits WHERE post_id = :p ORDER BY id"),  # noqa: S608
            {"p": post_id},
        ).all()
        times = {(r.first_seen, r.last_seen) for r in session.scalars(select(HitRecord))}
    assert [tuple(r) for r in stored] == [tuple(r) for r in given]
    assert times == {(when, when)}


def test_seen_keys_match_a_set_for_shuffled_batches() -> None:
    """Keys searched sorted are reported back in the batch's own order."""
    import numpy as np

    from storage.repositories.hits import _SeenKeys

    rng = np.random.default_rng(7)
    seen, model = _SeenKeys(), set()
    for _ in range(40):
        keys = rng.integers(0, 500, 60, dtype=np.int64)
        keys = keys[np.unique(keys, return_index=True)[1]]  # a batch holds each key once
        rng.shuffle(keys)
        assert seen.add(keys).tolist() == [int(k) in model for k in keys]
        model.update(int(k) for k in keys)
