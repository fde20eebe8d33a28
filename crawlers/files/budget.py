"""Per-file budget (bytes, members, time) and the metered stream that charges it."""

from __future__ import annotations

import io
import time
from typing import IO

from crawlers.files.limits import ReadLimits

# Caps that end the whole top-level file; any other cap ends only the member it hit.
FATAL_CAPS = frozenset({"cap_bytes", "cap_time", "cap_members"})


class CapExceeded(Exception):
    """A limit tripped; ``kind`` is the Finding kind, ``reason`` says which limit and where."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.recorded = False  # set once a Finding was yielded for it

    @property
    def fatal(self) -> bool:
        """True when reading the rest of the top-level file must stop too."""
        return self.kind in FATAL_CAPS


class Budget:
    """What one top-level file may still consume: expanded bytes, members, wall-clock time."""

    def __init__(self, limits: ReadLimits) -> None:
        self.limits = limits
        self.started = time.monotonic()
        self.expanded = 0
        self.members = 0

    def charge(self, nbytes: int) -> None:
        """Count ``nbytes`` of output; raise :class:`CapExceeded` past the byte or time cap."""
        self.expanded += nbytes
        if self.expanded > self.limits.max_total_bytes:
            raise CapExceeded(
                "cap_bytes",
                f"more than max_total_bytes={self.limits.max_total_bytes} bytes expanded; reading stopped",
            )
        self.check_time()

    def check_time(self) -> None:
        """Raise :class:`CapExceeded` once the file has taken longer than ``max_seconds``."""
        if time.monotonic() - self.started > self.limits.max_seconds:
            raise CapExceeded("cap_time", f"reading took longer than max_seconds={self.limits.max_seconds:g}; stopped")

    def seconds_left(self) -> float:
        """Wall-clock seconds before ``max_seconds`` is reached (0 when it is)."""
        return max(0.0, self.limits.max_seconds - (time.monotonic() - self.started))

    def time_cap(self, what: str) -> CapExceeded:
        """The ``cap_time`` error for ``what`` (e.g. an external tool killed at the deadline)."""
        return CapExceeded("cap_time", f"{what} ran past max_seconds={self.limits.max_seconds:g}; stopped")

    def add_member(self) -> None:
        """Count one archive member; raise :class:`CapExceeded` past ``max_members``."""
        self.members += 1
        if self.members > self.limits.max_members:
            raise CapExceeded(
                "cap_members", f"more than max_members={self.limits.max_members} archive members; rest skipped"
            )

    @property
    def remaining(self) -> int:
        """Bytes that may still be expanded."""
        return max(0, self.limits.max_total_bytes - self.expanded)


class MeteredReader(io.RawIOBase):
    """Reads from ``source`` and charges every byte to ``budget``; cuts a stream that expands too much.

    ``compressed`` is the size of the input the stream decompresses (None for stored data); once the
    output passes ``ratio_min_bytes`` it may not exceed ``compressed * max_ratio``. With ``charge``
    False (bytes a spool already paid for) only the time cap is checked.
    """

    def __init__(
        self, source: IO[bytes], budget: Budget, *, compressed: int | None, where: str, charge: bool = True
    ) -> None:
        super().__init__()
        self._charge = charge
        self._source = source
        self._budget = budget
        self._where = where
        self.produced = 0
        limits = budget.limits
        self._ratio_cap: float | None = None
        if compressed is not None:
            self._ratio_cap = max(limits.ratio_min_bytes, compressed * limits.max_ratio)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self._source.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        if n:
            self.produced += n
            if self._ratio_cap is not None and self.produced > self._ratio_cap:
                raise CapExceeded(
                    "cap_ratio",
                    f"{self._where} expands beyond max_ratio={self._budget.limits.max_ratio:g} "
                    f"(over {int(self._ratio_cap)} bytes); rest of it skipped",
                )
            if self._charge:
                self._budget.charge(n)
            else:
                self._budget.check_time()
        return n


class PrefixedReader(io.RawIOBase):
    """Gives back ``head`` (bytes already read to sniff the type) before the rest of ``source``."""

    def __init__(self, head: bytes, source: IO[bytes]) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def read_exactly(source: IO[bytes], size: int) -> bytes:
    """Read up to ``size`` bytes, looping over short reads (decompressors return less than asked)."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        data = source.read(left)
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)
