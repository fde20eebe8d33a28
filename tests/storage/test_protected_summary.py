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
from storage.models.core import ProtectedIdentifier, ProtectedSet
from storage.repositories import protected


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
    _load(sessions, [*_rows(20), *_rows(3, key_id="k2")])
    with sessions() as session:
        seen = _statements(session)
        assert protected.set_key_ids(session) == {"k1", "k2"}
        assert protected.set_fingerprint(session, "k1").startswith("k1:")
    touching_the_set = [s for s in seen if "protected_identifiers" in s]
    assert touching_the_set, "the summary is checked against the set's top row id"
    assert all("max(protected_identifiers.id)" in s and "where" not in s for s in touching_the_set), seen


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


def test_a_row_added_around_the_loader_is_still_reported(sessions: sessionmaker[Session]) -> None:
    """The summary no longer matches the set's top id: readers fall back to scanning the set."""
    _load(sessions, _rows(10))
    with sessions.begin() as session:
        subject_id = session.scalars(select(ProtectedIdentifier.subject_id).limit(1)).one()
        digest = hashlib.sha256(b"stray").digest()
        session.add(
            ProtectedIdentifier(key_id="stray", id_type="phone", form="full", digest=digest, subject_id=subject_id)
        )
    with sessions() as session:
        assert protected.set_key_ids(session) == {"k1", "stray"}
        before = protected.set_fingerprint(session, "stray")
    assert before == "stray:1:11"


def test_the_migration_backfills_the_summary_of_an_existing_set(db_url: str) -> None:
    from alembic import command

    from storage.migrate import alembic_config

    engine = make_engine(db_url)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001_core")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO subjects (id, subject_ref, created_at) VALUES (1, 's1', :at)"),
            {"at": "2026-12-07 00:00:00"},
        )
        connection.execute(
            text(
                "INSERT INTO protected_identifiers (key_id, id_type, form, digest, subject_id) "
                "VALUES (:key_id, 'phone', 'full', :digest, 1)"
            ),
            [{"key_id": key_id, "digest": bytes([i]) * 32} for i, key_id in enumerate(("k1", "k1", "k2"))],
        )
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        summary = protected._summary(session)
    engine.dispose()
    assert summary is not None
    assert set(summary) == {"k1", "k2"}
