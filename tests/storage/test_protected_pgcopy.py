"""PostgreSQL loading paths: binary COPY streams laid out by numpy equal the per-row reference, and
new subjects drawn as one id range keep every ref with its own id."""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models.core import Subject
from storage.repositories import protected

_REFS = st.lists(st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))), unique=True)


def _reference_subjects(ids: list[int], refs: list[str], now: datetime) -> bytes:
    """The stream as it was built before: a ``struct.pack`` and a join per ref."""
    stamp = struct.pack(">iq", 8, (now - protected._PG_EPOCH) // timedelta(microseconds=1))
    head = struct.Struct(">hiqi").pack
    body = b"".join(head(3, 8, i, len(r.encode())) + r.encode() + stamp for i, r in zip(ids, refs, strict=True))
    return protected._PGCOPY_HEADER + body + protected._PGCOPY_TRAILER


@settings(max_examples=300, deadline=None)
@given(refs=_REFS, first=st.integers(1, 1 << 62), same_width=st.booleans())
def test_subject_stream_equals_the_per_row_reference(refs: list[str], first: int, same_width: bool) -> None:
    """Refs of one width (one matrix) and of mixed widths, ASCII or not, tabs, quotes, backslashes."""
    if same_width and refs:
        refs = list(dict.fromkeys(r.ljust(max(len(s) for s in refs), "x")[:8] for r in refs))
    now = datetime(2026, 12, 7, 23, 59, 1, 123456, tzinfo=UTC)
    encoded = protected._encoded_refs(refs)
    assert encoded is not None
    ids = np.arange(first, first + len(refs), dtype=np.int64)
    assert protected._pgcopy_subjects(ids, *encoded, now) == _reference_subjects(ids.tolist(), refs, now)


def test_a_ref_holding_nul_is_not_copied() -> None:
    assert protected._encoded_refs(["a", "b\x00c"]) is None
    assert protected._encoded_refs(["a", "b"]) is not None


@pytest.fixture
def sessions(db_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def pg_sessions(pg_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(pg_url)
    upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def _digest(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


HOSTILE_REFS = ["plain", "tab\there", "new\nline", "back\\slash", "quote'\"", "김철수", "é", "", " ", "\\N", "a,b"]


def test_new_subjects_by_copy_keep_their_refs_and_the_sequence_moves_past_them(pg_sessions) -> None:  # type: ignore[no-untyped-def]
    """Two batches of new subjects (refs text COPY would have to escape, of mixed and of one width), then
    a batch holding a known ref (the insert-or-ignore path): every digest stays with its ref, and an
    insert that draws its id from the sequence afterwards gets an id past the ranges drawn."""
    batches = [HOSTILE_REFS, [f"w{i:04d}" for i in range(50)], ["w0003", "fresh"]]
    with pg_sessions.begin() as session:
        loader = protected.ProtectedLoader(session)
        for b, refs in enumerate(batches):
            loader.stage([(ref, "k1", "phone", "full", _digest(f"{b}:{ref}")) for ref in refs])
        result = loader.finish(replace=False)
    distinct = {ref for refs in batches for ref in refs}
    assert result.subjects_added == len(distinct)
    with pg_sessions.begin() as session:
        digests = {_digest(f"{b}:{ref}"): ref for b, refs in enumerate(batches) for ref in refs}
        confirmed = protected.confirm_digests(session, list(digests))
        refs_of = protected.subject_refs(session, [s for ids in confirmed.values() for s in ids])
        assert {d: refs_of[ids[0]] for d, ids in confirmed.items()} == digests
        assert session.scalar(select(func.count()).select_from(Subject)) == len(distinct)
        highest = session.scalar(select(func.max(Subject.id)))
        drawn = session.scalar(
            text("INSERT INTO subjects (subject_ref, created_at) VALUES ('later', now()) RETURNING id")
        )
        assert drawn > highest


def test_key_build_settings_sort_in_memory_up_to_a_gigabyte_and_never_lower_the_server() -> None:
    serial = ("max_parallel_maintenance_workers", "0")
    assert protected._key_build_settings(5_000_000, 65536) == [serial, ("maintenance_work_mem", "610MB")]
    assert protected._key_build_settings(80_000_000, 65536) == [serial, ("maintenance_work_mem", "1024MB")]
    assert protected._key_build_settings(1000, 65536) == [serial]  # the server's 64 MB is enough
    assert protected._key_build_settings(10_000_000, 2 << 20) == [serial]  # the server allows 2 GB


def test_a_first_load_writes_frozen_rows_and_restores_the_settings(pg_sessions) -> None:  # type: ignore[no-untyped-def]
    """Into an empty set the rows are copied frozen (the table truncated in the same transaction), so
    the set's pages are all-visible at once (index-only confirmation reads no heap page); the key is
    built serially with more memory, and the settings are back to the session's once the key exists.
    A second (merge) load and a replace keep every row."""
    rows = [(f"s{i % 97}", "k1", "phone", "full", _digest(f"f{i}")) for i in range(5000)]
    with pg_sessions.begin() as session:
        show = "SELECT current_setting('maintenance_work_mem'), current_setting('max_parallel_maintenance_workers')"
        before = session.execute(text(show)).one()
        loader = protected.ProtectedLoader(session)
        loader.stage(rows)
        assert loader.finish(replace=False).inserted == 5000
        assert session.execute(text(show)).one() == before
    with pg_sessions() as session:
        pages, visible = session.execute(
            text("SELECT relpages, relallvisible FROM pg_class WHERE relname = 'protected_identifiers'")
        ).one()
        assert pages > 0
        assert visible == pages
    more = [(f"s{i % 97}", "k1", "phone", "full", _digest(f"f{i}")) for i in range(4000, 6000)]
    with pg_sessions.begin() as session:
        loader = protected.ProtectedLoader(session)
        loader.stage(more)
        assert loader.finish(replace=False).inserted == 1000
    with pg_sessions.begin() as session:
        loader = protected.ProtectedLoader(session)
        loader.stage(more)
        result = loader.finish(replace=True)
        assert (result.removed, result.inserted) == (6000, 2000)
    with pg_sessions() as session:
        assert protected.digest_count(session) == 2000
        assert len(protected.confirm_digests(session, [_digest(f"f{i}") for i in range(6000)])) == 2000


@pytest.mark.parametrize("at_once", [1, 7, 100_000])
def test_subjects_resolved_several_batches_at_once_keep_their_own_ids(sessions, monkeypatch, at_once) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL resolves the refs of several batches in one go: batches of new refs, a ref repeated in a
    later batch of the same window (its COPY fails, the insert-or-ignore takes over) and a ref stored by
    an earlier load, every digest with its own ref; the same on SQLite (one batch at a time)."""
    monkeypatch.setattr(protected, "SUBJECT_REFS_AT_ONCE", at_once)
    with sessions.begin() as session:
        loader = protected.ProtectedLoader(session)
        loader.stage([("old", "k1", "phone", "full", _digest("old"))])
        loader.finish(replace=False)
    batches = [[f"a{i}" for i in range(5)], [f"b{i}" for i in range(4)], ["a2", "c0", "old"], ["d0", "d1"]]
    with sessions.begin() as session:
        loader = protected.ProtectedLoader(session)
        for b, refs in enumerate(batches):
            loader.stage([(ref, "k1", "phone", "full", _digest(f"{b}:{ref}")) for ref in refs])
        result = loader.finish(replace=False)
    assert (result.inserted, result.subjects_added) == (14, 12)
    with sessions() as session:
        digests = {_digest(f"{b}:{ref}"): ref for b, refs in enumerate(batches) for ref in refs}
        digests[_digest("old")] = "old"
        confirmed = protected.confirm_digests(session, list(digests))
        refs_of = protected.subject_refs(session, [s for ids in confirmed.values() for s in ids])
        assert {d: refs_of[ids[0]] for d, ids in confirmed.items()} == digests
        assert session.scalar(select(func.count()).select_from(Subject)) == 13


def _reference_rows(rows: np.ndarray) -> bytes:
    """The digest rows' stream as it was built before: fields assigned into a record array, framed."""
    out = np.empty(len(rows), dtype=protected._PGCOPY_ROW)
    out["fields"], out["prefix_len"], out["subject_len"], out["kind_len"], out["rest_len"] = 4, 8, 8, 2, 24
    out["prefix"], out["subject"], out["kind"], out["rest"] = (
        rows["prefix"],
        rows["subject"],
        rows["kind"],
        rows["rest"],
    )
    return protected._PGCOPY_HEADER + out.tobytes() + protected._PGCOPY_TRAILER


_ROW_VALUES = st.tuples(
    st.integers(-(1 << 63), (1 << 63) - 1),
    st.integers(1, (1 << 63) - 1),
    st.integers(1, 32767),
    st.binary(min_size=24, max_size=24),
)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(_ROW_VALUES, max_size=40), step=st.sampled_from([1, 2]))
def test_digest_row_stream_equals_the_record_array_reference(
    values: list[tuple[int, int, int, bytes]], step: int
) -> None:
    """Extreme prefixes and subject ids, digests of any bytes (tabs, newlines, backslashes, NUL), and a
    strided slice of rows."""
    rows = np.zeros(len(values), dtype=protected.ROW)
    for i, (prefix, subject, kind, rest) in enumerate(values):
        rows[i] = (prefix, subject, kind, rest)
    part = rows[::step]
    assert bytes(protected._pgcopy_rows(part)) == _reference_rows(part)
