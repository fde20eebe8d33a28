"""The index cache is used while the set is unchanged and rebuilt as soon as it changes."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import numpy as np
import pytest

from leakmon import index_cache
from matchers.confirm import REST_FILE
from matchers.index import ProtectedIndex
from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.repositories import protected
from storage.repositories.protected import ProtectedLoader, set_fingerprint


def _load(sessions, labels: list[str]) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        loader = ProtectedLoader(session)
        loader.stage([("s1", "k1", "phone", "full", hashlib.sha256(x.encode()).digest()) for x in labels])
        loader.finish(replace=False)


def test_cache_follows_the_set(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    _load(sessions, ["a", "b"])
    reads: list[str] = []
    real = protected.index_arrays

    def counting(session, key_id):  # type: ignore[no-untyped-def]
        reads.append(key_id)
        return real(session, key_id)

    monkeypatch.setattr(protected, "index_arrays", counting)
    (tmp_path / "index-v5-k1.npz").write_bytes(b"an old-format cache")
    (tmp_path / "index-v6-k1.bin").write_bytes(b"leakmon-index-v6\nan old-format cache")
    with sessions() as session:
        first = index_cache.load_index_tiers(session, "k1", tmp_path)
    assert not (tmp_path / "index-v5-k1.npz").exists()  # the old formats' files are removed, never read
    assert not (tmp_path / "index-v6-k1.bin").exists()
    with sessions() as session:
        second = index_cache.load_index_tiers(session, "k1", tmp_path)
    assert len(reads) == 1
    assert first[0].keys() == second[0].keys()
    assert all(np.array_equal(first[0][name], second[0][name]) for name in first[0] if name != REST_FILE)
    assert stat.S_IMODE(index_cache.cache_file(tmp_path, "k1").stat().st_mode) == 0o600
    restored = ProtectedIndex.from_tiers(second[0])
    wanted = [int.from_bytes(hashlib.sha256(x.encode()).digest()[:8], "big") for x in ("a", "b", "z")]
    assert restored.lookup(np.array(wanted, dtype=np.uint64)) == {0: (1,), 1: (1,)}  # the cached index works
    _load(sessions, ["c"])
    with sessions() as session:
        third = index_cache.load_index_tiers(session, "k1", tmp_path)
    assert len(reads) == 2
    assert len(ProtectedIndex.from_tiers(third[0])) == 3
    assert third[1] == frozenset({"phone"})  # the types the set holds travel with the index
    engine.dispose()


def test_a_damaged_or_foreign_cache_file_is_rebuilt(db_url: str, tmp_path: Path) -> None:
    """A cut-off file, another fingerprint's file or garbage is never trusted: the set is read again."""
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    _load(sessions, [f"d{i}" for i in range(3000)])
    with sessions() as session:
        mapped, _ = index_cache.load_index_tiers(session, "k1", tmp_path)
    built = {name: np.array(array) for name, array in mapped.items()}  # copied: the file is cut in place below
    del mapped
    path = index_cache.cache_file(tmp_path, "k1")
    whole = path.read_bytes()
    for damaged in (whole[: len(whole) // 2], whole[:20], b"junk", whole.replace(b'"k1:', b'"k9:', 1)):
        path.write_bytes(damaged)
        with sessions() as session:
            again, _ = index_cache.load_index_tiers(session, "k1", tmp_path)
        assert all(np.array_equal(built[name], again[name]) for name in built if name != REST_FILE)
        del again
        assert path.read_bytes() == whole or len(path.read_bytes()) == len(whole)
    engine.dispose()


def test_the_mapped_index_is_read_only_and_the_kernel_scans_it(db_url: str, tmp_path: Path) -> None:
    """The cached arrays are views of the file mapped read-only: the native scan takes them as they are."""
    from matchers.keyed_hash import KeyedHasher

    hasher = KeyedHasher(b"k" * 32, "k1")
    phone = hasher.digest("phone", "821012345678", "full")
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        loader = ProtectedLoader(session)
        loader.stage([("s1", "k1", "phone", "full", phone)])
        loader.stage([(f"x{i}", "k1", "phone", "full", hashlib.sha256(b"%d" % i).digest()) for i in range(2000)])
        loader.finish(replace=False)
    with sessions() as session:
        index_cache.load_index_tiers(session, "k1", tmp_path)  # builds and writes
        tiers, _ = index_cache.load_index_tiers(session, "k1", tmp_path)  # maps
    assert not tiers["flat_keys"].flags.writeable
    written = index_cache.cache_file(tmp_path, "k1").read_bytes()
    for plain in (b"821012345678", b"01012345678", b"010-1234-5678", "821012345678".encode("utf-16-le")):
        assert plain not in written  # digest prefixes only, never the identifier
    index = ProtectedIndex.from_tiers(tiers)
    assert index.lookup_digest(phone) == (1,)
    block = b"call 010-1234-5678 now\n"
    packed = hasher.scan(block, index.kernel_tiers)
    copied = ProtectedIndex.from_tiers({name: np.array(a) for name, a in tiers.items()})
    assert packed  # the kernel found the phone in the mapped index
    assert packed == hasher.scan(block, copied.kernel_tiers)
    assert not hasher.scan(b"call 010-9999-0000 now\n", index.kernel_tiers)
    engine.dispose()


def test_a_v6_cache_of_the_current_set_is_rebuilt_in_the_v7_layout(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """v6 held 8-byte keys (uint64): left by an older leakmon for the very set in the database, it is
    neither read under its own name nor trusted under v7's (its arrays do not fit the layout): the set
    is read again, the v6 file goes, and the index answers as before."""
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    labels = [f"v{i}" for i in range(3000)]
    _load(sessions, labels)
    prefixes = np.array([int.from_bytes(hashlib.sha256(x.encode()).digest()[:8], "big") for x in labels], np.uint64)
    order = np.sort(prefixes)
    v6 = {  # the v6 layout of this set: sorted uint64 keys, 3-byte subject ids, a 5-bit radix table
        "flat_keys": order,
        "flat_subjects": np.zeros(3 * len(order), dtype=np.uint8),
        "flat_radix": np.concatenate(
            ([0], np.cumsum(np.bincount((order >> np.uint64(59)).astype(int), minlength=32)))
        ).astype(np.uint32),
        "group_keys": np.empty(0, dtype=np.uint64),
        "group_offsets": np.zeros(1, dtype=np.uint32),
        "group_subjects": np.empty(0, dtype=np.uint8),
        "group_radix": np.empty(0, dtype=np.uint32),
    }
    with sessions() as session:
        fingerprint = set_fingerprint(session, "k1")
    old = tmp_path / "index-v6-k1.bin"
    monkeypatch.setattr(index_cache, "MAGIC", b"leakmon-index-v6\n")
    index_cache._write(old, fingerprint, (v6, frozenset({"phone"})))
    index_cache._write(index_cache.cache_file(tmp_path, "k1"), fingerprint, (v6, frozenset({"phone"})))
    monkeypatch.undo()
    reads: list[str] = []
    real = protected.index_arrays
    monkeypatch.setattr(
        protected, "index_arrays", lambda session, key_id: reads.append(key_id) or real(session, key_id)
    )
    with sessions() as session:
        tiers, _ = index_cache.load_index_tiers(session, "k1", tmp_path)
    assert reads == ["k1"]
    assert not old.exists()
    assert tiers["flat_keys"].dtype == np.uint8
    index = ProtectedIndex.from_tiers(tiers)
    assert index.lookup(prefixes[:5]) == dict.fromkeys(range(5), (1,))
    with sessions() as session:
        again, _ = index_cache.load_index_tiers(session, "k1", tmp_path)
    assert reads == ["k1"]  # the rebuilt v7 file is read from now on
    assert all(np.array_equal(tiers[name], again[name]) for name in tiers if name != REST_FILE)
    engine.dispose()


def test_a_build_hands_the_freed_heap_back_and_a_cached_load_does_not(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """glibc keeps what the build freed (about 56 MB at 1M identifiers) unless asked to trim."""
    index_cache.release_freed_memory()  # the real one: glibc's malloc_trim, or nothing elsewhere
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    _load(sessions, ["a", "b"])
    trims: list[int] = []
    monkeypatch.setattr(index_cache, "release_freed_memory", lambda: trims.append(1))
    with sessions() as session:
        index_cache.load_index_tiers(session, "k1", tmp_path)
        assert trims == [1, 1]  # the build's, then the built arrays' once the written file is mapped
        index_cache.load_index_tiers(session, "k1", tmp_path)
        assert trims == [1, 1]
        index_cache.load_index_tiers(session, "k1", None)
        assert trims == [1, 1, 1]
    engine.dispose()
