"""Index hits confirmed by position, without a database round trip.

The index (:mod:`matchers.index`) finds candidates by 64-bit digest prefix. Its confirmation store
(:class:`Rests`) holds the other 24 bytes of each entry's full digest, aligned with the index's sorted
keys: one row per flat entry (a (prefix, subject) pair), one per group key. A hit is confirmed where
the look-up found it: the rows at its positions are compared with the hit's 24 bytes in numpy, in bulk.
A prefix under which the set holds more than one digest for one position (a 64-bit collision inside
the set: about 3e-6 at 11M digests) is an *odd* prefix: all its (rest, subject) rows are listed apart
and confirm the hits on it. Answers equal the database's (``confirm_digests`` / ``confirm_pairs``) on
the snapshot the index was built from; the database stays the reference and confirms when there is
no store (an uncached run) or the store is found damaged.

Integrity: a CRC-32 per block of :data:`BLOCK_ROWS` rows, checked the first time a process reads the
block (a damaged block raises :class:`DamagedRests`; :class:`IndexConfirm` then confirms in the
database for the rest of the run). Memory: the store stays in the cache file, read with ``pread`` a
block at a time for hits only (never mapped: no page of it counts in the scan's RSS).
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from matchers.index import ProtectedIndex, first_ids, unpack_ids

log = logging.getLogger(__name__)

U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
IntP = npt.NDArray[np.intp]

#: Digest bytes after the 8-byte prefix.
TAIL = 24
#: Rows per checksummed block (3 KiB): the unit a store in a file is read in.
BLOCK_ROWS = 128
#: The arrays of a store by name (how a cache file stores them, after :data:`matchers.index.TIERS`).
REST_ARRAYS = ("flat_crcs", "group_crcs", "odd_rows", "flat_rests", "group_rests")
#: Where a store's rows lie in an open cache file (instead of its rows: see :class:`Rests`): uint64
#: [file descriptor, flat rows' offset, their bytes, grouped rows' offset, their bytes].
REST_FILE = "rests_file"
#: One odd row: the prefix (as the index sorts it), the subject id, the other 24 bytes.
ODD = np.dtype([("prefix", "<u8"), ("subject", "<u4"), ("rest", "V24")])


class DamagedRests(ValueError):
    """A block of the confirmation store does not match its checksum."""


def block_crcs(rows: U8) -> U32:
    """CRC-32 of each block of :data:`BLOCK_ROWS` rows of a store's tier (a flat uint8 array)."""
    size = BLOCK_ROWS * TAIL
    view = np.ascontiguousarray(rows).data
    return np.array([zlib.crc32(view[at : at + size]) for at in range(0, len(rows), size)], dtype=np.uint32)


class Rests:
    """The confirmation store: 24 bytes per flat entry and per group key, their checksums, odd rows.

    The rows are arrays (a store just built), or (:data:`REST_FILE`) lie in an open file and are read
    with ``pread``, a block of :data:`BLOCK_ROWS` at a time: a mapped store's pages counted in the
    scan's RSS (fault-around maps 64 KiB a touch: a thousand hits mapped a 24 MB store whole)."""

    def __init__(self, arrays: Mapping[str, npt.NDArray[Any]]) -> None:
        self._crcs = {tier: np.asarray(arrays[f"{tier}_crcs"]) for tier in ("flat", "group")}
        self._rows: dict[str, U8] = {}
        self._file: dict[str, tuple[int, int, int]] = {}  # tier -> (fd, offset, bytes)
        if REST_FILE in arrays:
            self._source = arrays[REST_FILE]  # held: its descriptor is closed with it
            fd, flat_at, flat_size, group_at, group_size = (int(v) for v in self._source)
            self._file = {"flat": (fd, flat_at, flat_size), "group": (fd, group_at, group_size)}
        else:
            self._rows = {tier: np.asarray(arrays[f"{tier}_rests"]) for tier in ("flat", "group")}
        for tier, crcs in self._crcs.items():
            size = self._size(tier)
            if size % TAIL or len(crcs) != -(-size // (BLOCK_ROWS * TAIL)):
                raise ValueError("the confirmation store's rows and checksums do not fit together")
            if tier in self._rows and self._rows[tier].dtype != np.uint8:
                raise ValueError("the confirmation store's rows must be bytes")
        self._checked = {tier: np.zeros(len(crcs), dtype=bool) for tier, crcs in self._crcs.items()}
        odd = np.asarray(arrays["odd_rows"])
        if odd.dtype != np.uint8 or len(odd) % ODD.itemsize:
            raise ValueError("the confirmation store's odd rows are damaged")
        rows = odd.view(ODD)
        self.odd: dict[int, list[tuple[bytes, int]]] = {}
        for prefix, subject, rest in zip(rows["prefix"].tolist(), rows["subject"].tolist(), rows["rest"], strict=True):
            self.odd.setdefault(prefix, []).append((bytes(rest), subject))
        self._odd_prefixes = np.array(sorted(self.odd), dtype=np.uint64)

    def _size(self, tier: str) -> int:
        return self._file[tier][2] if self._file else len(self._rows[tier])

    @property
    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The store's arrays by name (:data:`REST_ARRAYS`; a store read from a file has no rows)."""
        odd = np.array([(p, s, r) for p, held in sorted(self.odd.items()) for r, s in held], dtype=ODD)
        return {
            "flat_crcs": self._crcs["flat"],
            "group_crcs": self._crcs["group"],
            "odd_rows": odd.view(np.uint8),
            **{f"{tier}_rests": rows for tier, rows in self._rows.items()},
        }

    def fits(self, index: ProtectedIndex) -> bool:
        """Whether the store has one row per entry of ``index``'s tiers."""
        flat, group = index.tier_sizes
        return self._size("flat") == flat * TAIL and self._size("group") == group * TAIL

    def rows(self, tier: str, at: IntP) -> U8:
        """Rows ``at`` positions of ``tier`` (n x 24), their blocks checked first (:class:`DamagedRests`)."""
        if not len(at):
            return np.empty((0, TAIL), dtype=np.uint8)
        size = BLOCK_ROWS * TAIL
        blocks, inverse = np.unique(at // BLOCK_ROWS, return_inverse=True)
        checked, crcs = self._checked[tier], self._crcs[tier]
        if tier in self._file:
            fd, offset, total = self._file[tier]
            read = bytearray(len(blocks) * size)
            for i, block in enumerate(blocks.tolist()):
                data = os.pread(fd, min(size, total - block * size), offset + block * size)
                if not checked[block]:
                    self._check(tier, block, data, int(crcs[block]))
                read[i * size : i * size + len(data)] = data
            held: U8 = np.frombuffer(read, dtype=np.uint8).reshape(len(blocks), BLOCK_ROWS, TAIL)
            return held[inverse.reshape(-1), at % BLOCK_ROWS]
        rows = self._rows[tier]
        for block in blocks[~checked[blocks]].tolist():
            self._check(tier, block, rows.data[block * size : (block + 1) * size], int(crcs[block]))
        out: U8 = rows.reshape(-1, TAIL)[at]
        return out

    def _check(self, tier: str, block: int, data: Any, crc: int) -> None:
        if zlib.crc32(data) != crc:
            raise DamagedRests(f"block {block} of the {tier} confirmation rows does not match its checksum")
        self._checked[tier][block] = True

    def odd_subjects(self, prefix: int, tail: bytes) -> list[int]:
        """The subjects holding the digest ``prefix`` + ``tail`` under an odd prefix, sorted."""
        return sorted({s for rest, s in self.odd.get(prefix, ()) if rest == tail})

    def odd_queries(self, sq: U64) -> IntP:
        """Positions in sorted queries ``sq`` whose prefix is odd."""
        if not len(self._odd_prefixes):
            return np.empty(0, dtype=np.intp)
        return np.flatnonzero(np.isin(sq, self._odd_prefixes))


def lookup_confirmed(index: ProtectedIndex, rests: Rests, queries: U64, tails: U8) -> dict[int, tuple[int, ...]]:
    """:meth:`ProtectedIndex.lookup` of ``queries`` (64-bit prefixes) with each full digest confirmed:
    ``tails`` holds each query's other 24 bytes (n x 24). The same answer, in the same order, as the
    look-up followed by the database's ``confirm_digests``."""
    q = np.ascontiguousarray(queries, dtype=np.uint64)
    if len(q) == 0 or len(index) == 0:
        return {}
    order = np.argsort(q)  # as ProtectedIndex.lookup sorts them: the answer's order is its order
    sq, st = q[order], np.asarray(tails).reshape(-1, TAIL)[order]
    odd = rests.odd_queries(sq)
    tiers: list[dict[int, tuple[int, ...]]] = []
    for tier, (lo, hi) in zip(("flat", "group"), index.positions(sq), strict=True):
        got: dict[int, tuple[int, ...]] = {}
        present = np.flatnonzero(hi > lo)
        if len(odd):
            present = present[~np.isin(present, odd)]
        if tier == "flat":
            _flat_confirmed(index, rests, present, lo, hi, st, got)
        elif len(present):
            g = lo[present]
            same = (rests.rows("group", g) == st[present]).all(axis=1)
            offsets, subs = index.group_members
            for k, at in zip(present[same].tolist(), g[same].tolist(), strict=True):
                got[k] = tuple(unpack_ids(subs, int(offsets[at]), int(offsets[at + 1])))
        if len(odd):
            held = odd[hi[odd] > lo[odd]]
            for k in held.tolist():
                subjects = rests.odd_subjects(int(sq[k]), st[k].tobytes())
                if subjects:
                    got[k] = tuple(subjects)
            got = dict(sorted(got.items()))
        tiers.append(got)
    keys = order.tolist()
    return {keys[k]: subjects for got in tiers for k, subjects in got.items()}


def _flat_confirmed(
    index: ProtectedIndex, rests: Rests, present: IntP, lo: IntP, hi: IntP, st: U8, got: dict[int, tuple[int, ...]]
) -> None:
    """The flat tier's confirmed subjects of sorted queries ``present`` (in ascending order) into ``got``."""
    if not len(present):
        return
    matched_q: list[IntP] = []
    matched_at: list[IntP] = []
    k, at, end = present, lo[present], hi[present]
    while len(k):  # a run of one entry nearly always; at most group_min - 1
        same = (rests.rows("flat", at) == st[k]).all(axis=1)
        matched_q.append(k[same])
        matched_at.append(at[same])
        at = at + 1
        more = at < end
        k, at, end = k[more], at[more], end[more]
    qs, ats = np.concatenate(matched_q), np.concatenate(matched_at)
    if not len(qs):
        return
    subjects = first_ids(index.flat_subjects, ats)
    ranked = np.lexsort((subjects, qs))
    qs, subjects = qs[ranked], subjects[ranked]
    if len(qs) < 2 or bool((qs[1:] != qs[:-1]).all()):
        got.update(zip(qs.tolist(), ((s,) for s in subjects.tolist()), strict=True))
        return
    starts = np.flatnonzero(np.r_[True, qs[1:] != qs[:-1]])
    for k_, part in zip(qs[starts].tolist(), np.split(subjects, starts[1:]), strict=True):
        got[k_] = tuple(part.tolist())


def confirm_pairs(index: ProtectedIndex, rests: Rests, pairs: Sequence[tuple[bytes, int]]) -> set[tuple[bytes, int]]:
    """The (digest, subject) pairs the set holds (the database's ``confirm_pairs``), by position."""
    unique = list(dict.fromkeys(pairs))
    if not unique or len(index) == 0:
        return set()
    joined = np.frombuffer(b"".join(d for d, _ in unique), dtype=np.uint8).reshape(-1, 32)
    q = joined[:, :8].copy().view(">u8").reshape(-1).astype(np.uint64)
    tails = joined[:, 8:]
    wanted = np.array([s for _, s in unique], dtype=np.int64)
    held = np.zeros(len(unique), dtype=bool)
    (flo, fhi), (glo, ghi) = index.positions(q)  # positions searches each query alone: any order
    # flat: the entry of (prefix, subject) in its run, then its 24 bytes
    k, at, end = np.flatnonzero(fhi > flo), flo, fhi
    at, end = at[k], end[k]
    while len(k):
        mine = first_ids(index.flat_subjects, at).astype(np.int64) == wanted[k]
        if mine.any():
            km, am = k[mine], at[mine]
            held[km] = (rests.rows("flat", am) == tails[km]).all(axis=1)
        at = at + 1
        more = ~mine & (at < end)
        k, at, end = k[more], at[more], end[more]
    # grouped: the group's 24 bytes, then the subject among its sorted members
    k = np.flatnonzero(ghi > glo)
    if len(k):
        g = glo[k]
        same = (rests.rows("group", g) == tails[k]).all(axis=1)
        k, g = k[same], g[same]
        offsets, subs = index.group_members
        held[k] = _members(subs, offsets[g].astype(np.intp), offsets[g + 1].astype(np.intp), wanted[k])
    if rests.odd:
        for i in np.flatnonzero(np.isin(q, np.array(sorted(rests.odd), dtype=np.uint64))).tolist():
            held[i] = unique[i][1] in rests.odd_subjects(int(q[i]), tails[i].tobytes())
    return {pair for pair, ok in zip(unique, held.tolist(), strict=True) if ok}


def _members(
    subs: npt.NDArray[np.unsignedinteger], lo: IntP, hi: IntP, wanted: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Whether ``wanted[i]`` is among the sorted packed ids ``lo[i]:hi[i]`` (a vectorized binary search)."""
    lo, hi = lo.copy(), hi.copy()
    end = hi.copy()
    active = np.flatnonzero(lo < hi)
    while len(active):
        mid = (lo[active] + hi[active]) // 2
        below = first_ids(subs, mid).astype(np.int64) < wanted[active]
        lo[active[below]] = mid[below] + 1
        hi[active[~below]] = mid[~below]
        active = active[lo[active] < hi[active]]
    found = np.zeros(len(lo), dtype=bool)
    inside = np.flatnonzero(lo < end)
    found[inside] = first_ids(subs, lo[inside]).astype(np.int64) == wanted[inside]
    return found


Confirm = Callable[[Sequence[bytes]], Mapping[bytes, Sequence[int]]]


class IndexConfirm:
    """A Matcher's ``confirm`` by position in the index's store, the database's after damage.

    ``fallback`` is the database confirmation (``__call__`` and ``pairs``); ``on_damage`` runs once
    when a block of the store fails its checksum (the cache file is removed so the next run rebuilds it)."""

    def __init__(
        self,
        index: ProtectedIndex,
        rests: Rests,
        fallback: Any,
        on_damage: Callable[[], None] | None = None,
    ) -> None:
        if not rests.fits(index):
            raise ValueError("the confirmation store does not fit the index")
        self.index, self.rests, self.fallback = index, rests, fallback
        self._on_damage = on_damage
        self.usable = True

    def lookup(self, queries: U64, tails: U8) -> dict[int, tuple[int, ...]] | None:
        """:func:`lookup_confirmed`, or None once the store is found damaged (confirm in the database)."""
        if not self.usable:
            return None
        try:
            return lookup_confirmed(self.index, self.rests, queries, tails)
        except DamagedRests as exc:
            self._damaged(exc)
            return None

    def __call__(self, digests: Sequence[bytes]) -> Mapping[bytes, Sequence[int]]:
        unique = list(dict.fromkeys(digests))
        if unique and self.usable:
            joined = np.frombuffer(b"".join(unique), dtype=np.uint8).reshape(-1, 32)
            q = joined[:, :8].copy().view(">u8").reshape(-1).astype(np.uint64)
            found = self.lookup(q, joined[:, 8:])
            if found is not None:
                return {unique[i]: subjects for i, subjects in found.items()}
        if not unique:
            return {}
        result: Mapping[bytes, Sequence[int]] = self.fallback(unique)
        return result

    def pairs(self, pairs: Sequence[tuple[bytes, int]]) -> Collection[tuple[bytes, int]]:
        if self.usable:
            try:
                return confirm_pairs(self.index, self.rests, pairs)
            except DamagedRests as exc:
                self._damaged(exc)
        result: Collection[tuple[bytes, int]] = self.fallback.pairs(pairs)
        return result

    def _damaged(self, exc: DamagedRests) -> None:
        self.usable = False
        log.warning("the index cache's confirmation store is damaged (%s): hits are confirmed in the database", exc)
        if self._on_damage is not None:
            self._on_damage()


class RestBuilder:
    """Places the set's digests at their index positions (:meth:`add`), then :meth:`finish` makes the store.

    Every row must land on an entry of the index and every entry be given its 24 bytes (else the set
    changed under the build: :meth:`finish` gives None). A position given two different rows makes
    its prefix odd (its rows are then listed apart, read by :meth:`finish`'s ``odd_rows``)."""

    def __init__(self, index: ProtectedIndex) -> None:
        self.index = index
        flat, group = index.tier_sizes
        self._rows = {"flat": np.zeros((flat, TAIL), dtype=np.uint8), "group": np.zeros((group, TAIL), dtype=np.uint8)}
        self._given = {"flat": np.zeros(flat, dtype=bool), "group": np.zeros(group, dtype=bool)}
        self.odd: set[int] = set()
        self.strays = 0

    def add(self, prefixes: U64, subjects: npt.NDArray[np.integer[Any]], tails: U8) -> None:
        """Rows (prefix, subject, other 24 bytes): a full form's rows, or a mask digest's, a row per subject."""
        q = np.ascontiguousarray(prefixes, dtype=np.uint64)
        subjects = np.asarray(subjects, dtype=np.int64)
        tails = np.asarray(tails, dtype=np.uint8).reshape(-1, TAIL)
        (flo, fhi), (glo, ghi) = self.index.positions(q)
        landed = np.zeros(len(q), dtype=bool)
        k, at, end = np.flatnonzero(fhi > flo), flo, fhi
        at, end = at[k], end[k]
        while len(k):
            mine = first_ids(self.index.flat_subjects, at).astype(np.int64) == subjects[k]
            self._put("flat", at[mine], tails[k[mine]], q[k[mine]])
            landed[k[mine]] = True
            at = at + 1
            more = ~mine & (at < end)
            k, at, end = k[more], at[more], end[more]
        k = np.flatnonzero(ghi > glo)
        self._put("group", glo[k], tails[k], q[k])
        landed[k] = True
        self.strays += int((~landed).sum())

    def _put(self, tier: str, at: IntP, tails: U8, prefixes: U64) -> None:
        if not len(at):
            return
        rows, given = self._rows[tier], self._given[tier]
        before = given[at]
        clash = before & (rows[at] != tails).any(axis=1)
        order = np.argsort(at, kind="stable")  # one position twice in this batch with different rows
        sa, st = at[order], tails[order]
        twice = np.flatnonzero((sa[1:] == sa[:-1]) & (st[1:] != st[:-1]).any(axis=1))
        self.odd.update(prefixes[clash].tolist())
        self.odd.update(prefixes[order[twice]].tolist())
        fresh = ~before
        rows[at[fresh]] = tails[fresh]
        given[at] = True

    def finish(self, odd_rows: Callable[[list[int]], Iterable[tuple[int, bytes, int]]]) -> Rests | None:
        """The store (None when the set changed under the build); ``odd_rows(prefixes)`` gives every
        (prefix, other 24 bytes, subject) the set holds under those prefixes."""
        if self.strays or not all(given.all() for given in self._given.values()):
            log.info("the set changed while its confirmation store was built: hits are confirmed in the database")
            return None
        odd = sorted(self.odd)
        rows = np.array(sorted((p, s, r) for p, r, s in (odd_rows(odd) if odd else ())), dtype=ODD)
        flat, group = (self._rows[t].reshape(-1) for t in ("flat", "group"))
        return Rests(
            {
                "flat_rests": flat,
                "group_rests": group,
                "flat_crcs": block_crcs(flat),
                "group_crcs": block_crcs(group),
                "odd_rows": rows.view(np.uint8) if len(rows) else np.empty(0, dtype=np.uint8),
            }
        )
