"""Confirmation by position in the cached store (matchers.confirm) answers exactly as the database's
``confirm_digests`` / ``confirm_pairs``, on both databases: full and mask forms, grouped and flat
entries, forced 64-bit prefix collisions (inside the set and against it), weak-name pairs, and a
damaged, cut or missing store."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from leakmon import index_cache
from matchers import confirm as confirm_module
from matchers.confirm import REST_FILE, IndexConfirm, RestBuilder, Rests, confirm_pairs, lookup_confirmed
from matchers.engine import Matcher
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher, prefix64
from matchers.protect import protected_digests
from matchers.registry import IdentifierRegistry
from storage.db import make_engine, make_sessionmaker
from storage.driver import Driver
from storage.migrate import upgrade
from storage.repositories import protected

KEY = "k1"
SURNAMES = "김이박최정"
GIVEN = "민서지현우"


def _h(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def _twin(digest: bytes, label: str) -> bytes:
    """A digest with ``digest``'s 64-bit prefix and other 24 bytes."""
    return digest[:8] + _h(label)[:24]


def _people(n: int) -> list[tuple[str, str, str, str]]:
    """(ref, name, phone, e-mail): few names (their mask forms shared by many: grouped), two households."""
    out = []
    for i in range(n):
        name = SURNAMES[i % 5] + GIVEN[(i // 5) % 5] + GIVEN[i % 3]
        phone = f"010-{2000 + i // 3:04d}-{5678 if i % 4 == 0 else 1000 + i:04d}"
        out.append((f"p{i}", name, phone, f"user{i}@example.com"))
    return out


class World:
    """A set with every shape of entry; the digests to ask about."""

    def __init__(self, sessions: sessionmaker[Session], cache: Path) -> None:
        self.sessions = sessions
        self.hasher = KeyedHasher(b"c" * 32, KEY)
        self.registry = IdentifierRegistry.default()
        rows: list[protected.StagedRow] = []
        self.people = _people(60)
        for ref, name, phone, email in self.people:
            for id_type, value in (("name", name), ("phone", phone), ("email", email)):
                for form, digest in protected_digests(self.hasher, id_type, value, self.registry):
                    rows.append((ref, KEY, id_type, form, digest))
        base = [_h(f"base{i}") for i in range(8)]
        # a full digest held by 2 subjects (a flat run) and one held by 5 (grouped)
        rows += [(f"s{i}", KEY, "phone", "full", base[0]) for i in range(2)]
        rows += [(f"s{i}", KEY, "phone", "full", base[1]) for i in range(5)]
        # a flat run of two subjects whose digests differ after the prefix (no clash: per position)
        rows += [("s10", KEY, "phone", "full", base[2]), ("s11", KEY, "phone", "full", _twin(base[2], "other"))]
        # odd: one subject holding two digests under one prefix (one flat position, two digests)
        rows += [("s12", KEY, "email", "full", base[3]), ("s12", KEY, "email", "full", _twin(base[3], "odd"))]
        # odd: two mask digests under one prefix (one group, two digests), and a mask shared by 2 (flat)
        rows += [(f"s{20 + i}", KEY, "name", "p2", base[4]) for i in range(5)]
        rows += [(f"s{30 + i}", KEY, "name", "p2", _twin(base[4], "mask")) for i in range(2)]
        rows += [(f"s{40 + i}", KEY, "name", "p2", base[5]) for i in range(2)]
        # another key's digest: never in this key's index
        rows.append(("s1", "k2", "phone", "full", base[6]))
        with sessions.begin() as session:
            loader = protected.ProtectedLoader(session)
            loader.stage(rows)
            loader.finish(replace=False)
        held = list(dict.fromkeys(d for *_, d in rows))
        # asked: what the set holds, a twin of each (same prefix, other 24 bytes), strangers
        self.asked = held + [_twin(d, f"t{i}") for i, d in enumerate(held)] + [_h(f"x{i}") for i in range(40)]
        with sessions() as session:
            tiers, _ = index_cache.load_index_tiers(session, KEY, cache)
            subject_ids = protected.subject_refs(session, range(1, 10_000))
        self.subjects = sorted(subject_ids)
        self.index = ProtectedIndex.from_tiers(tiers)
        rests = index_cache.rests_of(tiers, self.index)
        assert rests is not None
        self.rests: Rests = rests

    def db_lookup(self, digests: Sequence[bytes]) -> list[tuple[int, tuple[int, ...]]]:
        """What the Matcher's look-up gives with the database's confirmation (Matcher._confirmed)."""
        found = self.index.lookup(prefix64(digests))
        with self.sessions() as session:
            confirmed = protected.confirm_digests(session, [digests[i] for i in found])
        return [(i, tuple(sorted(confirmed[digests[i]]))) for i in found if confirmed.get(digests[i])]

    def local_lookup(self, digests: Sequence[bytes]) -> list[tuple[int, tuple[int, ...]]]:
        tails = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 32)[:, 8:]
        return list(lookup_confirmed(self.index, self.rests, prefix64(digests), tails).items())


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield World(make_sessionmaker(engine), tmp_path / "cache")
    engine.dispose()


def test_the_set_has_every_shape(world: World) -> None:
    flat, group = world.index.tier_sizes
    assert flat > 100
    assert group > 10
    assert len(world.rests.odd) == 2  # the flat and the grouped clash are listed apart
    assert sum(len(rows) for rows in world.rests.odd.values()) == 2 + 7


def test_every_digest_at_once_as_the_database(world: World) -> None:
    asked = world.asked + world.asked[::7]  # repeats too
    random.Random(1).shuffle(asked)
    answer = world.local_lookup(asked)
    assert answer == world.db_lookup(asked)
    assert len(answer) > 300
    with world.sessions() as session:  # the store as built (rows in memory) answers as the file's
        fingerprint = protected.set_fingerprint(session, KEY)
        built = index_cache._build_rests(session, KEY, world.index.tiers, fingerprint)
    assert built is not None
    assert "flat_rests" in built.arrays
    world.rests = built
    assert world.local_lookup(asked) == answer


def test_drawn_digests_as_the_database(world: World) -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.sampled_from(world.asked), max_size=60))
    def check(asked: list[bytes]) -> None:
        assert world.local_lookup(asked) == world.db_lookup(asked)

    check()


def test_drawn_pairs_as_the_database(world: World, db_url: str) -> None:
    """Pairs as the records ask them: digests the index holds a prefix of (the database's answer also
    counts another key's digests, which no index of this key can hold)."""
    subjects = [*world.subjects, 10**6]
    driver = Driver.for_url(db_url)
    indexed = [d for i, d in enumerate(world.asked) if i in world.index.lookup(prefix64(world.asked))]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(st.sampled_from(indexed), st.sampled_from(subjects)), max_size=60))
    def check(pairs: list[tuple[bytes, int]]) -> None:
        with world.sessions() as session:
            expected = protected.confirm_pairs(session, pairs)
        assert confirm_pairs(world.index, world.rests, pairs) == expected
        if driver is not None:
            assert driver.confirm_pairs(pairs) == expected

    check()
    # every pair the set holds, each with a subject that does not hold it
    with world.sessions() as session:
        holders = protected.confirm_digests(session, indexed)
        every = [(d, s) for d, ids in holders.items() for s in ids] + [(d, ids[0] + 1) for d, ids in holders.items()]
        expected = protected.confirm_pairs(session, every)
    assert len(expected) > 500
    assert confirm_pairs(world.index, world.rests, every) == expected
    if driver is not None:
        driver.close()


class _Database:
    """The database's confirmation as the runtime wires it (digests, and pairs for weak values)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.calls = 0

    def __call__(self, digests: Sequence[bytes]) -> Mapping[bytes, Sequence[int]]:
        self.calls += 1
        with self.sessions() as session:
            return protected.confirm_digests(session, digests)

    def pairs(self, pairs: Sequence[tuple[bytes, int]]) -> Collection[tuple[bytes, int]]:
        self.calls += 1
        with self.sessions() as session:
            return protected.confirm_pairs(session, pairs)


def _text(world: World) -> str:
    lines = [f"{name},{phone},{email}" for _, name, phone, email in world.people]
    lines += [f"{name} 010-{3000 + i:04d}-5678 nobody{i}@example.com" for i, (_, name, _, _) in enumerate(world.people)]
    lines.append("이름: " + world.people[3][1] + " 연락처 " + world.people[7][2].replace("-", " "))
    return "\n".join(lines) + "\n"


def _hits(matcher: Matcher, text: str) -> list[str]:
    return [repr(h) for h in matcher.scan_text(text)]


def test_the_matcher_finds_the_same_hits(world: World) -> None:
    database = _Database(world.sessions)
    by_database = Matcher(world.hasher, world.index, world.registry, confirm=database)
    local = IndexConfirm(world.index, world.rests, _Database(world.sessions))
    by_position = Matcher(world.hasher, world.index, world.registry, confirm=local)
    text = _text(world)
    expected = _hits(by_database, text)
    assert len(expected) > 100
    assert any("'name'" in h for h in expected)  # weak names beside strong values: pairs confirmed
    assert database.calls
    assert _hits(by_position, text) == expected
    assert local.fallback.calls == 0  # no database round trip
    assert by_position.lookup(world.asked) == dict(world.db_lookup(world.asked))


def test_a_damaged_store_is_caught_and_the_database_confirms(world: World, tmp_path: Path) -> None:
    path = index_cache.cache_file(tmp_path / "cache", KEY)
    with world.sessions() as session:
        fingerprint = protected.set_fingerprint(session, KEY)
    del world.rests, world.index
    data = bytearray(path.read_bytes())
    tiers = index_cache._read(path, fingerprint)
    assert tiers is not None
    start = int(tiers[0][REST_FILE][1])  # where the flat rows begin in the file
    del tiers
    for at in range(start, start + 24 * 300, 24):
        data[at] ^= 0xFF  # the first byte of 300 rows: each block's checksum no longer matches
    path.write_bytes(bytes(data))  # same length, same fingerprint: only the checksums can tell
    with world.sessions() as session:
        tiers, _ = index_cache.load_index_tiers(session, KEY, tmp_path / "cache")
    index = ProtectedIndex.from_tiers(tiers)
    rests = index_cache.rests_of(tiers, index)
    assert rests is not None
    removed: list[bool] = []
    database = _Database(world.sessions)
    local = IndexConfirm(index, rests, database, on_damage=lambda: removed.append(True))
    world.index = index
    text = _text(world)
    expected = _hits(Matcher(world.hasher, index, world.registry, confirm=_Database(world.sessions)), text)
    assert _hits(Matcher(world.hasher, index, world.registry, confirm=local), text) == expected
    assert removed == [True]
    assert not local.usable
    assert database.calls
    assert local(world.asked) == _Database(world.sessions)(world.asked)


def test_a_cut_store_is_rebuilt(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = index_cache.cache_file(tmp_path / "cache", KEY)
    whole = path.read_bytes()
    del world.rests, world.index
    path.write_bytes(whole[:-100])  # the group rows cut short
    reads: list[str] = []
    real = protected.index_arrays
    monkeypatch.setattr(protected, "index_arrays", lambda s, k: reads.append(k) or real(s, k))
    with world.sessions() as session:
        tiers, _ = index_cache.load_index_tiers(session, KEY, tmp_path / "cache")
    assert reads == [KEY]
    assert index_cache.rests_of(tiers, ProtectedIndex.from_tiers(tiers)) is not None
    assert len(path.read_bytes()) == len(whole)


def test_without_a_store_the_database_confirms(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A set that changed while the store was built leaves no store: the runtime confirms in the database."""
    monkeypatch.setattr(confirm_module.RestBuilder, "finish", lambda self, odd_rows: None)
    with world.sessions() as session:
        tiers, _ = index_cache.load_index_tiers(session, KEY, tmp_path / "other")
        again, _ = index_cache.load_index_tiers(session, KEY, tmp_path / "other")
    assert "flat_rests" not in tiers
    assert "flat_rests" not in again
    assert index_cache.rests_of(again, ProtectedIndex.from_tiers(again)) is None


def test_the_builder_gives_no_store_when_the_set_changed_under_it(world: World) -> None:
    no_odd: Callable[[list[int]], list[tuple[int, bytes, int]]] = lambda prefixes: []  # noqa: E731
    missing = RestBuilder(world.index)  # nothing placed: every entry lacks its row
    assert missing.finish(no_odd) is None
    stray = RestBuilder(world.index)
    stray.add(np.array([12345], dtype=np.uint64), np.array([1]), np.zeros((1, 24), dtype=np.uint8))
    assert stray.strays == 1
    assert stray.finish(no_odd) is None


def test_the_store_keeps_its_file_open_when_the_arrays_are_dropped(world: World, tmp_path: Path) -> None:
    """The store's descriptor is closed with the array that names it: a store made from a cache file
    holds it, so dropping the file's arrays (the runtime keeps only the index and the store) neither
    closes it nor lets a file opened later take its number (the scan read another file's bytes)."""
    import gc

    with world.sessions() as session:
        tiers, _ = index_cache.load_index_tiers(session, KEY, tmp_path / "cache")
    index = ProtectedIndex.from_tiers(tiers)
    rests = index_cache.rests_of(tiers, index)
    assert rests is not None
    del tiers
    gc.collect()
    others = [(tmp_path / f"other{i}").open("wb") for i in range(4)]  # would take a freed descriptor
    try:
        for handle in others:
            handle.write(b"\0" * 8192)
            handle.flush()
        world.index, world.rests = index, rests
        assert world.local_lookup(world.asked) == world.db_lookup(world.asked)
    finally:
        for handle in others:
            handle.close()
