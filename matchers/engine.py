"""The Matcher: text in, explained hits out.

Pipeline per newline-aligned block (~8 MB of UTF-8):
1. fast path: the native kernel (:mod:`matchers.native`) scans phones, e-mails, RRN/FRNs and cards,
   canonicalizes, hashes and looks them up in one call and returns only the candidates in the index;
   so does its address pass for addresses already in canonical form (the others go to the Python
   parser); custom types take one RE2 ``findall`` per pass, canonicalization in Python, and native
   hashing; one sorted numpy look-up confirms subjects;
2. only for the (rare) hits: the value's obfuscation class, mask, explanation;
3. slow path: lines carrying obfuscation signatures (full-width digits, zero-width characters, Hangul
   digit words, (at)/골뱅이, tags inside numbers, letter-digit swaps, masks) are de-obfuscated in Python;
4. records (a line, or the whole text) that hold a hit are searched for weak types (name, birthdate)
   by the kernel in one call per block (only the tokens in the index come back), which count only for
   the same subject (composite), and masked values become partial hits whose compatible subject sets
   intersect.
"""

from __future__ import annotations

import bisect
import gc
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np
import re2

from matchers import deobfuscate, records
from matchers.confirm import IndexConfirm
from matchers.headers import header_type
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher, prefix64
from matchers.model import OBF_SEPARATORS, Found, Hit
from matchers.native import (
    ADDR_PARSE,
    ADDR_SPACED,
    HIT,
    KERNEL_TYPES,
    READ_BIRTH,
    READ_MASKED,
    READ_NAMES,
    SPACED,
    WEAK,
    WEAK_KINDS,
    email_aliases,
)
from matchers.passes import Pass, build_passes
from matchers.registry import IdentifierRegistry
from matchers.types.address import AddressRecognizer
from matchers.types.base import Recognizer, digits
from matchers.types.birthdate import BirthdateRecognizer
from matchers.types.name import NameRecognizer
from matchers.types.phone import PhoneRecognizer

Confirm = Callable[[Sequence[bytes]], Mapping[bytes, Sequence[int]]]
#: (digest, subject) pairs -> the pairs the set truly holds. A :data:`Confirm` callable that has one as
#: its ``pairs`` attribute lets weak values (names) be confirmed for the record's subjects only.
ConfirmPairs = Callable[[Sequence[tuple[bytes, int]]], Collection[tuple[bytes, int]]]
RECORD_SCOPES = ("line", "all")
#: A fast-path hit before it becomes a Found: recognizer, raw match start (boundary byte included)
#: and end, 0-based line of the value, digest, subjects, canonical value (None: canonicalize it).
Located = tuple[Recognizer, int, int, int, bytes, tuple[int, ...], str | None]
#: Index of the digest's first 8-byte word, and of the flags' 4-byte word, in a packed kernel hit
#: (:data:`matchers.native.HIT_FORMAT`: start, end, line, kind, flags, digest).
_DIGEST_WORD = (HIT.size - 32) // 8
_FLAGS_WORD = (HIT.size - 32) // 4 - 1


@dataclass(frozen=True)
class MatcherOptions:
    """Tuning switches (all on by default)."""

    chunk_size: int = 8 << 20
    deobfuscate: bool = True  # slow path for lines with obfuscation signatures
    partial: bool = True  # masked values -> partial hits
    weak: bool = True  # name/birthdate composites
    header_types: Mapping[str, str] = field(default_factory=dict)  # extra header -> type mappings


class LineIndex:
    """0-based line of a byte offset in a block (newline offsets found once, with numpy)."""

    __slots__ = ("_block", "_nl", "_texts", "segments")

    def __init__(self, block: bytes) -> None:
        self._block = block
        self._nl: list[int] | None = None
        self._texts: dict[int, tuple[str, list[int], list[int]]] = {}
        #: The slow path's trigger segments when the kernel path has found them (None: not yet).
        self.segments: list[tuple[int, int]] | None = None

    def _newlines(self) -> list[int]:
        if self._nl is None:
            self._nl = np.flatnonzero(np.frombuffer(self._block, dtype=np.uint8) == 10).tolist()
        return self._nl

    def line_of(self, pos: int) -> int:
        return bisect.bisect_left(self._newlines(), pos)

    def text_at(self, pos: int) -> tuple[str, int]:
        """The decoded line holding byte ``pos`` (no line end) and the character column of ``pos`` in it.

        Each line is decoded once and the text shared by every hit on it: one dense line can hold
        many thousands of hits, and a copy per hit made memory grow with hits x line length. Columns
        are counted on from the nearest earlier checkpoint (a hit's start at a character boundary,
        where UTF-8 decoding can be split without changing the count).
        """
        return self.text_on(self.line_of(pos), pos)

    def text_on(self, line: int, pos: int) -> tuple[str, int]:
        """:meth:`text_at` when the line of ``pos`` is known (the kernel reports it)."""
        cached = self._texts.get(line)
        block = self._block
        if cached is None:
            nl = self._newlines()
            start = nl[line - 1] + 1 if line else 0
            end = nl[line] if line < len(nl) else len(block)
            text = block[start:end].decode("utf-8", "replace")
            if text[-1:] == "\r":
                text = text.rstrip("\r")
            cached = self._texts[line] = (text, [start], [0])
        text, marks, columns = cached
        if pos - marks[0] <= _SHORT_PREFIX:  # near the line start: count from it
            gap = block[marks[0] : pos]
            return text, len(gap) if gap.isascii() else len(gap.decode("utf-8", "replace"))
        k = bisect.bisect_right(marks, pos) - 1
        column = columns[k] + len(block[marks[k] : pos].decode("utf-8", "replace"))
        if k == len(marks) - 1 and pos > marks[k] and pos < len(block) and block[pos] & 0xC0 != 0x80:
            marks.append(pos)
            columns.append(column)
        return text, column


#: Hits this close to their line's start count their column from it (no checkpoint bookkeeping).
_SHORT_PREFIX = 512


def iter_blocks(data: bytes, size: int) -> Iterator[tuple[bytes, int]]:
    """Newline-aligned blocks of ``data`` with the 0-based line number each starts at."""
    pos, line, n = 0, 0, len(data)
    while pos < n:
        end = min(pos + size, n)
        if end < n:
            nl = data.find(b"\n", end)
            end = n if nl < 0 else nl + 1
        block = data[pos:end]
        yield block, line
        line += block.count(b"\n")
        pos = end


class Matcher:
    """Scans text for protected identifiers (see module docstring)."""

    def __init__(
        self,
        hasher: KeyedHasher,
        index: ProtectedIndex,
        registry: IdentifierRegistry | None = None,
        confirm: Confirm | None = None,
        options: MatcherOptions | None = None,
    ) -> None:
        self.hasher = hasher
        self.index = index
        self.registry = registry if registry is not None else IdentifierRegistry.default()
        self.confirm = confirm
        #: Confirmation by position in the index's store (matchers.confirm), when ``confirm`` is one
        self._local = confirm if isinstance(confirm, IndexConfirm) and confirm.index is index else None
        self.options = options if options is not None else MatcherOptions()
        recs = tuple(r for r in self.registry.recognizers() if index.holds(r.domain))
        self._kernel_recs = tuple(self.registry.get(t) for t in KERNEL_TYPES)  # cheap enough to always run
        self._aliases = email_aliases(self.registry)
        self._passes = build_passes([r for r in recs if r.id_type not in KERNEL_TYPES])
        self._slow = [r for r in recs if not r.weak and r.scan_pattern is not None]
        self._grouped = bool(deobfuscate.grouped_types(self._slow))
        self._masked = [r for r in recs if not r.weak and r.masked_pattern is not None]
        self._context = {r.id_type: _context_re(r.context_words) for r in recs}
        self._context_plain = {r.id_type: tuple({w.casefold() for w in r.context_words}) for r in recs}
        self._context_any = tuple(dict.fromkeys(w for words in self._context_plain.values() for w in words))
        # Every type's words in one RE2 alternation: a dump's row asks once, and a substring test per
        # word (50 of them) cost about ten times more.
        self._context_search = (
            re2.compile("|".join(re2.escape(w) for w in self._context_any)).search if self._context_any else None
        )
        self._folded: tuple[str, str] = ("", "")
        self._headers: dict[tuple[str, str], bool] = {}
        self._extractors = {r.id_type: f"{r.id_type}.fast" for r in self.registry.recognizers()}
        #: Types whose reported type follows the value (RRN vs FRN: :meth:`Recognizer.hit_type`).
        self._typed = frozenset(
            r.id_type
            for r in (*self.registry.recognizers(), *self._kernel_recs)
            if getattr(r.hit_type, "__func__", None) is not Recognizer.hit_type
        )
        pairs: ConfirmPairs | None = getattr(confirm, "pairs", None)
        weak = tuple(r for r in recs if r.weak) if self.options.weak else ()
        #: The address recognizer whose pass the kernel runs (matchers/kernel/address.c), if indexed.
        self._native_address = next((r for r in recs if type(r) is AddressRecognizer), None)
        #: Per fast-path recognizer: whether its raw matches hold a boundary byte, whether its reported type
        #: follows the value, its type, its extractor (:meth:`_found_fast`).
        self._fast_kinds: dict[Recognizer, tuple[bool, bool, str, str]] = {}
        #: The kernel's phone recognizer, if it is the built-in one (:meth:`_plain_phones`).
        self._plain_phone = next((r for r in self._kernel_recs if type(r) is PhoneRecognizer), None)
        #: Weak tokens the kernel reads (READ_* bits), when every weak recognizer is one it knows.
        self._weak_what = 0
        for r in weak:
            self._weak_what |= _NATIVE_WEAK.get(type(r), -1)
        recs_by_form = {(r.domain, form): r for r in weak for form in ("full", *r.partial_forms)}
        #: (domain, form, type) of each kind of the kernel's weak tokens (of the weak types the set holds)
        self._weak_kinds = [
            (domain, form, recs_by_form[(domain, form)].id_type if (domain, form) in recs_by_form else domain)
            for domain, form in WEAK_KINDS
        ]
        self._rules = records.RecordRules(
            weak=weak,
            partial=self.options.partial,
            key_id=hasher.key_id,
            digest_many=hasher.digest_many,
            lookup=self.lookup,
            candidates=self.index_lookup if pairs is not None or confirm is None else self.lookup,
            confirm_pairs=pairs,
            context_words=self.context_words,
            any_context=self.any_context,
            header_for=self.header_for,
            read_weak=self._read_weak if self._weak_what > 0 else None,
        )

    # ---------------------------------------------------------------- public API
    def scan_text(
        self,
        text: str,
        *,
        columns: Sequence[str] | None = None,
        delimiter: str | None = None,
        record_scope: str = "line",
    ) -> list[Hit]:
        """Hits in ``text``; ``Hit.line`` is the 0-based line within it."""
        return self.scan_bytes(
            text.encode("utf-8", "surrogatepass"),
            columns=columns,
            delimiter=delimiter,
            record_scope=record_scope,
        )

    def scan_bytes(
        self,
        data: bytes,
        *,
        columns: Sequence[str] | None = None,
        delimiter: str | None = None,
        record_scope: str = "line",
        line_offset: int = 0,
    ) -> list[Hit]:
        """Hits in UTF-8 ``data`` (streamed in newline-aligned blocks when ``record_scope='line'``)."""
        if record_scope not in RECORD_SCOPES:
            raise ValueError(f"record_scope must be one of {RECORD_SCOPES}")
        if record_scope == "all":
            return self._scan_block(data, line_offset, columns, delimiter, whole=True)
        hits: list[Hit] = []
        for batch in self.iter_hits(data, columns=columns, delimiter=delimiter, line_offset=line_offset):
            hits.extend(batch)
        return hits

    def iter_hits(
        self,
        data: bytes,
        *,
        columns: Sequence[str] | None = None,
        delimiter: str | None = None,
        line_offset: int = 0,
    ) -> Iterator[list[Hit]]:
        """Hits in UTF-8 ``data``, one batch per newline-aligned block, in block order.

        The matcher's output contract for streaming callers: every line is a record, each batch
        holds only the hits of its own block, and ``Hit.line`` is the 0-based line in ``data``
        plus ``line_offset``. Memory stays bounded by one block's hits.
        """
        for block, first in iter_blocks(data, self.options.chunk_size):
            yield self._scan_block(block, line_offset + first, columns, delimiter, whole=False)

    def lookup(self, digests: Sequence[bytes]) -> dict[int, tuple[int, ...]]:
        """Position -> subject ids for the digests in the index (confirmed when ``confirm`` is set)."""
        prefixes = prefix64(digests)
        if self._local is not None and digests:
            tails = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 32)[:, 8:]
            found = self._local.lookup(prefixes, tails)
            if found is not None:
                return found
        return self._confirmed(self.index.lookup(prefixes), digests.__getitem__)

    def index_lookup(self, digests: Sequence[bytes]) -> dict[int, tuple[int, ...]]:
        """Position -> subject ids by digest prefix (the in-memory index alone, nothing confirmed)."""
        return self.index.lookup(prefix64(digests))

    def _confirmed(
        self, found: dict[int, tuple[int, ...]], digest_at: Callable[[int], bytes]
    ) -> dict[int, tuple[int, ...]]:
        """``found`` (position -> subjects by digest prefix) with the full digests confirmed, if configured."""
        if not found or self.confirm is None:
            return found
        digests = {i: digest_at(i) for i in found}
        confirmed = self.confirm(list(digests.values()))
        out: dict[int, tuple[int, ...]] = {}
        for i, digest in digests.items():
            subjects = confirmed.get(digest)
            if subjects:
                out[i] = tuple(sorted(subjects))
        return out

    # ---------------------------------------------------------------- internals
    def _scan_block(
        self,
        block: bytes,
        line_base: int,
        columns: Sequence[str] | None,
        delimiter: str | None,
        *,
        whole: bool,
    ) -> list[Hit]:
        with collector_paused():
            return self._block_hits(block, line_base, columns, delimiter, whole=whole)

    def _block_hits(
        self,
        block: bytes,
        line_base: int,
        columns: Sequence[str] | None,
        delimiter: str | None,
        *,
        whole: bool,
    ) -> list[Hit]:
        lines = LineIndex(block)
        found = self._fast_path(block, lines)
        if self.options.deobfuscate:
            found.extend(self._slow_path(block, lines))
        if not found:
            return []
        found = _dedupe(found)
        ctx = records.RecordContext(
            rules=self._rules,
            columns=columns,
            delimiter=delimiter,
            line_base=line_base,
            whole=whole,
            block=block,
        )
        return records.build_hits(ctx, found)

    def _fast_path(self, block: bytes, lines: LineIndex) -> list[Found]:
        return self._kernel_path(block, lines) + self._regex_path(self._passes, block, lines)

    def _kernel_path(self, block: bytes, lines: LineIndex) -> list[Found]:
        """Phones, e-mails, RRN/FRNs and cards: scanned, hashed and pre-filtered natively.

        Spaced phones (010 - 1234 - 5678) are read natively as the slow path reads them; their spans
        no longer trigger the slow path. On a line the slow path still takes (another trigger), the
        slow path reads them as before and the kernel's reading is dropped.
        """
        packed = self.hasher.scan(block, self.index.kernel_tiers, aliases=self._aliases)
        if not packed:
            return []
        size = HIT.size
        keep: list[int] | None = None  # the hits kept when some are spaced phones
        flags = np.frombuffer(packed, dtype="<i4")[_FLAGS_WORD :: size // 4]
        if (flags & SPACED).any():
            hits = list(HIT.iter_unpack(packed))
            spaced = [(h[0], h[1]) for h in hits if h[4] & SPACED]
            read = self.options.deobfuscate  # spaced phones are an obfuscation: off with the slow path
            segments = deobfuscate.trigger_segments(block, self._grouped, spaced) if read else []
            lines.segments = segments
            starts = [s for s, _ in segments]
            keep = [
                i for i, h in enumerate(hits) if not h[4] & SPACED or (read and not _within(segments, starts, h[0]))
            ]
        prefixes = np.frombuffer(packed, dtype=">u8")[_DIGEST_WORD :: size // 8]
        if keep is not None:
            prefixes = prefixes[keep]
        at = keep.__getitem__ if keep is not None else int
        local = None
        if self._local is not None:  # the hits' other 24 bytes, compared in place (no bytes object per hit)
            tails = np.frombuffer(packed, dtype=np.uint8).reshape(-1, size)[:, size - 24 :]
            local = self._local.lookup(prefixes, tails[keep] if keep is not None else tails)
        matched = (
            local
            if local is not None
            else self._confirmed(self.index.lookup(prefixes), lambda i: HIT.unpack_from(packed, at(i) * size)[5])
        )
        if not matched:
            return []
        order = sorted(matched)
        if keep is not None:
            entries = [hits[keep[i]] for i in order]
        elif len(order) * 4 >= len(prefixes):  # most are indexed (a dump of our users): unpacked in bulk
            every = list(HIT.iter_unpack(packed))
            entries = [every[i] for i in order]
        else:
            entries = [HIT.unpack_from(packed, i * size) for i in order]
        recs = self._kernel_recs
        out: list[Found] = []
        located: list[Located] = []
        subjects_of = map(matched.__getitem__, order)
        for (start, end, line, kind, flag, digest), subjects in zip(entries, subjects_of, strict=True):
            rec = recs[kind]
            if flag & SPACED:
                out += self._found_fast(block, lines, located)  # in order: the plain ones before it
                located = []
                out.append(self._found_spaced(block, lines, line, rec, start, end, digest, subjects))
            else:
                located.append((rec, start, end, line, digest, subjects, None))
        return out + self._found_fast(block, lines, located)

    def _regex_path(self, passes: Sequence[Pass], block: bytes, lines: LineIndex) -> list[Found]:
        """Types without a native scanner: RE2 passes, canonicalization in Python, native hashing.
        The address pass is the kernel's (spans, lines and the canonical forms it can read)."""
        #: per batch: pass, recognizer, raw matches (None: the kernel's addresses, whose ``idx`` holds
        #: their (start, end, line)), positions of the valid ones, their canonical bytes
        batches: list[tuple[Pass, Recognizer, list[bytes] | None, Sequence[Any], list[bytes]]] = []
        bases: list[int] = []
        digests: list[bytes] = []
        for pass_ in passes:
            if self._native_address is not None and pass_.members == (self._native_address,):
                spans, canon, hashed = self._kernel_addresses(block)
                if canon:
                    bases.append(len(digests))
                    batches.append((pass_, pass_.members[0], None, spans, canon))
                    digests.extend(hashed)
                continue
            all_raws = pass_.find_all(block)
            if not all_raws:
                continue
            for rec, raws, where in pass_.split(all_raws):
                canon, valid = rec.valid_canonicals(raws)
                if not canon:
                    continue
                idx = where if len(canon) == len(raws) else [where[i] for i in valid]
                bases.append(len(digests))
                batches.append((pass_, rec, all_raws, idx, canon))
                digests.extend(self.hasher.digest_many(rec.domain, canon))
        if not digests:
            return []
        matched = self.lookup(digests)
        if not matched:
            return []
        per_batch: dict[int, list[int]] = {}
        for g in sorted(matched):
            b = bisect.bisect_right(bases, g) - 1
            per_batch.setdefault(b, []).append(g - bases[b])
        located: list[Located] = []
        for b, locals_ in per_batch.items():
            pass_, rec, maybe_raws, places, canon = batches[b]
            if maybe_raws is None:  # the kernel's addresses: located already
                for k in locals_:
                    g = bases[b] + k
                    span: tuple[int, int, int] = places[k]
                    located.append((rec, *span, digests[g], matched[g], canon[k].decode("utf-8", "replace")))
                continue
            raws = maybe_raws
            raw_ids = [places[k] for k in locals_]
            positions = self._positions(block, pass_, raws, raw_ids)
            lead = 1 if rec.has_lead else 0
            for k, raw_id in zip(locals_, raw_ids, strict=True):
                pos = positions.get(raw_id)
                if pos is None:
                    continue
                g = bases[b] + k
                line = lines.line_of(pos + (lead if pos > 0 else 0))
                canonical = canon[k].decode("utf-8", "replace") if rec.fast_canonical_exact else None
                located.append((rec, pos, pos + len(raws[raw_id]), line, digests[g], matched[g], canonical))
        return self._found_fast(block, lines, located)

    def _positions(self, block: bytes, pass_: Pass, raws: list[bytes], raw_ids: list[int]) -> dict[int, int]:
        """Byte position of each wanted raw match of a pass: the start of its own match (matches are
        numbered as ``find_all`` returns them). Searching the block for the raw text instead put a
        value that is also written inside an earlier match (``K-12345`` of ``K-12345-X``) there."""
        spans = pass_.spans(block, max(raw_ids) + 1)
        return {i: spans[i][0] for i in raw_ids}

    def _kernel_addresses(self, block: bytes) -> tuple[list[tuple[int, int, int]], list[bytes], list[bytes]]:
        """The address matches of ``block`` the kernel reports, in order: (start, end, line) each, the
        canonical bytes and digest of each valid one. The kernel canonicalized and looked up the ones
        already in canonical form (only the indexed ones come back); the others are parsed here."""
        packed = self.hasher.addresses(block, self.index.kernel_tiers)
        if not packed:
            return [], [], []
        spans: list[tuple[int, int, int]] = []
        canon: list[bytes] = []
        hashed: list[bytes] = []
        parse: list[int] = []  # positions (in canon) of the ones for the parser
        for start, end, line, _, flags, digest in HIT.iter_unpack(packed):
            raw = block[start:end]
            if flags & ADDR_PARSE:
                parse.append(len(canon))
            elif flags & ADDR_SPACED:  # the raw holds no whitespace but spaces
                raw = b" ".join(raw.replace(b",", b" ").split())
            spans.append((start, end, line))
            canon.append(raw)
            hashed.append(digest)
        rec = self._native_address
        if parse and rec is not None:
            parsed, valid = rec.valid_canonicals([canon[i] for i in parse])
            for i, digest in zip(valid, self.hasher.digest_many(rec.domain, parsed), strict=True):
                canon[parse[i]] = parsed[i]
                hashed[parse[i]] = digest
            if len(valid) < len(parse):  # invalid ones out
                drop = set(parse) - {parse[i] for i in valid}
                keep = [i for i in range(len(canon)) if i not in drop]
                spans = [spans[i] for i in keep]
                canon = [canon[i] for i in keep]
                hashed = [hashed[i] for i in keep]
        return spans, canon, hashed

    def _read_weak(self, block: bytes, lines: Sequence[int] | None, masked: bool) -> records.WeakRead:
        """records.WeakReader: the indexed name and birth-date tokens of the records, by the kernel."""
        what = self._weak_what if masked else self._weak_what & ~READ_MASKED
        packed, canon = self.hasher.weak(block, lines, self.index.kernel_tiers, what)
        full: records.TokensByRecord = {}
        part: records.TokensByRecord = {}
        digests: dict[tuple[str, str, str], bytes] = {}
        kinds = self._weak_kinds
        for record, start, off, length, kind, digest in WEAK.iter_unpack(packed):
            domain, form, id_type = kinds[kind]
            canonical = canon[off : off + length].decode()
            digests[(domain, form, canonical)] = digest
            key = record if lines is None else lines[record]
            into = full if form == "full" else part
            by_type = into.get(key)
            if by_type is None:
                into[key] = {id_type: [(canonical, form, start)]}
                continue
            found = by_type.get(id_type)
            if found is None:
                by_type[id_type] = [(canonical, form, start)]
            else:
                found.append((canonical, form, start))
        return (full, part), digests

    def _found_fast(self, block: bytes, lines: LineIndex, located: list[Located]) -> list[Found]:
        """Located fast-path hits: each raw match is ``block[pos:end]`` (with its boundary byte, if any);
        ``canonical`` is given when the recognizer's fast canonical is what ``canonicalize`` returns
        (no classes), else the value is canonicalized here (for its obfuscation classes)."""
        if self._plain_phone is not None:
            located = self._plain_phones(block, located, self._plain_phone)
        out: list[Found] = []
        append = out.append
        new = tuple.__new__
        text_on = lines.text_on
        texts = lines._texts
        kinds = self._fast_kinds
        for rec, pos, end, line, digest, subjects, canonical in located:
            kind = kinds.get(rec)
            if kind is None:
                id_type = rec.id_type
                kind = kinds[rec] = (rec.has_lead, id_type in self._typed, id_type, self._extractors[id_type])
            start = pos + 1 if kind[0] and pos > 0 else pos
            cached = texts.get(line)
            if cached is not None and start - cached[1][0] <= _SHORT_PREFIX:  # text_on's common case, inline
                line_text = cached[0]
                gap = block[cached[1][0] : start]
                column = len(gap) if gap.isascii() else len(gap.decode("utf-8", "replace"))
            else:
                line_text, column = text_on(line, start)
            if canonical is None:
                described = rec.canonicalize(block[start:end].decode("utf-8", "replace"))
                canonical, classes = described if described else ("", ())
            else:
                classes = ()
            append(
                new(
                    Found,  # Found(...) through tuple.__new__: the same tuple, without the generated __new__
                    (
                        rec,
                        rec.hit_type(canonical) if kind[1] else kind[2],
                        canonical,
                        "full",
                        digest,
                        subjects,
                        line,
                        column,
                        classes,
                        kind[3],
                        line_text,
                    ),
                )
            )
        return out

    def _plain_phones(self, block: bytes, located: list[Located], rec: PhoneRecognizer) -> list[Located]:
        """``located`` with the canonical value of each plainly written mobile number of ``rec`` (the
        kernel's phones) filled in: what ``rec.canonicalize`` returns for it, with no class
        (:data:`_PLAIN_MOBILE`), from the recognizer's batch (C-level); the others are left to it."""
        at = [k for k, item in enumerate(located) if item[0] is rec and item[6] is None]
        if not at:
            return located
        raws = [block[located[k][1] + (located[k][1] > 0) : located[k][2]] for k in at]
        if len(_PLAIN_MOBILES.findall(b"\n".join(raws))) != len(raws):  # not all plain: the plain ones
            plain = [i for i, raw in enumerate(raws) if _PLAIN_MOBILE.fullmatch(raw)]
            at = [at[i] for i in plain]
            raws = [raws[i] for i in plain]
        out = list(located)
        for k, canonical in zip(at, rec.fast_canonicals(raws), strict=True):
            if canonical is not None:
                item = out[k]
                out[k] = (item[0], item[1], item[2], item[3], item[4], item[5], canonical.decode())
        return out

    def _found_spaced(
        self,
        block: bytes,
        lines: LineIndex,
        line: int,
        rec: Recognizer,
        start: int,
        end: int,
        digest: bytes,
        subjects: tuple[int, ...],
    ) -> Found:
        """A spaced phone the kernel read (``block[start:end]``, no boundary byte), reported as the slow
        path reports it (deobfuscate.extract, loose runs): class ``separators``, extractor ``loose``."""
        line_text, column = lines.text_at(start)
        described = rec.canonicalize(digits(block[start:end].decode("ascii")))
        canonical, classes = described if described else ("", ())
        return Found.of(
            rec,
            canonical,
            "full",
            digest=digest,
            subjects=subjects,
            line=line,
            start=column,
            obfuscation=tuple(dict.fromkeys((*classes, OBF_SEPARATORS))),
            extractor=f"{rec.id_type}.loose",
            line_text=line_text,
        )

    def _slow_path(self, block: bytes, lines: LineIndex) -> list[Found]:
        cands: list[deobfuscate.SlowCandidate] = []
        segments = lines.segments if lines.segments is not None else deobfuscate.trigger_segments(block, self._grouped)
        for seg_start, seg_end in segments:
            seg = block[seg_start:seg_end]
            first_line = lines.line_of(seg_start)
            cands.extend(
                deobfuscate.extract(
                    seg.decode("utf-8", "replace"), first_line, self._slow, self._masked if self.options.partial else []
                )
            )
        if not cands:
            return []
        digests = _digests(self.hasher, [(c.rec.domain, c.form, c.canonical) for c in cands])
        matched = self.lookup(digests)
        out = []
        for i, subjects in matched.items():
            c = cands[i]
            if c.rec.weak:
                continue  # weak values count only next to strong ones (records.py)
            out.append(
                Found.of(
                    c.rec,
                    c.canonical,
                    c.form,
                    digest=digests[i],
                    subjects=subjects,
                    line=c.line,
                    start=c.start,
                    obfuscation=c.obfuscation,
                    extractor=c.extractor,
                    line_text=c.line_text,
                )
            )
        return out

    def context_words(self, id_type: str, text: str) -> tuple[str, ...]:
        """Up to three distinct context words of ``id_type`` in ``text`` (case-folded), in order."""
        pattern = self._context.get(id_type)
        if pattern is None:
            return ()
        last = self._folded
        if last[0] is text:
            folded = last[1]
        else:  # one record's hits ask in a row, type after type: fold its text once
            folded = text.casefold()
            self._folded = (text, folded)
        for word in self._context_plain[id_type]:
            if word in folded:
                break
        else:  # no word occurs at all (most records): skip the regular expression
            return ()
        return tuple(dict.fromkeys(m.group(0) for m in pattern.finditer(folded)))[:3]

    def any_context(self, text: str) -> bool:
        """Whether ``text`` holds a context word of any type (case-folded, as :meth:`context_words` looks)."""
        last = self._folded
        if last[0] is text:
            folded = last[1]
        else:
            folded = text.casefold()
            self._folded = (text, folded)
        search = self._context_search
        if search is None:
            return False
        try:
            return search(folded) is not None
        except UnicodeEncodeError:  # a lone surrogate (RE2 reads UTF-8): word by word
            return any(word in folded for word in self._context_any)

    def header_for(self, id_type: str, header: str) -> bool:
        key = (id_type, header)
        named = self._headers.get(key)
        if named is None:
            if len(self._headers) >= 4096:
                self._headers.clear()
            found = header_type(header, self.options.header_types)
            named = self._headers[key] = found == id_type or {found, id_type} == {"rrn", "frn"}
        return named


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a block's hits are built, back on after (if it was on).

    A dump's block makes hundreds of thousands of small objects that stay alive (its hits) and form no
    reference cycles: with the collector on, its generation sweeps over them and everything else the
    process holds took about a third of the matching time (bench_matchhits). Nothing here creates a
    cycle, so pausing it frees nothing later than it would have been freed.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


#: A Korean mobile number written plainly (010-1234-5678, 010.1234.5678, 01012345678, 011-234-5678):
#: ``PhoneRecognizer.canonicalize`` gives it no class, and its canonical value is its ``fast_canonicals``
#: item (82, then its digits after the leading 0). :data:`_PLAIN_MOBILES` checks a newline-joined batch.
_PLAIN_MOBILE = re.compile(rb"01[016789]([-. ]?)[0-9]{3,4}\1[0-9]{4}")
_PLAIN_MOBILES = re.compile(rb"^01[016789]([-. ]?)[0-9]{3,4}\1[0-9]{4}$", re.M)

#: The weak recognizers the kernel reads, and what it reads for each (matchers/kernel/weak.c).
_NATIVE_WEAK: dict[type[Recognizer], int] = {NameRecognizer: READ_NAMES | READ_MASKED, BirthdateRecognizer: READ_BIRTH}


def _context_re(words: Sequence[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    alts = "|".join(re.escape(w.casefold()) for w in sorted(words, key=len, reverse=True))
    return re.compile(r"(?<![a-z])(?:" + alts + r")(?![a-z])")


def _within(segments: list[tuple[int, int]], starts: list[int], pos: int) -> bool:
    """Whether byte ``pos`` lies in one of the sorted, disjoint ``segments`` (``starts``: their starts)."""
    k = bisect.bisect_right(starts, pos) - 1
    return k >= 0 and pos < segments[k][1]


def _digests(hasher: KeyedHasher, values: Sequence[tuple[str, str, str]]) -> list[bytes]:
    """Digests of (domain, form, canonical) values in order, hashed in one call per domain and form."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (domain, form, _) in enumerate(values):
        groups.setdefault((domain, form), []).append(i)
    out = [b""] * len(values)
    for (domain, form), where in groups.items():
        for i, digest in zip(where, hasher.digest_many(domain, [values[i][2] for i in where], form), strict=True):
            out[i] = digest
    return out


#: A Found's identity in :func:`_dedupe`: line, type, form, digest.
_DEDUPE_KEY = itemgetter(6, 1, 3, 4)


def _dedupe(found: list[Found]) -> list[Found]:
    """``found`` without repeats of a (line, type, form, digest), the first kept, in order."""
    if len(found) < 2:
        return found
    keys = list(map(_DEDUPE_KEY, found))  # (C-level: one 4-tuple per Found, no column transposed)
    if len(set(keys)) == len(keys):  # nearly always: no repeat (the sets are built in C)
        return found
    seen: set[tuple[int, str, str, bytes]] = set()
    out = []
    for key, f in zip(keys, found, strict=True):
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


__all__ = ["Confirm", "Matcher", "MatcherOptions", "iter_blocks"]
