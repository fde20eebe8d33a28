"""The protected index cached in the workspace, so a run neither re-reads 50M rows nor rebuilds it.

The cache is keyed by the set's fingerprint (key id, the version token every load writes, the top
row id; read from the set's summary, never by scanning the set): any import, replace or rotation
changes it and the index is rebuilt from the database. The file holds the built index's arrays
(:data:`matchers.index.TIERS`: digest prefixes, as sensitive as the database's digests) and is
written with mode 0600. Loading it restores the index without sorting or grouping again (about
1 s of CPU per run saved at 10M entries), with the identifier types the set holds (the matcher
does not scan for a type the set lacks).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from matchers.index import TIERS, ProtectedIndex
from storage.repositories.protected import index_arrays, set_fingerprint, set_types

Tiers = dict[str, npt.NDArray[np.unsignedinteger]]
#: (the built index's arrays by name, the identifier types the set holds)
IndexData = tuple[Tiers, frozenset[str]]


#: Bumped when the file's layout changes (v2: sorted arrays; v3: the set's types; v4: the built
#: index's arrays; v5: subject ids in 3 bytes), so an old file is never trusted.
CACHE_FORMAT = "v5"
_OLD_FILES = ("index-{key_id}.npz", "index-v2-{key_id}.npz", "index-v3-{key_id}.npz", "index-v4-{key_id}.npz")


def load_index_tiers(session: Session, key_id: str, cache_dir: Path | None) -> IndexData:
    """The built index of the set under ``key_id`` and its types, from the cache when current."""
    fingerprint = set_fingerprint(session, key_id)
    if cache_dir is None:
        return _build(session, key_id)
    path = cache_file(cache_dir, key_id)
    cached = _read(path, fingerprint)
    if cached is not None:
        return cached
    data = _build(session, key_id)
    _write(path, fingerprint, data)
    for old in _OLD_FILES:  # earlier layouts: stale, never read again
        (cache_dir / old.format(key_id=key_id)).unlink(missing_ok=True)
    return data


def cache_file(cache_dir: Path, key_id: str) -> Path:
    return cache_dir / f"index-{CACHE_FORMAT}-{key_id}.npz"


def _build(session: Session, key_id: str) -> IndexData:
    return ProtectedIndex(*index_arrays(session, key_id)).tiers, set_types(session, key_id)


def _read(path: Path, fingerprint: str) -> IndexData | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["fingerprint"]) != fingerprint:
                return None
            types = frozenset(str(t) for t in data["types"].tolist())
            return {name: data[name] for name in TIERS}, types
    except (OSError, KeyError, ValueError):
        return None


def _write(path: Path, fingerprint: str, data: IndexData) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        arrays: dict[str, Any] = {"fingerprint": np.array(fingerprint), "types": np.array(sorted(data[1]), dtype=str)}
        arrays.update(data[0])
        np.savez(handle, **arrays)
    tmp.replace(path)
