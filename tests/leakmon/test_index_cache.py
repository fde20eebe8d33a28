"""The index cache is used while the set is unchanged and rebuilt as soon as it changes."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import numpy as np
import pytest

from leakmon import index_cache
from matchers.index import ProtectedIndex
from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.repositories.protected import ProtectedLoader


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
    real = index_cache.index_arrays

    def counting(session, key_id):  # type: ignore[no-untyped-def]
        reads.append(key_id)
        return real(session, key_id)

    monkeypatch.setattr(index_cache, "index_arrays", counting)
    (tmp_path / "index-v3-k1.npz").write_bytes(b"an old-format cache")
    with sessions() as session:
        first = index_cache.load_index_tiers(session, "k1", tmp_path)
    assert not (tmp_path / "index-v3-k1.npz").exists()  # the old format's file is removed, never read
    with sessions() as session:
        second = index_cache.load_index_tiers(session, "k1", tmp_path)
    assert len(reads) == 1
    assert first[0].keys() == second[0].keys()
    assert all(np.array_equal(first[0][name], second[0][name]) for name in first[0])
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
