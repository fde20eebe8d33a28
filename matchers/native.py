"""The native scan kernel, ``matchers._kernel``, built from ``matchers/kernel/*.c`` by the package build.

Production has one code path: :class:`matchers.keyed_hash.KeyedHasher` and the Matcher's fast path
call the kernel. Without the built extension, importing this module raises :class:`KernelMissing`
(one sentence naming the fix); nothing falls back to Python silently.

``Keyed(key, headers).scan(block, *ProtectedIndex.kernel_tiers, aliases)`` returns packed hits, one
:data:`HIT_FORMAT` record each: raw match start (its boundary byte included), end, 0-based line of
the value, kind (index into :data:`KERNEL_TYPES`), flags, and the 32-byte digest, for the phones,
e-mails, RRN/FRNs and cards whose digest prefix is in the index, in the order of :data:`KERNEL_TYPES`.

``Keyed.weak`` reads the weak tokens of a block's records (names, masked names, birth dates; packed
:data:`WEAK` records of the indexed ones and their canonical bytes) and ``Keyed.addresses`` runs the
address pass (:data:`HIT` records, ``ADDR_*`` flags): one call per block each, no Python object per
candidate.

Flag :data:`SPACED`: a Korean phone written with spaces around its separators (``010 - 1234 - 5678``),
read exactly as the slow path's loose digit runs read it (:func:`matchers.deobfuscate.extract`: class
``separators``). These are reported whether or not they are indexed (start = the value's first byte,
no boundary byte), so that the slow path's trigger search can leave their spans out.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from matchers.errors import KernelMissing
from matchers.model import BIRTHDATE, CARD, EMAIL, NAME, PHONE, RRN

if TYPE_CHECKING:
    from matchers.keyed_hash import KeyedHasher
    from matchers.registry import IdentifierRegistry

try:
    from matchers import _kernel
except ImportError as exc:  # pragma: no cover - exercised by tests/matchers/test_kernel.py in a subprocess
    raise KernelMissing() from exc

#: The kernel's kinds, in its scan and output order (``LK_*`` in matchers/kernel/scan.h).
KERNEL_TYPES = (PHONE, EMAIL, RRN, CARD)
HIT_FORMAT = "<qqqii32s"
HIT = struct.Struct(HIT_FORMAT)
if HIT.size != _kernel.HIT_SIZE:  # pragma: no cover - a build from mismatched sources
    raise KernelMissing()

Keyed = _kernel.Keyed
#: ``flags`` bit of a spaced phone (``LK_SPACED`` in matchers/kernel/scan.h).
SPACED = _kernel.SPACED

#: Weak tokens (``Keyed.weak``, matchers/kernel/weak.c), one :data:`WEAK` record each: record (index into
#: the lines asked for), character offset in the record's text, canonical bytes' offset and length in
#: the returned canonical buffer, kind (index into :data:`WEAK_KINDS`), and the 32-byte digest.
WEAK = struct.Struct("<qqqii32s")
if WEAK.size != _kernel.WEAK_SIZE:  # pragma: no cover - a build from mismatched sources
    raise KernelMissing()
#: The weak kinds as (digest domain, form), in ``LW_*`` order (the headers ``Keyed.weak`` takes).
WEAK_KINDS = ((NAME, "full"), (NAME, "fl"), (NAME, "f"), (BIRTHDATE, "full"))
READ_NAMES = _kernel.READ_NAMES
READ_MASKED = _kernel.READ_MASKED
READ_BIRTH = _kernel.READ_BIRTH
#: Address hits (``Keyed.addresses``, matchers/kernel/address.c): :data:`HIT` records whose flags say
#: where the canonical form is: the raw match (0), the raw with commas and spacing folded
#: (:data:`ADDR_SPACED`), or left to ``canonical_address``'s parser (:data:`ADDR_PARSE`, no digest).
ADDR_SPACED = _kernel.ADDR_SPACED
ADDR_PARSE = _kernel.ADDR_PARSE


def email_aliases(registry: IdentifierRegistry) -> tuple[tuple[bytes, bytes], ...]:
    """The registry's e-mail domain aliases as the kernel takes them: ((alias, target), ...)."""
    rec = registry.get(EMAIL)
    aliases: dict[str, str] = getattr(rec, "aliases", {})
    return tuple((alias.encode(), target.encode()) for alias, target in aliases.items())


def kernel_candidates(
    hasher: KeyedHasher, block: bytes, aliases: tuple[tuple[bytes, bytes], ...] = (), *, spaced: bool = False
) -> list[tuple[str, int, int, int, bytes]]:
    """Every candidate the kernel finds in ``block``, indexed or not (the differential tests' view):
    those of the fast patterns, or (``spaced``) the spaced phones."""
    keys, radix = np.empty(0, dtype=np.uint8), np.empty(0, dtype=np.uint32)
    packed = hasher.scan(block, (keys, radix, keys, radix), aliases=aliases, everything=True)
    want = SPACED if spaced else 0
    return [
        (KERNEL_TYPES[kind], start, end, line, digest)
        for start, end, line, kind, flags, digest in HIT.iter_unpack(packed)
        if flags & SPACED == want
    ]


def weak_candidates(
    hasher: KeyedHasher, block: bytes, lines: Sequence[int] | None, what: int
) -> list[tuple[int, str, str, str, int, bytes]]:
    """Every weak token the kernel reads in the records of ``block`` (the lines numbered ``lines``, or
    the whole block), indexed or not (the differential tests' view): (record, domain, form, canonical,
    start, digest), in the kernel's order."""
    keys, radix = np.empty(0, dtype=np.uint8), np.empty(0, dtype=np.uint32)
    packed, canon = hasher.weak(block, lines, (keys, radix, keys, radix), what, everything=True)
    return [
        (record, *WEAK_KINDS[kind], canon[off : off + length].decode(), start, digest)
        for record, start, off, length, kind, digest in WEAK.iter_unpack(packed)
    ]


def address_candidates(hasher: KeyedHasher, block: bytes) -> list[tuple[int, int, int, int, bytes]]:
    """Every address match the kernel finds in ``block``, indexed or not: (start, end, line, flags, digest)."""
    keys, radix = np.empty(0, dtype=np.uint8), np.empty(0, dtype=np.uint32)
    packed = hasher.addresses(block, (keys, radix, keys, radix), everything=True)
    return [(start, end, line, flags, digest) for start, end, line, _, flags, digest in HIT.iter_unpack(packed)]


__all__ = [
    "ADDR_PARSE",
    "ADDR_SPACED",
    "HIT",
    "HIT_FORMAT",
    "KERNEL_TYPES",
    "READ_BIRTH",
    "READ_MASKED",
    "READ_NAMES",
    "SPACED",
    "WEAK",
    "WEAK_KINDS",
    "Keyed",
    "address_candidates",
    "email_aliases",
    "kernel_candidates",
    "weak_candidates",
]
