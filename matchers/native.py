"""The native scan kernel, ``matchers._kernel``, built from ``matchers/kernel/*.c`` by the package build.

Production has one code path: :class:`matchers.keyed_hash.KeyedHasher` and the Matcher's fast path
call the kernel. Without the built extension, importing this module raises :class:`KernelMissing`
(one sentence naming the fix); nothing falls back to Python silently.

``Keyed(key, headers).scan(block, *ProtectedIndex.kernel_tiers, aliases)`` returns packed hits, one
:data:`HIT_FORMAT` record each: raw match start (its boundary byte included), end, 0-based line of
the value, kind (index into :data:`KERNEL_TYPES`), flags, and the 32-byte digest, for the phones,
e-mails, RRN/FRNs and cards whose digest prefix is in the index, in the order of :data:`KERNEL_TYPES`.

Flag :data:`SPACED`: a Korean phone written with spaces around its separators (``010 - 1234 - 5678``),
read exactly as the slow path's loose digit runs read it (:func:`matchers.deobfuscate.extract`: class
``separators``). These are reported whether or not they are indexed (start = the value's first byte,
no boundary byte), so that the slow path's trigger search can leave their spans out.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import numpy as np

from matchers.errors import KernelMissing
from matchers.model import CARD, EMAIL, PHONE, RRN

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


__all__ = ["HIT", "HIT_FORMAT", "KERNEL_TYPES", "SPACED", "Keyed", "email_aliases", "kernel_candidates"]
