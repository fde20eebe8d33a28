"""The protected-set loader: idempotent merge, atomic replace, index arrays and confirmation."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from sqlalchemy import func, select

from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models.core import ProtectedIdentifier, Subject
from storage.repositories import protected


def _digest(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def _rows(n: int, *, key_id: str = "k1", offset: int = 0) -> list[protected.StagedRow]:
    return [(f"s{i % 7}", key_id, "phone", "full", _digest(f"v{i + offset}")) for i in range(n)]


@pytest.fixture
def sessions(db_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def _load(sessions, rows, *, replace=False):  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        loader = protected.ProtectedLoader(session)
        loader.stage(rows)
        return loader.finish(replace=replace)


def test_import_is_idempotent(sessions) -> None:  # type: ignore[no-untyped-def]
    first = _load(sessions, _rows(50))
    again = _load(sessions, _rows(50))
    assert (first.inserted, first.subjects_added) == (50, 7)
    assert (again.inserted, again.subjects_added) == (0, 0)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProtectedIdentifier)) == 50
        assert session.scalar(select(func.count()).select_from(Subject)) == 7


def test_duplicate_rows_in_one_file_are_stored_once(sessions) -> None:  # type: ignore[no-untyped-def]
    result = _load(sessions, _rows(10) + _rows(10))
    assert result.inserted == 10


def test_replace_swaps_the_whole_set(sessions) -> None:  # type: ignore[no-untyped-def]
    _load(sessions, _rows(30))
    result = _load(sessions, _rows(5, offset=1000), replace=True)
    assert (result.removed, result.inserted) == (30, 5)
    with sessions() as session:
        digests = set(session.scalars(select(ProtectedIdentifier.digest)))
    assert digests == {_digest(f"v{i + 1000}") for i in range(5)}


def test_failed_replace_leaves_the_old_set(sessions) -> None:  # type: ignore[no-untyped-def]
    _load(sessions, _rows(30))

    def swap_then_crash() -> None:
        with sessions.begin() as session:
            loader = protected.ProtectedLoader(session)
            loader.stage(_rows(3, offset=500))
            loader.finish(replace=True)
            raise RuntimeError("crash after the swap, before the commit")

    with pytest.raises(RuntimeError):
        swap_then_crash()
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProtectedIdentifier)) == 30


def test_index_arrays_and_confirmation(sessions) -> None:  # type: ignore[no-untyped-def]
    rows = [*_rows(20), ("other", "k2", "email", "full", _digest("other-key"))]
    _load(sessions, rows)
    with sessions() as session:
        prefixes, subjects = protected.index_arrays(session, "k1")
        assert prefixes.dtype == np.uint64
        assert subjects.dtype == np.uint32
        assert len(prefixes) == 20
        expected = int.from_bytes(_digest("v3")[:8], "big")
        assert expected in set(prefixes.tolist())
        confirmed = protected.confirm_digests(session, [_digest("v3"), _digest("absent")])
        refs = protected.subject_refs(session, confirmed[_digest("v3")])
    assert list(confirmed) == [_digest("v3")]
    assert list(refs.values()) == ["s3"]


def test_a_bulk_load_leaves_the_unique_index_and_the_foreign_key_in_place(sessions) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL loads an empty set with both dropped and rebuilt: they must come back, and work."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import IntegrityError

    _load(sessions, _rows(20))  # an empty set: the bulk path on PostgreSQL
    engine = sessions.kw["bind"]
    inspector = inspect(engine)
    unique = {i["name"]: i for i in inspector.get_indexes("protected_identifiers")}[protected.UNIQUE_INDEX]
    assert (unique["column_names"], bool(unique["unique"])) == (["digest", "subject_id"], True)
    (foreign_key,) = inspector.get_foreign_keys("protected_identifiers")
    assert (foreign_key["referred_table"], foreign_key["options"].get("ondelete")) == ("subjects", "CASCADE")
    with sessions() as session:
        row = session.scalars(select(ProtectedIdentifier).limit(1)).one()
        twin = {"digest": row.digest, "subject_id": row.subject_id}
    orphan = {"digest": _digest("x"), "subject_id": 10**9}
    for values in (twin, orphan):  # the same (digest, subject) twice; a subject that does not exist
        with pytest.raises(IntegrityError), sessions.begin() as session:
            session.add(ProtectedIdentifier(key_id="k1", id_type="phone", form="full", **values))
    assert _load(sessions, _rows(25)).inserted == 5  # then the merge path: only the new rows


def test_both_ways_of_reading_the_index_agree(sessions) -> None:  # type: ignore[no-untyped-def]
    rows = [(f"s{i % 13}", "k1", "phone", "full", _digest(f"w{i}")) for i in range(3000)]
    _load(sessions, [*rows, ("other", "k2", "email", "full", _digest("other-key"))])
    with sessions() as session:
        fast = protected.index_arrays(session, "k1", batch=700)  # several id ranges
        rowwise = protected._index_arrays_rows(session, "k1", 700)
    assert len(fast[0]) == 3000
    assert sorted(zip(fast[0].tolist(), fast[1].tolist(), strict=True)) == sorted(
        zip(rowwise[0].tolist(), rowwise[1].tolist(), strict=True)
    )
    assert fast[0].dtype == np.uint64
    assert fast[1].dtype == np.uint32
