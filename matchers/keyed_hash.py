"""Keyed hashing: the only place a canonical plaintext identifier becomes a digest.

Digest = HMAC-SHA256(key, b"leakmon/v<CANONICAL_VERSION>/<domain>/<form>\\x00" + canonical_utf8).
The message is versioned and domain-separated by identifier type and form, so a phone and a card
with the same digits never share a digest, and a change of canonical forms re-keys the whole set.

The HMAC runs in the native kernel (matchers/kernel/scan.c): OpenSSL's SHA-256 from precomputed
pad states (key^ipad with the message header absorbed, key^opad), copied per digest. The output is
byte-identical to ``hmac.digest(key, msg, "sha256")`` (tests/matchers/test_keyed_hash.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from matchers.model import ADDRESS, CANONICAL_VERSION, FRN, RRN
from matchers.native import KERNEL_TYPES, WEAK_KINDS, Keyed

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
U8 = npt.NDArray[np.uint8]

_BLOCK = 64
#: RRN and FRN share one number space (the G digit tells them apart), so they share one digest
#: domain: a foreigner number imported under "rrn" still matches when the leak is read as "frn".
DIGEST_DOMAIN_ALIASES = {FRN: RRN}
_KEY_ID_LABEL = b"leakmon/key-id/v1\x00"


def key_id_for(key: bytes) -> str:
    """A short, stable id for a key: SHA-256 over a fixed label and the key. Reveals nothing."""
    return hashlib.sha256(_KEY_ID_LABEL + key).hexdigest()[:16]


def message_header(id_type: str, form: str = "full") -> bytes:
    """The domain-separating prefix of every digest's message (public, holds no secret)."""
    domain = DIGEST_DOMAIN_ALIASES.get(id_type, id_type)
    return f"leakmon/v{CANONICAL_VERSION}/{domain}/{form}".encode() + b"\x00"


class KeyedHasher:
    """HMAC-SHA256 over versioned, domain-separated canonical forms (native, from precomputed pad states)."""

    __slots__ = ("_keyed", "key_id")

    def __init__(self, key: bytes, key_id: str | None = None) -> None:
        if len(key) < 16:
            raise ValueError("key must be at least 16 bytes")
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        self._keyed = Keyed(key, tuple(message_header(t) for t in KERNEL_TYPES))
        self.key_id = key_id if key_id is not None else key_id_for(key)

    def __repr__(self) -> str:  # never show key material
        return f"KeyedHasher(key_id={self.key_id!r})"

    def digest(self, id_type: str, canonical: str | bytes, form: str = "full") -> bytes:
        """The 32-byte keyed digest of one canonical value."""
        return self.joined_digests(id_type, [canonical], form)

    def digest_many(self, id_type: str, canonicals: Sequence[bytes | str], form: str = "full") -> list[bytes]:
        """Digests of many canonical values of one type and form (the hot path)."""
        joined = self.joined_digests(id_type, canonicals, form)
        return [joined[i : i + 32] for i in range(0, len(joined), 32)]

    def joined_digests(self, id_type: str, canonicals: Sequence[bytes | str], form: str = "full") -> bytes:
        """The digests of ``canonicals`` concatenated (32 bytes each): for bulk storage and look-ups."""
        joined: bytes = self._keyed.digest_many(message_header(id_type, form), canonicals)
        return joined

    def digest_packed(self, id_type: str, packed: bytes, width: int = 0, form: str = "full") -> bytes:
        """The digests (32 bytes each, concatenated) of the canonical values packed in ``packed``: fixed
        records of ``width`` bytes, or NUL-separated values when ``width`` is 0 (protect import)."""
        joined: bytes = self._keyed.digest_packed(message_header(id_type, form), packed, width)
        return joined

    def scan(
        self,
        block: bytes,
        tiers: tuple[U8, U32, U8, U32],
        *,
        aliases: tuple[tuple[bytes, bytes], ...] = (),
        everything: bool = False,
    ) -> bytes:
        """Packed native hits of the strong types in ``block`` (see :mod:`matchers.native`) against the
        index ``tiers`` (``ProtectedIndex.kernel_tiers``): ``aliases`` are the e-mail domain aliases
        ``(alias, target)``; ``everything`` reports every candidate, indexed or not (tests)."""
        found: bytes = self._keyed.scan(block, *tiers, aliases, everything)
        return found

    def weak(
        self,
        block: bytes,
        lines: Sequence[int] | None,
        tiers: tuple[U8, U32, U8, U32],
        what: int,
        *,
        everything: bool = False,
    ) -> tuple[bytes, bytes]:
        """Packed weak tokens (names, birth dates; :data:`matchers.native.WEAK`) of the records of ``block``
        whose digest prefix is in ``tiers``, and their canonical bytes: the lines numbered ``lines``
        (increasing), or with None the whole block as one record; ``what``: ``READ_*`` bits."""
        rows = None if lines is None else np.asarray(lines, dtype=np.int64)
        headers = tuple(message_header(domain, form) for domain, form in WEAK_KINDS)
        found: tuple[bytes, bytes] = self._keyed.weak(block, rows, headers, *tiers, what, everything)
        return found

    def addresses(self, block: bytes, tiers: tuple[U8, U32, U8, U32], *, everything: bool = False) -> bytes:
        """Packed address hits of ``block`` (see :mod:`matchers.native`: ``ADDR_*`` flags) against ``tiers``."""
        found: bytes = self._keyed.addresses(block, message_header(ADDRESS), *tiers, everything)
        return found


def prefix64(digests: Sequence[bytes]) -> npt.NDArray[np.uint64]:
    """First 8 bytes of each 32-byte digest as big-endian unsigned 64-bit integers."""
    if not digests:
        return np.empty(0, dtype=np.uint64)
    joined = np.frombuffer(b"".join(digests), dtype=">u8")
    return joined[::4].astype(np.uint64)
