"""The DB-API driver's reads (``storage.driver``) equal the repository's through SQLAlchemy, on both
databases: key ids, fingerprint, schema check, digest and pair confirmation (full and mask forms)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_sessionmaker
from storage.driver import Driver, sqlite_database
from storage.migrate import upgrade
from storage.repositories import protected


def _digest(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def _load(sessions: sessionmaker[Session], rows: list[protected.StagedRow]) -> None:
    with sessions.begin() as session:
        loader = protected.ProtectedLoader(session)
        loader.stage(rows)
        loader.finish(replace=False)


def _world(sessions: sessionmaker[Session]) -> list[bytes]:
    """Full digests, mask digests shared by many subjects, a second key; the digests to ask about."""
    rows: list[protected.StagedRow] = []
    for i in range(300):
        rows.append((f"s{i}", "k1", "phone", "full", _digest(f"full{i}")))
        rows.append((f"s{i}", "k1", "name", "p3s4", _digest(f"mask{i % 7}")))
    rows.append(("s1", "k2", "email", "full", _digest("other-key")))
    _load(sessions, rows)
    # two digests sharing a prefix (confirmation decides on the other 24 bytes)
    twin = _digest("full5")[:8] + b"x" * 24
    return [_digest(f"full{i}") for i in range(0, 320, 3)] + [_digest(f"mask{i}") for i in range(9)] + [twin]


def test_the_driver_reads_what_the_repository_reads(db_url: str, sessions: sessionmaker[Session]) -> None:
    driver = Driver.for_url(db_url)
    assert driver is not None
    assert driver.has_schema()
    asked = _world(sessions)
    with sessions() as session:
        keys = protected.set_key_ids(session)
        fingerprints = {key: protected.set_fingerprint(session, key) for key in ("k1", "k2", "k3")}
        digests = protected.confirm_digests(session, asked)
        subjects = sorted({s for ids in digests.values() for s in ids})
        pairs = [(d, s) for d in asked[::2] for s in subjects[::5]] + [(asked[0], 10**9)]
        confirmed = protected.confirm_pairs(session, pairs)
    assert keys == {"k1", "k2"}
    assert driver.set_key_ids() == keys
    assert {key: driver.set_fingerprint(key) for key in fingerprints} == fingerprints
    assert len(digests) >= 100
    assert any(len(ids) > 10 for ids in digests.values())  # mask digests: many subjects each
    assert driver.confirm_digests(asked) == digests
    assert driver.confirm_digests([]) == {}
    assert len(confirmed) >= 20
    assert driver.confirm_pairs(pairs) == confirmed
    driver.close()


def test_a_database_without_schema_says_so(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).touch()
    driver = Driver.for_url(db_url)
    assert driver is not None
    assert not driver.has_schema()
    driver.close()


@pytest.mark.parametrize(
    ("url", "database"),
    [
        ("sqlite:////abs/leakmon.db", "/abs/leakmon.db"),
        ("sqlite:///rel/leakmon.db", "rel/leakmon.db"),
        ("sqlite+pysqlite:///rel.db", "rel.db"),
        ("sqlite://", ""),
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite:///file:x.db?mode=ro&uri=true", None),
        ("postgresql://u@h/db", None),
    ],
)
def test_plain_sqlite_urls_only(url: str, database: str | None) -> None:
    assert sqlite_database(url) == database


def test_what_the_driver_leaves_to_sqlalchemy(tmp_path: Path) -> None:
    assert Driver.for_url(f"sqlite:///{tmp_path / 'missing.db'}") is None  # App.engine says it is missing
    (tmp_path / "there.db").touch()
    assert Driver.for_url(f"sqlite:///{tmp_path / 'there.db'}", read_only=True) is None
    assert Driver.for_url("sqlite://") is None
    assert Driver.for_url("postgresql://u@h/db?sslmode=require") is None
    assert Driver.for_url("mysql://u@h/db") is None


def test_a_forked_process_opens_its_own_connection(db_url: str, sessions: sessionmaker[Session]) -> None:
    """A worker forked after the parent read never uses (nor closes) the parent's connection."""
    asked = _world(sessions)
    driver = Driver.for_url(db_url)
    assert driver is not None
    expected = driver.confirm_digests(asked)
    parent = driver._connection
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            ok = driver.confirm_digests(asked) == expected and driver._connection is not parent
            driver.close()
            code = 0 if ok else 2
        finally:
            os.write(write, bytes([code]))
            os._exit(code)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"\x00"
    assert driver._connection is parent
    assert driver.confirm_digests(asked) == expected  # the parent's connection still works
    driver.close()


def test_importing_the_driver_loads_no_sqlalchemy() -> None:
    code = "import sys, storage.driver, leakmon.app; print('sqlalchemy' in sys.modules, 'numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert done.stdout.split() == ["False", "False"]
