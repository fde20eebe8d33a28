"""The in-memory protected index: sorted 64-bit digest prefixes -> subject ids.

Layout (two tiers, both sorted by prefix, built automatically from flat arrays):
- *flat*: one (prefix, subject id) pair per entry. Holds every prefix shared by fewer than
  ``group_min`` subjects (full forms: nearly all of them).
- *grouped*: prefixes shared by many subjects (partial forms such as ``010-****-5678``) are stored
  once with a CSR offset, so each extra subject costs only its id.
Each tier's keys sit in one uint8 array, little-endian, :func:`key_width` bytes each, under a radix
table (uint32 offsets by the keys' top ``bits`` bits, :func:`radix_table`):
- from :data:`NARROW_MIN` keys up (bits >= 16): 6 bytes, the 48 bits that follow the radix slot's
  ``bits`` implied top bits (``prefix << bits >> 16``). As bits + 48 >= 64, nothing of the 64-bit prefix
  is dropped: look-ups answer exactly as with 8-byte keys.
- smaller tiers: the whole 64-bit prefix in 8 bytes (a 16-bit radix table would cost more than it saves).
Subject ids take 3 bytes each while every id is below 2^24 (16.7M subjects), 4 bytes beyond. A
full-form entry of a big index costs 6 + 3 bytes plus its share of the radix table: 9.26 B/identifier
at 1M (the 2^16-slot table is 0.26 B), 9.10 B at 10M, at most 10 from 262k identifiers up.
Only the keys and the radix tables are read per candidate (by the kernel); subject ids only for the
rare hits. Look-ups are batched: the native kernel and :meth:`ProtectedIndex.lookup` (numpy, a
vectorized binary search within each query's radix slot) search the same arrays.
A 64-bit prefix has ~N/2^64 false positives per query; pass ``confirm`` to the Matcher to check
the full digest (in the database, or by position in the cached confirmation store:
:mod:`matchers.confirm`) and bring false positives to zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

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


#: Elements converted at a time by the packing functions (their temporaries stay this small).
CHUNK = 1 << 20


def pack_ids(ids: U32) -> npt.NDArray[np.uint8] | U32:
    """``ids`` in 3 bytes each (a uint8 array of 3 bytes per id) when they all fit, else unchanged."""
    if len(ids) and int(ids.max()) >= NARROW_LIMIT:
        return ids
    packed = np.empty((len(ids), 3), dtype=np.uint8)
    for start in range(0, len(ids), CHUNK):
        part = np.ascontiguousarray(ids[start : start + CHUNK], dtype="<u4")
        packed[start : start + CHUNK] = part.view(np.uint8).reshape(-1, 4)[:, :3]
    return packed.reshape(-1)


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
#: Radix bits from which keys are stored in 6 bytes (``LK_NARROW_BITS`` in matchers/kernel/scan.h).
NARROW_BITS = 16
#: Tiers of at least this many keys get a radix table of at least :data:`NARROW_BITS` bits and 6-byte
#: keys: 2 bytes saved per key outweigh the table's 256 KiB from here on.
NARROW_MIN = 1 << 17

U8 = npt.NDArray[np.uint8]


def radix_bits(n: int) -> int:
    """The radix table's bits for a tier of ``n`` keys (0: no table): 32-64 keys per slot, and at least
    :data:`NARROW_BITS` from :data:`NARROW_MIN` keys up (then 6-byte keys)."""
    if n < RADIX_MIN:
        return 0
    bits = n.bit_length() - 6
    return max(bits, NARROW_BITS) if n >= NARROW_MIN else bits


def key_width(bits: int) -> int:
    """Bytes per stored key under a radix table of ``bits`` bits (``LK_KEY_WIDTH`` in scan.h)."""
    return 6 if bits >= NARROW_BITS else 8


def table_bits(radix: npt.NDArray[np.unsignedinteger]) -> int:
    """The bits of a radix table (2^bits + 1 entries; empty: 0)."""
    return 0 if len(radix) == 0 else (len(radix) - 1).bit_length() - 1


def radix_table(keys: U64, bits: int | None = None) -> U32:
    """Offsets into sorted 64-bit ``keys`` by their top ``bits`` bits (default :func:`radix_bits`;
    2^bits + 1 entries): the kernel reads one slot, then searches a few cache lines (empty: no table).
    Each slot's start is a binary search of the sorted keys (no temporary as long as the keys)."""
    bits = radix_bits(len(keys)) if bits is None else bits
    if bits == 0:
        return np.empty(0, dtype=np.uint32)
    table = np.empty((1 << bits) + 1, dtype=np.uint32)
    table[:-1] = np.searchsorted(keys, np.arange(1 << bits, dtype=np.uint64) << np.uint64(64 - bits))
    table[-1] = len(keys)
    return table


def stored_keys(prefixes: U64, bits: int) -> U64:
    """The sorted 64-bit ``prefixes`` as a tier under a ``bits``-bit radix table compares them: whole,
    or (6-byte keys) the 48 bits after the top ``bits`` (which the radix slot implies)."""
    if key_width(bits) == 8:
        return prefixes
    return (prefixes << np.uint64(bits)) >> np.uint64(16)


def pack_keys(prefixes: U64, bits: int) -> U8:
    """Sorted 64-bit ``prefixes`` as the tier stores them: :func:`key_width` little-endian bytes each."""
    width = key_width(bits)
    packed = np.empty((len(prefixes), width), dtype=np.uint8)
    for start in range(0, len(prefixes), CHUNK):
        wide = np.ascontiguousarray(stored_keys(prefixes[start : start + CHUNK], bits), dtype="<u8")
        packed[start : start + CHUNK] = wide.view(np.uint8).reshape(-1, 8)[:, :width]
    return packed.reshape(-1)


#: A 6-byte key as numpy reads it: low 32 bits, then high 16 (little-endian, packed).
KEY6 = np.dtype([("low", "<u4"), ("high", "<u2")])


def keys_at(packed: U8, width: int, at: npt.NDArray[np.intp]) -> U64:
    """Stored keys ``at`` positions of a tier's packed keys, as 64-bit integers (one gather)."""
    if width == 8:
        return packed.view("<u8")[at].astype(np.uint64)
    rows = packed.view(KEY6)[at]
    keys: U64 = rows["low"].astype(np.uint64) | (rows["high"].astype(np.uint64) << np.uint64(32))
    return keys


class Tier:
    """One tier's sorted packed keys and radix table, searched like the kernel searches them."""

    def __init__(self, keys: U8, radix: U32) -> None:
        self.keys, self.radix = keys, radix
        self.bits = table_bits(radix)
        self.width = key_width(self.bits)
        if len(keys) % self.width or (len(radix) and (len(radix) != (1 << self.bits) + 1 or radix[0] != 0)):
            raise ValueError("a tier's keys and radix table do not fit together")
        self.n = len(keys) // self.width
        if len(radix) and int(radix[-1]) != self.n:
            raise ValueError("a tier's keys and radix table do not fit together")

    def find(self, q: U64) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """For each prefix in ``q``: the positions [lo, hi) of the keys equal to it (lo == hi: absent)."""
        if self.bits:
            slot = (q >> np.uint64(64 - self.bits)).astype(np.intp)
            lo, hi = self.radix[slot].astype(np.intp), self.radix[slot + 1].astype(np.intp)
        else:
            lo, hi = np.zeros(len(q), dtype=np.intp), np.full(len(q), self.n, dtype=np.intp)
        qk = stored_keys(q, self.bits)
        first = self._bound(qk, lo, hi, right=False)
        last = first.copy()
        held = np.flatnonzero(first < hi)
        held = held[keys_at(self.keys, self.width, first[held]) == qk[held]]
        last[held] += 1  # a run of one key (nearly all): done; longer runs are searched for their end
        longer = held[last[held] < hi[held]]
        longer = longer[keys_at(self.keys, self.width, last[longer]) == qk[longer]]
        if len(longer):
            last[longer] = self._bound(qk[longer], last[longer], hi[longer], right=True)
        return first, last

    def _bound(
        self, qk: U64, lo: npt.NDArray[np.intp], hi: npt.NDArray[np.intp], *, right: bool
    ) -> npt.NDArray[np.intp]:
        """Vectorized binary search of each qk within its own [lo, hi): the first key >= qk (> with right)."""
        lo, hi = lo.copy(), hi.copy()
        active = np.flatnonzero(lo < hi)
        while len(active):
            mid = (lo[active] + hi[active]) // 2
            key = keys_at(self.keys, self.width, mid)
            after = key <= qk[active] if right else key < qk[active]
            lo[active[after]] = mid[after] + 1
            hi[active[~after]] = mid[~after]
            active = active[lo[active] < hi[active]]
        return lo


def sort_pairs(prefixes: U64, subjects: U32) -> tuple[U64, U32]:
    """(prefix, subject) pairs sorted by prefix, then subject, as new arrays.

    A lexsort of the whole set held about 40 bytes a pair besides its input (the order, its work
    arrays, the permuted copies): 440 MB for the 11M pairs of 1M users. The pairs are sorted a slice
    of the prefixes' top bits at a time instead (digests spread them evenly; :data:`CHUNK` pairs a
    slice or so), so only the 12-byte output, a byte a pair and one slice's work are held."""
    n = len(prefixes)
    if n <= 2 * CHUNK:
        order = np.lexsort((subjects, prefixes))
        return prefixes[order], subjects[order]
    bits = min(8, (n // CHUNK).bit_length())
    shift = np.uint64(64 - bits)
    top = np.empty(n, dtype=np.uint8)
    for start in range(0, n, CHUNK):
        top[start : start + CHUNK] = prefixes[start : start + CHUNK] >> shift
    keys, subs = np.empty(n, dtype=np.uint64), np.empty(n, dtype=np.uint32)
    at = 0
    for slot in range(1 << bits):
        members = np.flatnonzero(top == slot)
        part_keys, part_subs = prefixes[members], subjects[members]
        order = np.lexsort((part_subs, part_keys))
        keys[at : at + len(members)] = part_keys[order]
        subs[at : at + len(members)] = part_subs[order]
        at += len(members)
    return keys, subs


def _run_changes(keys: U64) -> npt.NDArray[np.bool_]:
    """True where a run of equal (sorted) keys starts."""
    change = np.empty(len(keys), dtype=bool)
    if len(keys):
        change[0] = True
        np.not_equal(keys[1:], keys[:-1], out=change[1:])
    return change


def _in_long_runs(keys: U64, change: npt.NDArray[np.bool_], least: int) -> npt.NDArray[np.bool_]:
    """True for each (sorted) key whose run of equal keys is at least ``least`` long.

    A key is in such a run when some window of ``least`` keys around it starts and ends equal: one
    byte a key, not the run starts and lengths (two 8-byte integers a distinct key)."""
    n = len(keys)
    if least <= 1:
        return np.ones(n, dtype=bool)
    if least > 64:  # few callers (tests): run starts and lengths
        starts = np.flatnonzero(change)
        counts = np.diff(np.append(starts, n))
        return np.repeat(counts >= least, counts)
    long_run = np.zeros(n, dtype=bool)
    if n < least:
        return long_run
    window = keys[: n - least + 1] == keys[least - 1 :]  # window j: keys j .. j + least - 1 are equal
    for shift in range(least):
        long_run[shift : shift + len(window)] |= window
    return long_run


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
            keys, subs = sort_pairs(keys, subs)
        if len(keys) > 1:  # drop duplicate (prefix, subject) pairs (re-imports, equal partial forms)
            keep = np.empty(len(keys), dtype=bool)
            keep[0] = True
            keep[1:] = (keys[1:] != keys[:-1]) | (subs[1:] != subs[:-1])
            if not keep.all():
                keys, subs = keys[keep], subs[keep]
        # Only arrays of a byte a pair besides the tiers themselves (see sort_pairs for why)
        change = _run_changes(keys)
        in_group = _in_long_runs(keys, change, group_min)
        group: U64 = keys[change & in_group]
        offset_type = np.uint32 if len(keys) < 2**32 else np.uint64
        grouped = change[in_group]  # where each group's subjects start among the grouped pairs
        self._group_offsets = np.append(np.flatnonzero(grouped), len(grouped)).astype(offset_type)
        self._group_subjects = pack_ids(subs[in_group])
        del change, grouped
        flat_pairs = ~in_group
        del in_group
        flat: U64 = keys[flat_pairs]
        self._flat_subjects = pack_ids(subs[flat_pairs])
        self._pairs = len(keys)
        del keys, subs, flat_pairs
        bits = radix_bits(len(flat))
        self._flat_radix = radix_table(flat, bits)
        self._flat_keys = pack_keys(flat, bits)
        bits = radix_bits(len(group))
        self._group_radix = radix_table(group, bits)
        self._group_keys = pack_keys(group, bits)
        self._searched()

    def _searched(self) -> None:
        """The two tiers as :meth:`lookup` searches them (checks that keys and radix tables fit)."""
        self._flat = Tier(self._flat_keys, self._flat_radix)
        self._group = Tier(self._group_keys, self._group_radix)
        if len(self._group_offsets) != self._group.n + 1:
            raise ValueError("the grouped tier's keys and offsets do not fit together")

    @property
    def tiers(self) -> dict[str, npt.NDArray[np.unsignedinteger]]:
        """The built arrays by name (:data:`TIERS`): :meth:`from_tiers` restores the index from them."""
        return {name: getattr(self, f"_{name}") for name in TIERS}

    @classmethod
    def from_tiers(
        cls, tiers: Mapping[str, npt.NDArray[np.unsignedinteger]], *, domains: frozenset[str] | None = None
    ) -> ProtectedIndex:
        """An index from arrays :attr:`tiers` returned earlier (a cache), without building it again.

        Raises ValueError when the arrays do not fit together (another layout, a damaged file)."""
        index = cls.__new__(cls)
        index.domains = domains
        for name in TIERS:
            setattr(index, f"_{name}", np.ascontiguousarray(tiers[name]))
        if index._flat_keys.dtype != np.uint8 or index._group_keys.dtype != np.uint8:
            raise ValueError("the index's keys must be packed bytes")
        index._searched()
        narrow = index._group_subjects.dtype == np.uint8
        index._pairs = index._flat.n + len(index._group_subjects) // (3 if narrow else 1)
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
    def kernel_tiers(self) -> tuple[U8, U32, U8, U32]:
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

    @property
    def tier_sizes(self) -> tuple[int, int]:
        """(flat entries, group keys): the rows a confirmation store (:mod:`matchers.confirm`) holds."""
        return self._flat.n, self._group.n

    @property
    def flat_subjects(self) -> npt.NDArray[np.unsignedinteger]:
        """The flat tier's subject ids, packed (:func:`pack_ids`), one per entry."""
        return self._flat_subjects

    @property
    def group_members(self) -> tuple[npt.NDArray[Any], npt.NDArray[np.unsignedinteger]]:
        """(offsets, packed subject ids) of the grouped tier: group g holds ids offsets[g]:offsets[g + 1]."""
        return self._group_offsets, self._group_subjects

    def positions(self, q: U64) -> tuple[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]], ...]:
        """Per tier (flat, grouped): the positions [lo, hi) of the entries of each prefix in ``q``."""
        empty = np.zeros(len(q), dtype=np.intp)
        return tuple(tier.find(q) if tier.n else (empty, empty) for tier in (self._flat, self._group))

    def lookup(self, queries: npt.ArrayLike) -> dict[int, tuple[int, ...]]:
        """For each query prefix present in the index: query position -> sorted subject ids.

        Entries come in the order of the query prefixes' values (flat tier first, then grouped):
        callers iterate the answer, so that order is part of what a hit looks like."""
        q = np.ascontiguousarray(queries, dtype=np.uint64)
        found: dict[int, tuple[int, ...]] = {}
        if len(q) == 0 or self._pairs == 0:
            return found
        order = np.argsort(q)  # duplicates may come in any order: each still maps to its own position
        sq = q[order]
        if self._flat.n:
            lo, hi = self._flat.find(sq)
            present = np.flatnonzero(hi > lo)
            if len(present):
                lo_hit, hi_hit = lo[present], hi[present]
                subs = self._flat_subjects
                firsts = first_ids(subs, lo_hit).tolist()  # nearly every run is one subject: in bulk
                for k, a, b, first in zip(
                    order[present].tolist(), lo_hit.tolist(), hi_hit.tolist(), firsts, strict=True
                ):
                    found[k] = (first,) if b - a == 1 else tuple(unpack_ids(subs, a, b))
        if self._group.n:
            lo, hi = self._group.find(sq)
            present = np.flatnonzero(hi > lo)
            offsets, subs = self._group_offsets, self._group_subjects
            for k, g in zip(order[present].tolist(), lo[present].tolist(), strict=True):
                found[k] = tuple(unpack_ids(subs, int(offsets[g]), int(offsets[g + 1])))
        return found

    def lookup_digest(self, digest: bytes) -> tuple[int, ...]:
        """Subject ids for one digest (empty when absent)."""
        return self.lookup(np.array([int.from_bytes(digest[:8], "big")], dtype=np.uint64)).get(0, ())
