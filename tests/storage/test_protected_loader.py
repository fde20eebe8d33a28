"""The protected-set loader: idempotent merge, atomic replace, index arrays and confirmation."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from sqlalchemy import func, select

from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models.core import ProtectedIdentifier, ProtectedMask, Subject
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
        digests = {
            protected.join_digest(p, r)
            for p, r in session.execute(select(ProtectedIdentifier.prefix, ProtectedIdentifier.rest))
        }
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


def test_confirm_pairs_holds_exactly_the_stored_digest_and_subject_pairs(sessions) -> None:  # type: ignore[no-untyped-def]
    """A name beside a phone is confirmed for the phone's subject alone: (digest, subject) pairs, each
    a primary-key seek; a twin of a stored prefix with other bytes after it is not confirmed, nor is
    a stored digest under another subject. More pairs than one statement's parameters allow."""
    shared = [(f"s{i}", "k1", "name", "full", _digest("kim")) for i in range(1200)]  # a name 1,200 hold
    _load(sessions, [*shared, ("t0", "k1", "phone", "full", _digest("phone"))])
    with sessions() as session:
        ids: dict[str, int] = dict(session.execute(select(Subject.subject_ref, Subject.id)).all())
        twin = _digest("kim")[:8] + bytes(24)  # same prefix, other 24 bytes
        wanted = [(_digest("kim"), ids[f"s{i}"]) for i in range(1200)]
        asked = [*wanted, (_digest("kim"), ids["t0"]), (twin, ids["s1"]), (_digest("absent"), ids["s2"])]
        asked += [(_digest("phone"), ids["t0"]), (_digest("phone"), ids["s3"]), wanted[0]]
        confirmed = protected.confirm_pairs(session, asked)
    assert confirmed == {*wanted, (_digest("phone"), ids["t0"])}
    with sessions() as session:
        assert protected.confirm_pairs(session, []) == set()


def test_a_bulk_load_leaves_the_primary_key_in_place(sessions) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL loads an empty set with its primary key dropped and rebuilt: it must come back, and
    work; every stored subject id is one the loader created (there is no foreign key to check it)."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import IntegrityError

    _load(sessions, _rows(20))  # an empty set: the bulk path on PostgreSQL
    engine = sessions.kw["bind"]
    key = inspect(engine).get_pk_constraint("protected_identifiers")
    assert key["constrained_columns"] == ["prefix", "subject_id", "rest"]
    with sessions() as session:
        row = session.scalars(select(ProtectedIdentifier).limit(1)).one()
        twin = {"prefix": row.prefix, "rest": row.rest, "subject_id": row.subject_id}
        stored = set(session.scalars(select(ProtectedIdentifier.subject_id).distinct()))
        assert stored == set(session.scalars(select(Subject.id)))
    with pytest.raises(IntegrityError), sessions.begin() as session:  # the same (digest, subject) twice
        session.add(ProtectedIdentifier(kind=1, **twin))
    assert _load(sessions, _rows(25)).inserted == 5  # then the merge path: only the new rows


def test_no_digest_is_stored_whole_and_the_counts_are_exact(sessions) -> None:  # type: ignore[no-untyped-def]
    """The set keeps 8 + 24 bytes per digest and a kind number; stats come from exact kind counts."""
    rows = [*_rows(20), *[(f"m{i}", "k1", "phone", "p3s4", _digest(f"m{i % 4}")) for i in range(12)]]
    result = _load(sessions, rows)
    assert result.inserted == 20 + 12
    with sessions() as session:
        stored = session.execute(select(ProtectedIdentifier.prefix, ProtectedIdentifier.rest)).all()
        masks = session.execute(select(ProtectedMask.prefix, ProtectedMask.rest, ProtectedMask.subjects)).all()
        assert all(len(rest) == 24 for _, rest in stored)
        assert all(len(rest) == 24 and len(subjects) == 3 * 8 for _, rest, subjects in masks)
        assert len(stored) == 20  # the full forms a row per (digest, subject), the mask forms a row per digest
        assert len(masks) == 4
        assert {protected.join_digest(p, r) for p, r, *_ in [*stored, *masks]} == {d for *_, d in rows}
        assert sorted(protected.set_stats(session)) == [("k1", "phone", "full", 20), ("k1", "phone", "p3s4", 12)]
    again = _load(sessions, [*rows, ("s0", "k1", "email", "full", _digest("e"))])
    assert again.inserted == 1
    with sessions() as session:
        assert ("k1", "email", "full", 1) in list(protected.set_stats(session))
        assert protected.set_types(session, "k1") == frozenset({"phone", "email"})


def test_one_subject_two_digests_sharing_a_prefix(sessions) -> None:  # type: ignore[no-untyped-def]
    """A prefix is only the pre-filter: two digests equal in 8 bytes stay two rows, and confirmation
    tells them apart on all 32 bytes."""
    a = bytes(8) + b"a" * 24
    b = bytes(8) + b"b" * 24
    rows = [("s1", "k1", "phone", "full", d) for d in (b, a, b, a)] + [("s2", "k1", "phone", "full", a)]
    assert _load(sessions, rows).inserted == 3
    with sessions() as session:
        confirmed = protected.confirm_digests(session, [a, b, bytes(8) + b"c" * 24])
        prefixes, _subjects = protected.index_arrays(session, "k1")
    assert set(confirmed) == {a, b}
    assert len(confirmed[a]) == 2
    assert len(confirmed[b]) == 1
    assert prefixes.tolist() == [0, 0, 0]


def test_a_load_spilled_to_disk_equals_one_in_memory(sessions, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Rows beyond SPILL_ROWS go to bucket files; the stored set and counts are the same."""
    monkeypatch.setattr(protected, "SPILL_ROWS", 7)
    monkeypatch.setattr(protected, "WRITE_ROWS", 3)  # and written in slices
    monkeypatch.setattr(protected, "SUBJECT_REFS_AT_ONCE", 1)  # PostgreSQL: rows kept as each batch comes
    rows = [(f"s{i % 5}", "k1", "phone", "full", _digest(f"x{i % 40}")) for i in range(120)]
    with sessions.begin() as session:
        loader = protected.ProtectedLoader(session)
        for start in range(0, len(rows), 10):
            loader.stage(rows[start : start + 10])
        assert loader._spill is not None
        result = loader.finish(replace=False)
    assert result.inserted == 40
    with sessions() as session:
        keys = session.execute(
            select(ProtectedIdentifier.prefix, ProtectedIdentifier.subject_id, ProtectedIdentifier.rest)
        ).all()
        assert list(protected.set_stats(session)) == [("k1", "phone", "full", 40)]
    assert len(keys) == 40


def test_both_ways_of_reading_the_index_agree(sessions) -> None:  # type: ignore[no-untyped-def]
    rows = [(f"s{i % 13}", "k1", "phone", "full", _digest(f"w{i}")) for i in range(3000)]
    _load(sessions, [*rows, ("other", "k2", "email", "full", _digest("other-key"))])
    with sessions() as session:
        fast = protected.index_arrays(session, "k1", batch=700)  # several prefix ranges
        whole = protected.index_arrays(session, "k1", batch=10**9)  # one
        expected = [int.from_bytes(_digest(f"w{i}")[:8], "big") for i in range(3000)]
    assert len(fast[0]) == 3000
    assert sorted(zip(fast[0].tolist(), fast[1].tolist(), strict=True)) == sorted(
        zip(whole[0].tolist(), whole[1].tolist(), strict=True)
    )
    assert sorted(fast[0].tolist()) == sorted(expected)
    assert fast[0].dtype == np.uint64
    assert fast[1].dtype == np.uint32


def test_new_and_known_subjects_in_one_batch_keep_their_own_ids(sessions) -> None:  # type: ignore[no-untyped-def]
    """A batch mixing refs stored by an earlier load with new ones: every digest stays with its ref."""
    _load(sessions, [(f"r{i}", "k1", "phone", "full", _digest(f"a{i}")) for i in range(6)])
    second = [(f"r{i}", "k1", "phone", "full", _digest(f"b{i}")) for i in range(3, 10)]
    result = _load(sessions, second)
    assert (result.inserted, result.subjects_added) == (7, 4)
    with sessions() as session:
        digests = [_digest(f"a{i}") for i in range(6)] + [_digest(f"b{i}") for i in range(3, 10)]
        confirmed = protected.confirm_digests(session, digests)
        refs = protected.subject_refs(session, [s for ids in confirmed.values() for s in ids])
        assert session.scalar(select(func.count()).select_from(Subject)) == 10
    by_digest = {d: refs[ids[0]] for d, ids in confirmed.items()}
    assert by_digest == {_digest(f"{p}{i}"): f"r{i}" for p, n in (("a", range(6)), ("b", range(3, 10))) for i in n}


def test_a_merge_counts_exactly_the_new_rows_across_insert_statements(sessions) -> None:  # type: ignore[no-untyped-def]
    """Rows go in by multi-row statements (SQLite): a merge of more rows than one statement holds, half
    of them stored already, adds and counts exactly the others."""
    rows = [(f"s{i % 7}", "k1", "phone", "full", _digest(f"v{i}")) for i in range(900)]
    first = _load(sessions, rows[:600])
    again = _load(sessions, rows[300:])
    assert (first.inserted, again.inserted, again.staged) == (600, 300, 600)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProtectedIdentifier)) == 900
        assert protected.digest_count(session) == 900
        assert set(protected.confirm_digests(session, [_digest(f"v{i}") for i in range(0, 1200, 7)])) == {
            _digest(f"v{i}") for i in range(0, 900, 7)
        }


@pytest.mark.parametrize("subjects", [(1, 4), (1, 1 << 40), (1 << 61, (1 << 61) + 3), (1, 1 << 62)])
def test_sort_unique_equals_sorting_the_distinct_rows(subjects: tuple[int, int]) -> None:
    """The bucket sort (prefix, then runs by subject, then runs by rest) against sorted(set(...)); subject
    ids small and large (runs and subjects packed into one sort key, or too wide for it)."""
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(0, 200))
        rows = np.zeros(n, dtype=protected.ROW)
        rows["prefix"] = rng.integers(-3, 3, n)
        rows["subject"] = rng.integers(*subjects, n)
        rest = np.zeros((n, 24), dtype=np.uint8)
        rest[:, int(rng.integers(0, 24))] = rng.integers(0, 3, n)
        rows["rest"] = np.frombuffer(rest.tobytes(), dtype="V24")
        expected = sorted(set(_triples(rows)))
        assert _triples(protected._sort_unique(rows.copy())) == expected


def _triples(rows: np.ndarray) -> list[tuple[int, int, bytes]]:
    return [(int(p), int(s), bytes(r)) for p, s, r in zip(rows["prefix"], rows["subject"], rows["rest"], strict=True)]


def test_postgresql_index_arrays_are_parsed_as_the_copy_streams(pg_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The binary COPY is cut into slices as it comes (records split across blocks and slices), never
    held whole: it used to be held three times over (blocks, their join, the body), about 900 MB
    for the 11M digests of 1M users. The slices go straight into the final arrays."""
    import tracemalloc

    engine = make_engine(pg_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    rows = [(f"s{i % 13}", "k1", "phone", "full", _digest(f"m{i}")) for i in range(40_000)]
    _load(sessions, rows)
    with sessions() as session:
        monkeypatch.setattr(protected, "_COPY_SLICE", 1 << 30)  # one slice: the whole stream
        whole = protected.index_arrays(session, "k1")
        monkeypatch.setattr(protected, "_COPY_SLICE", 64 << 10)
        tracemalloc.start()
        sliced = protected.index_arrays(session, "k1")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    engine.dispose()
    assert len(sliced[0]) == 40_000
    assert sliced[0].tolist() == whole[0].tolist()
    assert sliced[1].tolist() == whole[1].tolist()
    assert sorted(sliced[0].tolist()) == sorted(int.from_bytes(_digest(f"m{i}")[:8], "big") for i in range(40_000))
    # the arrays (12 bytes a digest, written in place since the set's counts size them; 24 while a
    # list of parts was joined at the end) and one slice
    assert peak < 18 * 40_000
