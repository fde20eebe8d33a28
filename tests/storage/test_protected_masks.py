"""Mask-form digests stored once each (``protected_masks``): merged on re-import, confirmed on all 32
bytes, read back into the index as one pair per subject, carried by the migration both ways."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models.core import ProtectedIdentifier, ProtectedMask, Subject
from storage.repositories import protected
from tests.storage.migrations import migrate


def _digest(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def _load(
    sessions: sessionmaker[Session], rows: list[protected.StagedRow], *, replace: bool = False
) -> protected.LoadResult:
    with sessions.begin() as session:
        loader = protected.ProtectedLoader(session)
        loader.stage(rows)
        return loader.finish(replace=replace)


def _masks(subjects: range, digests: int, *, form: str = "p3s4") -> list[protected.StagedRow]:
    """Every subject holds one of ``digests`` shared mask digests (and its own full digest)."""
    rows: list[protected.StagedRow] = []
    for i in subjects:
        rows.append((f"s{i}", "k1", "phone", "full", _digest(f"full{i}")))
        rows.append((f"s{i}", "k1", "phone", form, _digest(f"{form}{i % digests}")))
    return rows


def _stored_pairs(session: Session) -> set[tuple[bytes, str]]:
    """Every stored (digest, subject ref), from both tables."""
    refs = {int(i): str(r) for i, r in session.execute(text("SELECT id, subject_ref FROM subjects"))}
    pairs = {
        (protected.join_digest(p, r), refs[s])
        for p, r, s in session.execute(
            select(ProtectedIdentifier.prefix, ProtectedIdentifier.rest, ProtectedIdentifier.subject_id)
        )
    }
    for p, r, subjects in session.execute(select(ProtectedMask.prefix, ProtectedMask.rest, ProtectedMask.subjects)):
        ids = np.frombuffer(bytes(subjects), dtype=">i8").tolist()
        assert ids == sorted(set(ids))  # sorted, distinct
        pairs |= {(protected.join_digest(p, r), refs[s]) for s in ids}
    return pairs


def _expected(rows: list[protected.StagedRow]) -> set[tuple[bytes, str]]:
    return {(d, s) for s, *_, d in rows}


def test_a_mask_digest_is_one_row_and_a_merge_adds_only_new_subjects(sessions: sessionmaker[Session]) -> None:
    first = _masks(range(0, 30), 4)
    assert _load(sessions, first).inserted == 60
    with sessions() as session:
        assert len(session.scalars(select(ProtectedMask)).all()) == 4
        assert _stored_pairs(session) == _expected(first)
    # Subjects 20-49: 20-29 already stored, 30-49 new (on the same four mask digests).
    second = _masks(range(20, 50), 4)
    result = _load(sessions, second)
    assert (result.inserted, result.subjects_added) == (40, 20)
    assert _load(sessions, first + second).inserted == 0  # idempotent
    with sessions() as session:
        assert len(session.scalars(select(ProtectedMask)).all()) == 4
        assert _stored_pairs(session) == _expected(first + second)
        assert sorted(protected.set_stats(session)) == [("k1", "phone", "full", 50), ("k1", "phone", "p3s4", 50)]
        assert protected.digest_count(session) == 100
        confirmed = protected.confirm_digests(session, [_digest("p3s41"), _digest("p3s49"), _digest("full3")])
        refs = protected.subject_refs(session, [s for ids in confirmed.values() for s in ids])
    assert set(confirmed) == {_digest("p3s41"), _digest("full3")}
    assert sorted(refs[s] for s in confirmed[_digest("p3s41")]) == sorted(f"s{i}" for i in range(1, 50, 4))
    assert [refs[s] for s in confirmed[_digest("full3")]] == ["s3"]


def test_index_arrays_hold_a_pair_per_subject_of_each_mask_digest(sessions: sessionmaker[Session]) -> None:
    rows = [*_masks(range(12), 3), ("x", "k2", "email", "p1d", _digest("other key"))]
    _load(sessions, rows)
    with sessions() as session:
        ids = {str(r): int(i) for r, i in session.execute(text("SELECT subject_ref, id FROM subjects"))}
        prefixes, subjects = protected.index_arrays(session, "k1")
    assert prefixes.dtype == np.uint64
    assert subjects.dtype == np.uint32
    expected = sorted((int.from_bytes(d[:8], "big"), ids[s]) for s, key, *_, d in rows if key == "k1")
    assert sorted(zip(prefixes.tolist(), subjects.tolist(), strict=True)) == expected


def test_two_mask_digests_sharing_a_prefix_stay_apart(sessions: sessionmaker[Session]) -> None:
    """The prefix only pre-filters: two mask digests equal in 8 bytes are two rows, each with its own
    subjects, and confirmation tells them apart on all 32 bytes."""
    a = bytes(8) + b"a" * 24
    b = bytes(8) + b"b" * 24
    rows = [(f"s{i}", "k1", "phone", "p3s4", a if i % 2 else b) for i in range(8)]
    rows += [("s1", "k1", "phone", "p7", a)]  # the same digest under another kind (cannot happen; kept apart)
    assert _load(sessions, rows).inserted == 8
    assert _load(sessions, [*rows, ("s9", "k1", "phone", "p3s4", a)]).inserted == 1
    with sessions() as session:
        confirmed = protected.confirm_digests(session, [a, b, bytes(8) + b"c" * 24])
        refs = protected.subject_refs(session, [s for ids in confirmed.values() for s in ids])
        assert _stored_pairs(session) == _expected([*rows[:8], ("s9", "k1", "phone", "p3s4", a)])
    assert sorted(refs[s] for s in confirmed[a]) == ["s1", "s3", "s5", "s7", "s9"]
    assert sorted(refs[s] for s in confirmed[b]) == ["s0", "s2", "s4", "s6"]


def test_a_spilled_load_with_masks_equals_one_in_memory(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(protected, "SPILL_ROWS", 7)
    monkeypatch.setattr(protected, "WRITE_ROWS", 3)
    monkeypatch.setattr(protected, "SUBJECT_REFS_AT_ONCE", 1)  # PostgreSQL: rows kept as each batch comes
    rows = _masks(range(60), 5) + _masks(range(40, 60), 5, form="p7")
    with sessions.begin() as session:
        loader = protected.ProtectedLoader(session)
        for start in range(0, len(rows), 10):
            loader.stage(rows[start : start + 10])
        assert loader._spill is not None
        assert loader.finish(replace=False).inserted == 60 + 60 + 20
    with sessions() as session:
        assert _stored_pairs(session) == _expected(rows)
        assert sorted(protected.set_stats(session)) == [
            ("k1", "phone", "full", 60),
            ("k1", "phone", "p3s4", 60),
            ("k1", "phone", "p7", 20),
        ]


def test_replace_and_a_failed_load_cover_the_mask_rows(sessions: sessionmaker[Session]) -> None:
    _load(sessions, _masks(range(10), 2))

    def replace_then_crash() -> None:
        with sessions.begin() as session:
            loader = protected.ProtectedLoader(session)
            loader.stage(_masks(range(100, 103), 1, form="p7"))
            loader.finish(replace=True)
            raise RuntimeError("crash after the swap, before the commit")

    with pytest.raises(RuntimeError):
        replace_then_crash()
    with sessions() as session:
        assert _stored_pairs(session) == _expected(_masks(range(10), 2))
    replaced = _masks(range(100, 103), 1, form="p7")
    assert _load(sessions, replaced, replace=True).removed == 20
    with sessions() as session:
        assert _stored_pairs(session) == _expected(replaced)
        assert len(session.scalars(select(ProtectedMask)).all()) == 1


def test_the_migration_carries_mask_rows_over_and_back(db_url: str) -> None:
    """From one row per (mask digest, subject) to one row per mask digest and back, with data: every
    pair survives both ways; confirmation and the index agree before and after."""
    engine = make_engine(db_url)
    migrate(engine, "upgrade", "import_0008_lean_protected")
    full = [(1 + i, _digest(f"f{i}"), 1) for i in range(6)]
    shared = [(1 + i, _digest(f"m{i % 3}"), 2) for i in range(6)] + [(2, bytes(8) + b"x" * 24, 3)]
    shared += [(4, bytes(8) + b"y" * 24, 3), (5, bytes(8) + b"y" * 24, 3)]  # two digests, one prefix
    lean = {
        (int.from_bytes(d[:8], "big", signed=True), s, d[8:], k) for s, d, k in [*full, *shared]
    }  # (prefix, subject_id, rest, kind)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO subjects (id, subject_ref, created_at) VALUES (:id, :ref, '2026-12-07 00:00:00')"),
            [{"id": i, "ref": f"s{i}"} for i in range(1, 7)],
        )
        connection.execute(
            text(
                "INSERT INTO protected_kinds (kind, key_id, id_type, form, digests) VALUES "
                "(1, 'k1', 'phone', 'full', 6), (2, 'k1', 'phone', 'p3s4', 6), (3, 'k1', 'email', 'p1d', 3)"
            )
        )
        connection.execute(
            text("INSERT INTO protected_identifiers (prefix, subject_id, rest, kind) VALUES (:p, :s, :r, :k)"),
            [{"p": p, "s": s, "r": r, "k": k} for p, s, r, k in sorted(lean)],
        )
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        assert len(session.scalars(select(ProtectedIdentifier)).all()) == 6
        assert len(session.scalars(select(ProtectedMask)).all()) == 5
        assert sorted(protected.set_stats(session))[1:] == [("k1", "phone", "full", 6), ("k1", "phone", "p3s4", 6)]
        confirmed = protected.confirm_digests(session, [_digest("m1"), _digest("f2"), bytes(8) + b"y" * 24])
        assert confirmed == {_digest("m1"): (2, 5), _digest("f2"): (3,), bytes(8) + b"y" * 24: (4, 5)}
        prefixes, subjects = protected.index_arrays(session, "k1")
        pairs = sorted(zip(prefixes.astype(np.int64).tolist(), subjects.tolist(), strict=True))
        assert pairs == sorted((p, s) for p, s, _, _ in lean)
    migrate(engine, "downgrade", "import_0008_lean_protected")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT prefix, subject_id, rest, kind FROM protected_identifiers")).all()
        tables = set(connection.dialect.get_table_names(connection))
    assert {(p, s, bytes(r), k) for p, s, r, k in rows} == lean
    assert "protected_masks" not in tables
    upgrade(engine)  # and up again
    with make_sessionmaker(engine)() as session:
        assert len(session.scalars(select(ProtectedMask)).all()) == 5
    engine.dispose()


def test_confirmation_reads_the_primary_key_right_after_a_bulk_load(sessions: sessionmaker[Session]) -> None:
    """PostgreSQL: a bulk load leaves no column statistics, and the planner then scanned the whole set
    for every ``prefix IN (...)`` batch of a scan's confirmations; the load analyzes the set. SQLite
    searches its primary key either way."""
    rows = [(f"s{i % 500}", "k1", "phone", "full", _digest(f"plan{i}")) for i in range(20_000)]
    _load(sessions, rows)
    wanted = ",".join(str(int.from_bytes(_digest(f"plan{i}")[:8], "big", signed=True)) for i in range(0, 20_000, 200))
    query = f"SELECT prefix, rest, subject_id FROM protected_identifiers WHERE prefix IN ({wanted})"  # noqa: S608
    with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            plan = str(session.execute(text(f"EXPLAIN (FORMAT JSON) {query}")).scalar_one())
            assert "Seq Scan" not in plan, plan
            assert "pk_protected_identifiers" in plan, plan
        else:
            plan = " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {query}")))
            assert "PRIMARY KEY" in plan, plan
        assert len(protected.confirm_digests(session, [_digest(f"plan{i}") for i in range(0, 20_000, 200)])) == 100


def test_subject_refs_with_copy_escapes_are_stored_exactly(sessions: sessionmaker[Session]) -> None:
    """PostgreSQL writes new subjects by text COPY: tabs, newlines, backslashes and quotes in a ref must
    come back unchanged, and a later load (new and known refs) keeps every ref on its own id."""
    refs = ["a\tb", "c\\nd", "e\nf", "g\\h", 'i"j', "k\rl", "plain", "한글"]
    first = [(ref, "k1", "phone", "full", _digest(f"esc{ref}")) for ref in refs]
    assert _load(sessions, first).subjects_added == len(refs)
    second = [(ref, "k1", "phone", "full", _digest(f"again{ref}")) for ref in [*refs[2:], "new\t1", "new2"]]
    assert _load(sessions, second).subjects_added == 2
    third = [(f"later{i}", "k1", "phone", "full", _digest(f"later{i}")) for i in range(3)]
    assert _load(sessions, third).subjects_added == 3
    with sessions() as session:
        assert _stored_pairs(session) == _expected(first + second + third)
        stored = session.execute(text("SELECT subject_ref FROM subjects")).scalars().all()
        created = session.scalars(select(Subject.created_at)).all()
    assert sorted(stored) == sorted([*refs, "new\t1", "new2", "later0", "later1", "later2"])
    now = datetime.now(UTC)
    assert all(now - timedelta(minutes=5) < at <= now for at in created), created


def test_confirm_pairs_finds_mask_form_pairs(sessions: sessionmaker[Session]) -> None:
    """A name's mask form ("김*연") is a weak value confirmed per (digest, subject): the pair must be found
    in the mask row's subjects, and a subject or a same-prefix twin the row does not hold must not."""
    masked = _digest("kim*yeon")
    twin = masked[:8] + bytes(24)
    rows = [(f"s{i}", "k1", "name", "fl", masked) for i in range(0, 40, 2)]
    rows += [(f"s{i}", "k1", "name", "full", _digest(f"name{i}")) for i in range(40)]
    _load(sessions, rows)
    with sessions() as session:
        ids = {str(r): int(i) for r, i in session.execute(text("SELECT subject_ref, id FROM subjects"))}
        asked = [(masked, ids[f"s{i}"]) for i in range(40)] + [(twin, ids["s0"]), (_digest("name3"), ids["s3"])]
        confirmed = protected.confirm_pairs(session, asked)
    assert confirmed == {(masked, ids[f"s{i}"]) for i in range(0, 40, 2)} | {(_digest("name3"), ids["s3"])}
