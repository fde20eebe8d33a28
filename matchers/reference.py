"""The pure-Python reference for the native kernel (the oracle of tests/matchers/test_kernel.py).

Production never imports this module: it has one code path, the kernel. Here the same fast path
runs on the recognizers' own Python definitions (RE2 ``fast_pattern`` + ``fast_canonicals``) and
the standard library's ``hmac``, so a difference between the two is a kernel bug.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Sequence
from typing import Any

from matchers.engine import LineIndex, Matcher
from matchers.keyed_hash import KeyedHasher, message_header
from matchers.model import Found
from matchers.native import KERNEL_TYPES
from matchers.passes import build_passes
from matchers.registry import IdentifierRegistry

#: (type, raw start, raw end, line of the value, digest): one fast-path candidate.
Candidate = tuple[str, int, int, int, bytes]


class ReferenceHasher(KeyedHasher):
    """``KeyedHasher`` computed with ``hmac.digest`` (no kernel)."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes, key_id: str | None = None) -> None:
        super().__init__(key, key_id)
        self._key = key

    def joined_digests(self, id_type: str, canonicals: Sequence[bytes | str], form: str = "full") -> bytes:
        header = message_header(id_type, form)
        return b"".join(
            hmac.digest(self._key, header + (c.encode() if isinstance(c, str) else c), "sha256") for c in canonicals
        )


class ReferenceMatcher(Matcher):
    """A Matcher whose phone, e-mail, RRN, card and address candidates come from the Python passes and
    whose weak tokens come from the recognizers' ``record_tokens`` / ``masked_tokens``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._native_address = None
        self._rules = dataclasses.replace(self._rules, read_weak=None)

    def _kernel_path(self, block: bytes, lines: LineIndex) -> list[Found]:
        recs = [r for r in self.registry.recognizers() if r.id_type in KERNEL_TYPES]
        return self._regex_path(build_passes(recs), block, lines)


def reference_candidates(registry: IdentifierRegistry, hasher: KeyedHasher, block: bytes) -> list[Candidate]:
    """Every phone, e-mail, RRN and card candidate of ``block``, in the kernel's order."""
    recs = [r for r in registry.recognizers() if r.id_type in KERNEL_TYPES]
    lines = LineIndex(block)
    out: list[Candidate] = []
    for pass_ in build_passes(recs):
        spans = pass_.spans(block)
        raws = [block[s:e] for s, e in spans]
        for rec, own, where in pass_.split(raws):
            canon, valid = rec.valid_canonicals(own)
            positions = [where[i] for i in valid]
            for value, digest in zip(positions, hasher.digest_many(rec.domain, canon), strict=True):
                start, end = spans[value]
                out.append((rec.id_type, start, end, lines.line_of(start + (start > 0)), digest))
    return out
