"""Keyed hashing: the only place a canonical plaintext identifier becomes a digest.

Digest = HMAC-SHA256(key, b"leakmon/v<CANONICAL_VERSION>/<domain>/<form>\\x00" + canonical_utf8).
The message is versioned and domain-separated by identifier type and form, so a phone and a card
with the same digits never share a digest, and a change of canonical forms re-keys the whole set.

Speed: HMAC is computed from precomputed SHA-256 states (key^ipad already absorbed, and for each
(domain, form) also the message header), copied per digest. The output is byte-identical to
``hmac.digest(key, msg, "sha256")`` but about 2.7x cheaper per candidate (see PERFORMANCE.md).

Two SHA-256 implementations give identical digests: OpenSSL's (``hashlib.sha256``) and CPython's own
(``_sha2``/``_sha256``). For the one-block messages of the hot path the per-call cost of copying a
state dominates, and which one is cheaper depends on the CPU and the OpenSSL build (measured on the
reference machine of docs/sizing.md: 1.56 µs per HMAC with OpenSSL's, 1.02 µs with CPython's;
PERFORMANCE.md found OpenSSL's at 0.73 µs on another), so the faster one is picked once per process
by a short timing, after checking both agree on a test vector.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from matchers.model import CANONICAL_VERSION, FRN, RRN

_BLOCK = 64
#: RRN and FRN share one number space (the G digit tells them apart), so they share one digest
#: domain: a foreigner number imported under "rrn" still matches when the leak is read as "frn".
DIGEST_DOMAIN_ALIASES = {FRN: RRN}
_KEY_ID_LABEL = b"leakmon/key-id/v1\x00"


Sha256 = Callable[[bytes], Any]


def _sha256_candidates() -> list[Sha256]:
    found: list[Sha256] = [hashlib.sha256]
    for module in ("_sha2", "_sha256"):  # CPython's built-in implementation (3.12+ / 3.11)
        try:
            found.append(importlib.import_module(module).sha256)
        except (ImportError, AttributeError):
            continue
    return found


def _hmac_cost(ctor: Sha256, rounds: int = 2000) -> float:
    inner, outer = ctor(b"\x36" * _BLOCK), ctor(b"\x5c" * _BLOCK)
    start = time.perf_counter()
    for i in range(rounds):
        state = inner.copy()
        state.update(b"82%010d" % i)
        final = outer.copy()
        final.update(state.digest())
        final.digest()
    return time.perf_counter() - start


@functools.cache
def fastest_sha256() -> Sha256:
    """The cheaper of the SHA-256 implementations for copy-update-digest on short messages."""
    probe = b"leakmon/sha256-probe" * 7
    agreeing = [c for c in _sha256_candidates() if c(probe).digest() == hashlib.sha256(probe).digest()]
    return min(agreeing, key=_hmac_cost)


def key_id_for(key: bytes) -> str:
    """A short, stable id for a key: SHA-256 over a fixed label and the key. Reveals nothing."""
    return hashlib.sha256(_KEY_ID_LABEL + key).hexdigest()[:16]


def message_header(id_type: str, form: str = "full") -> bytes:
    """The domain-separating prefix of every digest's message (public, holds no secret)."""
    domain = DIGEST_DOMAIN_ALIASES.get(id_type, id_type)
    return f"leakmon/v{CANONICAL_VERSION}/{domain}/{form}".encode() + b"\x00"


class KeyedHasher:
    """HMAC-SHA256 over versioned, domain-separated canonical forms, from precomputed pad states."""

    __slots__ = ("_inner", "_outer", "_states", "key_id")

    def __init__(self, key: bytes, key_id: str | None = None) -> None:
        if len(key) < 16:
            raise ValueError("key must be at least 16 bytes")
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        padded = key.ljust(_BLOCK, b"\x00")
        sha256 = fastest_sha256()
        self._inner = sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = sha256(bytes(b ^ 0x5C for b in padded))
        self._states: dict[tuple[str, str], Any] = {}
        self.key_id = key_id if key_id is not None else key_id_for(key)

    def __repr__(self) -> str:  # never show key material
        return f"KeyedHasher(key_id={self.key_id!r})"

    def _inner_for(self, id_type: str, form: str) -> Any:
        state = self._states.get((id_type, form))
        if state is None:
            state = self._inner.copy()
            state.update(message_header(id_type, form))
            self._states[(id_type, form)] = state
        return state

    def digest(self, id_type: str, canonical: str | bytes, form: str = "full") -> bytes:
        """The 32-byte keyed digest of one canonical value."""
        data = canonical.encode() if isinstance(canonical, str) else canonical
        inner = self._inner_for(id_type, form).copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        digest: bytes = outer.digest()
        return digest

    def digest_many(self, id_type: str, canonicals: Sequence[bytes | str], form: str = "full") -> list[bytes]:
        """Digests of many canonical values of one type and form (the hot path)."""
        inner_copy = self._inner_for(id_type, form).copy
        outer_copy = self._outer.copy
        out: list[bytes] = []
        append = out.append
        for value in canonicals:
            inner = inner_copy()
            try:
                inner.update(value)
            except TypeError:  # str: encode (zero cost for the usual bytes)
                inner.update(value.encode())  # type: ignore[union-attr]
            outer = outer_copy()
            outer.update(inner.digest())
            append(outer.digest())
        return out


def prefix64(digests: Sequence[bytes]) -> npt.NDArray[np.uint64]:
    """First 8 bytes of each 32-byte digest as big-endian unsigned 64-bit integers."""
    if not digests:
        return np.empty(0, dtype=np.uint64)
    joined = np.frombuffer(b"".join(digests), dtype=">u8")
    return joined[::4].astype(np.uint64)
