"""The protected index cached in the workspace, so a run neither re-reads 50M rows nor rebuilds it.

The cache is keyed by the set's fingerprint (key id, the version token every load writes and its
digest count; read from the set's summary, never by scanning the set): any import, replace or
rotation changes it and the index is rebuilt from the database. The file holds the built index's
arrays (:data:`matchers.index.TIERS`: digest prefixes, as sensitive as the database's digests) and
its confirmation store (:data:`matchers.confirm.REST_ARRAYS`: the other 24 bytes of each entry's
digest, so index hits are confirmed by position instead of in the database; keyed digests only, like
the database's, never a plaintext identifier) and is written with mode 0600, to a temporary name and
then renamed over the old file (a process that still maps the old file keeps reading it unchanged).

Layout (v8): a magic line, the header's length (8 bytes, little-endian), a JSON header (fingerprint,
types, each array's dtype, length and offset), then the arrays at page-aligned offsets. Loading maps
the file read-only and views the arrays in place: no copy, no parse, and only the pages a scan
touches are read (a 10M-identifier index starts in milliseconds instead of reading 100-200 MB).
A file whose arrays do not fit together (cut off, another layout) is rebuilt; the store's rows carry
block checksums checked as hits read them (:mod:`matchers.confirm`). A file without a store (the set
changed while it was built) leaves confirmation to the database.
"""

from __future__ import annotations

import json
import mmap
import os
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from matchers.confirm import REST_ARRAYS, REST_FILE, RestBuilder, Rests
from matchers.index import TIERS, ProtectedIndex, sort_pairs

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Tiers = dict[str, npt.NDArray[np.unsignedinteger]]
#: (the built index's arrays by name, the identifier types the set holds)
IndexData = tuple[Tiers, frozenset[str]]


#: Bumped when the file's layout changes (v2: sorted arrays; v3: the set's types; v4: the built
#: index's arrays; v5: subject ids in 3 bytes; v6: one mapped file instead of an .npz; v7: keys packed
#: in bytes, 6 each under a 16-bit or wider radix table; v8: the confirmation store), so an old file is
#: never trusted.
CACHE_FORMAT = "v8"
MAGIC = b"leakmon-index-v8\n"
_ALIGN = 4096
_OLD_FILES = (
    "index-{key_id}.npz",
    "index-v2-{key_id}.npz",
    "index-v3-{key_id}.npz",
    "index-v4-{key_id}.npz",
    "index-v5-{key_id}.npz",
    "index-v6-{key_id}.bin",
    "index-v7-{key_id}.bin",
)
#: Masks listing this many subjects or more are grouped in the index (its default ``group_min``): one
#: of their rows gives the group's 24 bytes.
_GROUPED = 4


def load_index_tiers(session: Session, key_id: str, cache_dir: Path | None) -> IndexData:
    """The built index of the set under ``key_id`` and its types, from the cache when current.

    A cached file also holds the confirmation store (:data:`REST_ARRAYS` among the arrays; absent when
    the set changed during the build); the uncached index has none (confirmed in the database)."""
    from storage.repositories.protected import set_fingerprint

    fingerprint = set_fingerprint(session, key_id)
    if cache_dir is None:
        return _build(session, key_id)
    path = cache_file(cache_dir, key_id)
    cached = _read(path, fingerprint)
    if cached is not None:
        return cached
    data = _build(session, key_id)
    rests = _build_rests(session, key_id, data[0], fingerprint)
    if rests is not None:
        data[0].update(rests.arrays)
    del rests
    _write(path, fingerprint, data)
    for old in _OLD_FILES:  # earlier layouts: stale, never read again
        (cache_dir / old.format(key_id=key_id)).unlink(missing_ok=True)
    mapped = _read(path, fingerprint)  # the store's rows are read where hits fall, not held in the heap
    if mapped is not None:
        del data
        release_freed_memory()
        return mapped
    return data


def rests_of(tiers: Tiers, index: ProtectedIndex) -> Rests | None:
    """The confirmation store among a cached file's arrays, if it holds one that fits ``index``."""
    if not all(name in tiers for name in REST_ARRAYS[:3]) or not (
        REST_FILE in tiers or all(name in tiers for name in REST_ARRAYS[3:])
    ):
        return None
    try:
        rests = Rests(tiers)
    except ValueError:
        return None
    return rests if rests.fits(index) else None


def _build_rests(session: Session, key_id: str, tiers: Tiers, fingerprint: str) -> Rests | None:
    """The confirmation store of the index just built (None: the set changed meanwhile)."""
    from storage.repositories.protected import digest_rows, mask_digests, prefix_rows, set_fingerprint

    builder = RestBuilder(ProtectedIndex.from_tiers(tiers))
    for prefixes, subjects, tails in digest_rows(session, key_id):
        builder.add(prefixes, subjects, tails)
    batch: list[tuple[int, bytes, np.ndarray]] = []
    pending = 0
    for prefix, rest, subjects in mask_digests(session, key_id):
        batch.append((prefix, rest, subjects[:1] if len(subjects) >= _GROUPED else subjects))
        pending += min(len(subjects), _GROUPED)
        if pending >= 1 << 16:
            _add_masks(builder, batch)
            batch, pending = [], 0
    _add_masks(builder, batch)
    rests = builder.finish(lambda prefixes: prefix_rows(session, key_id, prefixes))
    if rests is not None and set_fingerprint(session, key_id) != fingerprint:
        return None
    return rests


def _add_masks(builder: RestBuilder, batch: list[tuple[int, bytes, npt.NDArray[np.int64]]]) -> None:
    """Mask digests' rows (a row per subject listed) into ``builder``."""
    if not batch:
        return
    counts = [len(subjects) for _, _, subjects in batch]
    prefixes = np.repeat(np.array([p for p, _, _ in batch], dtype=np.uint64), counts)
    tails = np.repeat(np.frombuffer(b"".join(r for _, r, _ in batch), dtype=np.uint8).reshape(-1, 24), counts, axis=0)
    builder.add(prefixes, np.concatenate([s for _, _, s in batch]), tails)


def cached_index(cache_dir: Path, key_id: str, fingerprint: str) -> IndexData | None:
    """The cached index when it is the set's with ``fingerprint`` (read without the database: a
    scan's start-up reads the fingerprint on the DB-API driver, see :mod:`storage.driver`)."""
    return _read(cache_file(cache_dir, key_id), fingerprint)


def cache_file(cache_dir: Path, key_id: str) -> Path:
    return cache_dir / f"index-{CACHE_FORMAT}-{key_id}.bin"


def _build(session: Session, key_id: str) -> IndexData:
    """Built from the database: the pairs as read are dropped once sorted, before the tiers are made
    (held through the build they were 12 bytes a pair more at its peak)."""
    from storage.repositories.protected import index_arrays, set_types

    prefixes, subjects = index_arrays(session, key_id)
    prefixes, subjects = sort_pairs(prefixes, subjects)
    tiers = ProtectedIndex(prefixes, subjects, presorted=True).tiers
    del prefixes, subjects
    release_freed_memory()
    return tiers, set_types(session, key_id)


def release_freed_memory() -> None:
    """Hand the heap the build freed back to the system (glibc keeps freed memory in its arenas:
    about 56 MB at 1M identifiers, held by a scan for its whole run). glibc only; elsewhere nothing."""
    try:
        os.confstr("CS_GNU_LIBC_VERSION")  # raises where the C library is not glibc
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (ValueError, OSError, AttributeError):
        return


def _data_start(header_size: int) -> int:
    """Where the arrays begin: the first page boundary after the magic, length and header."""
    return -(-(len(MAGIC) + 8 + header_size) // _ALIGN) * _ALIGN


def _read(path: Path, fingerprint: str) -> IndexData | None:
    """The cached arrays as read-only views of the mapped file (None when absent, stale or damaged).

    The confirmation store's rows are not mapped: :data:`REST_FILE` tells where they lie in the file,
    open on a descriptor of its own (closed with the array that holds it)."""
    try:
        with path.open("rb") as handle:
            if handle.read(len(MAGIC)) != MAGIC:
                return None
            size = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(size))
            if header.get("fingerprint") != fingerprint:
                return None
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            start = _data_start(size)
            if len(mapped) != start + int(header["data"]):  # cut off (or grown): never trusted
                return None
            tiers: Tiers = {}
            stored = all(name in header["arrays"] for name in REST_ARRAYS)
            for name in (*TIERS, *(REST_ARRAYS[:3] if stored else ())):
                dtype, count, offset = header["arrays"][name]
                tiers[name] = (
                    np.frombuffer(mapped, dtype=np.dtype(dtype), count=count, offset=start + offset)
                    if count
                    else np.empty(0, dtype=np.dtype(dtype))
                )
            index = ProtectedIndex.from_tiers(tiers)  # the arrays fit together (raises ValueError otherwise)
            if stored:
                where = [header["arrays"][f"{tier}_rests"] for tier in ("flat", "group")]
                if any(
                    np.dtype(dtype) != np.uint8 or offset + count > int(header["data"])
                    for dtype, count, offset in where
                ):
                    return None
                tiers[REST_FILE] = _file_of(handle, [(start + offset, count) for _, count, offset in where])
                if rests_of(tiers, index) is None:
                    return None  # a store that does not fit its index: rebuilt
        return tiers, frozenset(header["types"])
    except (OSError, KeyError, ValueError, TypeError):
        return None


def _file_of(handle: Any, spans: list[tuple[int, int]]) -> npt.NDArray[np.uint64]:
    """:data:`REST_FILE` for ``spans`` (offset, bytes) of the open file ``handle`` (a descriptor of its own)."""
    fd = os.dup(handle.fileno())
    where = np.array([fd, *(value for span in spans for value in span)], dtype=np.uint64)
    weakref.finalize(where, os.close, fd)
    return where


def _write(path: Path, fingerprint: str, data: IndexData) -> None:
    tiers, types = data
    names = (*TIERS, *(REST_ARRAYS if all(name in tiers for name in REST_ARRAYS) else ()))
    arrays = {name: np.ascontiguousarray(tiers[name]) for name in names}
    specs: dict[str, Any] = {}
    offset = 0  # from the start of the data
    for name, array in arrays.items():
        specs[name] = [array.dtype.str, len(array), offset]
        offset += -(-array.nbytes // _ALIGN) * _ALIGN
    header = {"fingerprint": fingerprint, "types": sorted(types), "arrays": specs, "data": offset}
    encoded = json.dumps(header).encode()
    start = _data_start(len(encoded))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(MAGIC + len(encoded).to_bytes(8, "little") + encoded)
        for name, array in arrays.items():
            handle.seek(start + specs[name][2])
            handle.write(array.data)
        handle.truncate(start + offset)
    tmp.replace(path)
