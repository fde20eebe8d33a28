"""The in-memory protected index: sorted 64-bit digest prefixes -> subject ids.

Layout (two tiers, both sorted by prefix, built automatically from flat arrays):
- *flat*: one (uint64 prefix, subject id) pair per entry. Holds every prefix shared by fewer than
  ``group_min`` subjects (full forms: nearly all of them).
- *grouped*: prefixes shared by many subjects (partial forms such as ``010-****-5678``) are stored
  once with a CSR offset, so each extra subject costs only its id.
Subject ids take 3 bytes each while every id is below 2^24 (16.7M subjects), 4 bytes beyond: a
full-form entry costs 11 bytes plus at most 1/8 byte of radix table. Only the keys and the radix
tables are read per candidate (by the kernel); subject ids only for the rare hits.
Look-ups are batched: sort the queries once, then ``searchsorted`` in both tiers (the native kernel
binary-searches the same two sorted arrays).
A 64-bit prefix has ~N/2^64 false positives per query; pass ``confirm`` to the Matcher to check
the full digest in storage and bring false positives to zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]

#: The arrays a built index consists of (what a cache stores, so a run does not build it again).
TIERS = (
    "flat_keys",
    "flat_subjects",
    "flat_radix",
    "group_keys",
    "group_offsets",
    "group_subjects",
    "group_radix",
)


#: Subject ids below this are stored in 3 bytes each (little-endian, a flat uint8 array).
NARROW_LIMIT = 1 << 24


def pack_ids(ids: U32) -> npt.NDArray[np.uint8] | U32:
    """``ids`` in 3 bytes each (a uint8 array of 3 bytes per id) when they all fit, else unchanged."""
    if len(ids) and int(ids.max()) >= NARROW_LIMIT:
        return ids
    return np.ascontiguousarray(ids.astype("<u4").view(np.uint8).reshape(-1, 4)[:, :3]).reshape(-1)


def unpack_ids(packed: npt.NDArray[np.unsignedinteger], start: int, stop: int) -> list[int]:
    """Ids ``start:stop`` of an array :func:`pack_ids` returned."""
    if packed.dtype != np.uint8:
        return [int(i) for i in packed[start:stop].tolist()]
    b = packed[3 * start : 3 * stop].reshape(-1, 3).astype(np.uint32)
    return [int(i) for i in (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)).tolist()]


def first_ids(packed: npt.NDArray[np.unsignedinteger], starts: npt.NDArray[np.intp]) -> npt.NDArray[np.uint32]:
    """Id ``starts[i]`` of an array :func:`pack_ids` returned, for every i (one gather, no loop)."""
    if packed.dtype != np.uint8:
        return packed[starts].astype(np.uint32)
    at = 3 * starts
    low, mid, high = (packed[at + k].astype(np.uint32) for k in range(3))
    ids: npt.NDArray[np.uint32] = low | (mid << np.uint32(8)) | (high << np.uint32(16))
    return ids


#: Arrays smaller than this are binary-searched without a radix table.
RADIX_MIN = 1024


def radix_table(keys: U64) -> U32:
    """Offsets into sorted ``keys`` by their top bits (32-64 keys per slot, 2^bits + 1 entries, at most
    1/8 byte per key): the kernel reads one slot, then binary-searches a few cache lines (empty: no table)."""
    if len(keys) < RADIX_MIN:
        return np.empty(0, dtype=np.uint32)
    bits = len(keys).bit_length() - 6
    counts = np.bincount((keys >> np.uint64(64 - bits)).astype(np.intp), minlength=1 << bits)
    table = np.zeros((1 << bits) + 1, dtype=np.uint32)
    table[1:] = np.cumsum(counts)
    return table


def _run_starts(keys: U64) -> npt.NDArray[np.intp]:
    if len(keys) == 0:
        return np.empty(0, dtype=np.intp)
    change = np.empty(len(keys), dtype=bool)
    change[0] = True
    np.not_equal(keys[1:], keys[:-1], out=change[1:])
    return np.flatnonzero(change)


class ProtectedIndex:
    """Sorted digest-prefix index; several subjects may share a prefix (shared phone, partial forms)."""

    def __init__(
        self,
        prefixes: npt.ArrayLike,
        subjects: npt.ArrayLike,
        *,
        group_min: int = 4,
        presorted: bool = False,
        domains: frozenset[str] | None = None,
    ) -> None:
        #: The digest domains the index holds (None: unknown). A domain it lacks cannot match, so
        #: the Matcher does not extract that type at all (no recall lost).
        self.domains = domains
        keys = np.ascontiguousarray(prefixes, dtype=np.uint64)
        subs = np.ascontiguousarray(subjects, dtype=np.uint32)
        if keys.shape != subs.shape or keys.ndim != 1:
            raise ValueError("prefixes and subjects must be 1-d arrays of equal length")
        if not presorted:
            order = np.lexsort((subs, keys))
            keys, subs = keys[order], subs[order]
        if len(keys) > 1:  # drop duplicate (prefix, subject) pairs (re-imports, equal partial forms)
            keep = np.empty(len(keys), dtype=bool)
            keep[0] = True
            keep[1:] = (keys[1:] != keys[:-1]) | (subs[1:] != subs[:-1])
            if not keep.all():
                keys, subs = keys[keep], subs[keep]
        starts = _run_starts(keys)
        counts = np.diff(np.append(starts, len(keys)))
        big = counts >= group_min
        in_group = np.repeat(big, counts)
        self._flat_keys: U64 = keys[~in_group]
        self._flat_subjects = pack_ids(subs[~in_group])
        self._group_keys: U64 = keys[starts[big]]
        offset_type = np.uint32 if len(keys) < 2**32 else np.uint64
        self._group_offsets = np.concatenate(([0], np.cumsum(counts[big]))).astype(offset_type)
        self._group_subjects = pack_ids(subs[in_group])
        self._pairs = len(keys)
        self._flat_radix = radix_table(self._flat_keys)
        self._group_radix = radix_table(self._group_keys)

    @property
    def tiers(self) -> dict[str, npt.NDArray[np.unsignedinteger]]:
        """The built arrays by name (:data:`TIERS`): :meth:`from_tiers` restores the index from them."""
        return {name: getattr(self, f"_{name}") for name in TIERS}

    @classmethod
    def from_tiers(
        cls, tiers: Mapping[str, npt.NDArray[np.unsignedinteger]], *, domains: frozenset[str] | None = None
    ) -> ProtectedIndex:
        """An index from arrays :attr:`tiers` returned earlier (a cache), without building it again."""
        index = cls.__new__(cls)
        index.domains = domains
        for name in TIERS:
            setattr(index, f"_{name}", np.ascontiguousarray(tiers[name]))
        narrow = index._group_subjects.dtype == np.uint8
        index._pairs = len(index._flat_keys) + len(index._group_subjects) // (3 if narrow else 1)
        return index

    @classmethod
    def from_digests(cls, pairs: Iterable[tuple[bytes, int]]) -> ProtectedIndex:
        """Build from (32-byte digest, subject id) pairs (tests, small sets)."""
        items = list(pairs)
        prefixes = np.array([int.from_bytes(d[:8], "big") for d, _ in items], dtype=np.uint64)
        return cls(prefixes, np.array([s for _, s in items], dtype=np.uint32))

    def holds(self, domain: str) -> bool:
        """False only when the index is known to hold no digest of ``domain``."""
        return self.domains is None or domain in self.domains

    def __len__(self) -> int:
        return self._pairs

    def __repr__(self) -> str:
        return f"ProtectedIndex(entries={self._pairs}, nbytes={self.nbytes})"

    @property
    def kernel_tiers(self) -> tuple[U64, U32, U64, U32]:
        """(flat keys, their radix table, grouped keys, theirs): what the native kernel searches."""
        return self._flat_keys, self._flat_radix, self._group_keys, self._group_radix

    @property
    def nbytes(self) -> int:
        """Memory held by the index arrays."""
        return sum(
            a.nbytes
            for a in (
                self._flat_keys,
                self._flat_subjects,
                self._flat_radix,
                self._group_keys,
                self._group_offsets,
                self._group_subjects,
                self._group_radix,
            )
        )

    def lookup(self, queries: npt.ArrayLike) -> dict[int, tuple[int, ...]]:
        """For each query prefix present in the index: query position -> sorted subject ids."""
        q = np.ascontiguousarray(queries, dtype=np.uint64)
        found: dict[int, tuple[int, ...]] = {}
        if len(q) == 0 or self._pairs == 0:
            return found
        order = np.argsort(q)  # duplicates may come in any order: each still maps to its own position
        sq = q[order]
        keys = self._flat_keys
        if len(keys):
            lo = np.searchsorted(keys, sq, "left")
            present = np.flatnonzero(keys[np.minimum(lo, len(keys) - 1)] == sq)
            if len(present):  # the hits: where each run of equal prefixes ends
                lo_hit = lo[present]
                hi_hit = np.searchsorted(keys, sq[present], "right")
                subs = self._flat_subjects
                firsts = first_ids(subs, lo_hit).tolist()  # nearly every run is one subject: in bulk
                for k, a, b, first in zip(
                    order[present].tolist(), lo_hit.tolist(), hi_hit.tolist(), firsts, strict=True
                ):
                    found[k] = (first,) if b - a == 1 else tuple(unpack_ids(subs, a, b))
        if len(self._group_keys):
            pos = np.searchsorted(self._group_keys, sq, "left")
            pos_c = np.minimum(pos, len(self._group_keys) - 1)
            hit = self._group_keys[pos_c] == sq
            offsets, subs = self._group_offsets, self._group_subjects
            for k in np.flatnonzero(hit).tolist():
                g = int(pos_c[k])
                found[int(order[k])] = tuple(unpack_ids(subs, int(offsets[g]), int(offsets[g + 1])))
        return found

    def lookup_digest(self, digest: bytes) -> tuple[int, ...]:
        """Subject ids for one digest (empty when absent)."""
        return self.lookup(np.array([int.from_bytes(digest[:8], "big")], dtype=np.uint64)).get(0, ())
