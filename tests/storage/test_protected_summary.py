"""The set's summary (``protected_sets``): start-up reads it instead of scanning the set.

It must stay exactly as safe as the scan it replaces: every key id the set holds is reported (the
missing-key check, issue 15 item 1), and the index cache's fingerprint changes with every load.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models.core import ProtectedSet
from storage.repositories import protected
from tests.storage.migrations import migrate


def _rows(n: int, *, key_id: str = "k1", offset: int = 0) -> list[protected.StagedRow]:
    return [
        (f"s{i % 7}", key_id, "phone", "full", hashlib.sha256(f"v{i + offset}".encode()).digest()) for i in range(n)
    ]


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def _load(sessions: sessionmaker[Session], rows: list[protected.StagedRow], *, replace: bool = False) -> None:
    with sessions.begin() as session:
        loader = protected.ProtectedLoader(session)
        loader.stage(rows)
        loader.finish(replace=replace)


def _statements(session: Session) -> list[str]:
    seen: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute", lambda *args: seen.append(str(args[2]).lower()))
    return seen


def test_key_ids_and_fingerprint_come_from_the_summary_without_scanning_the_set(
    sessions: sessionmaker[Session],
) -> None:
    _load(sessions, [*_rows(20), *_rows(3, key_id="k2", offset=100)])  # digests differ by key
    with sessions() as session:
        seen = _statements(session)
        assert protected.set_key_ids(session) == {"k1", "k2"}
        assert protected.set_fingerprint(session, "k1").startswith("k1:")
    assert seen
    assert not [s for s in seen if "protected_identifiers" in s], seen


def test_replace_and_append_keep_the_key_ids_exact(sessions: sessionmaker[Session]) -> None:
    _load(sessions, _rows(10, key_id="old"))
    _load(sessions, _rows(5, key_id="new", offset=100))
    with sessions() as session:
        assert protected.set_key_ids(session) == {"old", "new"}
    _load(sessions, _rows(5, key_id="new", offset=200), replace=True)
    with sessions() as session:
        assert protected.set_key_ids(session) == {"new"}
    _load(sessions, [], replace=True)
    with sessions() as session:
        assert protected.set_key_ids(session) == set()
        assert session.scalars(select(ProtectedSet)).all() == []


def test_a_replace_by_a_set_of_the_same_size_changes_the_fingerprint(sessions: sessionmaker[Session]) -> None:
    """Row count and top id can repeat after a replace (SQLite reuses ids): the cache must not."""
    _load(sessions, _rows(12))
    with sessions() as session:
        first = protected.set_fingerprint(session, "k1")
    _load(sessions, _rows(12, offset=500), replace=True)
    with sessions() as session:
        assert protected.set_fingerprint(session, "k1") != first


def test_the_migrations_carry_an_existing_set_over_and_back(db_url: str) -> None:
    """Upgrade from the wide rows (one 32-byte digest and three strings per row) to the lean ones and
    downgrade again, with data: every digest and subject survives both ways, counts and summary follow."""
    engine = make_engine(db_url)
    migrate(engine, "upgrade", "kernel2_0006_protected_sets")
    digests = [hashlib.sha256(bytes([i])).digest() for i in range(5)] + [bytes([0x80]) + bytes(31)]
    wide = {
        (key, form, d, subject) for i, d in enumerate(digests) for key, form, subject in [("k1", "full", 1 + i % 2)]
    }
    wide.add(("k2", "p3s4", digests[0], 2))
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO subjects (id, subject_ref, created_at) VALUES (1, 's1', :at), (2, 's2', :at)"),
            {"at": "2026-12-07 00:00:00"},
        )
        connection.execute(
            text(
                "INSERT INTO protected_identifiers (key_id, id_type, form, digest, subject_id) "
                "VALUES (:key_id, 'phone', :form, :digest, :subject_id)"
            ),
            [{"key_id": k, "form": f, "digest": d, "subject_id": s} for k, f, d, s in sorted(wide)],
        )
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        assert protected.set_key_ids(session) == {"k1", "k2"}
        assert sorted(protected.set_stats(session)) == [("k1", "phone", "full", 6), ("k2", "phone", "p3s4", 1)]
        assert protected.confirm_digests(session, [digests[0], digests[5]]) == {digests[0]: (1, 2), digests[5]: (2,)}
        prefixes, _subjects = protected.index_arrays(session, "k1")
        assert sorted(prefixes.tolist()) == sorted(int.from_bytes(d[:8], "big") for d in digests)
        first = protected.set_fingerprint(session, "k1")
    assert first.startswith("k1:")
    assert first.endswith(":6")
    migrate(engine, "downgrade", "kernel2_0006_protected_sets")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT key_id, form, digest, subject_id FROM protected_identifiers ORDER BY id")
        ).all()
        tops = connection.execute(text("SELECT DISTINCT top_id FROM protected_sets")).scalars().all()
    assert {(k, f, bytes(d), s) for k, f, d, s in rows} == wide
    assert tops == [len(wide)]
    upgrade(engine)  # and up again
    with make_sessionmaker(engine)() as session:
        assert sorted(protected.set_stats(session)) == [("k1", "phone", "full", 6), ("k2", "phone", "p3s4", 1)]
    engine.dispose()
