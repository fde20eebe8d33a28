"""What every format reader receives: the member being read and the per-file reading context."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from crawlers.files.budget import Budget
from crawlers.files.limits import ReadLimits
from crawlers.model import Finding, TextBlock

Item = TextBlock | Finding


@dataclass(slots=True)
class Member:
    """One stream to read: the top-level file, an archive member, or a decompressed stream.

    ``source`` yields the bytes (already metered where they are produced). ``random_access`` is a
    seekable handle on the same bytes when one exists cheaply (a local file, bytes in memory, a
    spool); archives that need seeking get a spool otherwise. ``size`` is the stream's size when known.
    """

    locator: str
    name: str
    source: IO[bytes]
    depth: int
    size: int | None = None
    random_access: IO[bytes] | None = None


@dataclass(slots=True)
class Context:
    """Per top-level file: limits, budget, password candidates, and the dispatcher for nested members."""

    limits: ReadLimits
    budget: Budget
    passwords: Sequence[str]
    read_member: Callable[[Member], Iterator[Item]]
    top_type: str | None = None
