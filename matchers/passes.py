"""Extraction passes: one RE2 ``findall`` over a block feeds one or more recognizers.

Every type gets a pass of its own, except RRN and card, which share one: an alternation without
capture groups (their written forms are strict enough not to swallow each other), each raw match
handed to every member that ``claims`` it (by digit count). User-declared types keep their own pass
(their patterns may hold groups or need stdlib ``re``).

The native kernel (matchers/kernel/scan.c) reproduces the phone, e-mail and RRN|card passes exactly;
the Matcher runs the other passes here, and :mod:`matchers.reference` runs all of them (the oracle).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from typing import Any

import re2

from matchers.types.base import Recognizer
from matchers.types.custom import CustomRecognizer

#: Types that share one pass, in alternation order.
SHARED_TYPES = ("rrn", "card")


class Pass:
    """One findall over a block, split among its member recognizers."""

    def __init__(self, members: Sequence[Recognizer]) -> None:
        self.members = tuple(members)
        self._re: Any = None
        if len(self.members) > 1:
            joined = b"|".join(b"(?:" + (m.fast_pattern or b"") + b")" for m in self.members)
            self._re = re2.compile(joined)

    def find_all(self, block: bytes) -> list[bytes]:
        if self._re is None:
            return self.members[0].find_all(block)
        return self._re.findall(block)  # type: ignore[no-any-return]

    def spans(self, block: bytes, limit: int | None = None) -> list[tuple[int, int]]:
        """(start, end) of every match (of the first ``limit`` ones), as ``find_all`` finds them (slower:
        match objects)."""
        regex = self._re if self._re is not None else self.members[0]._compiled()
        return [m.span() for m in islice(regex.finditer(block), limit)]

    def split(self, raws: list[bytes]) -> list[tuple[Recognizer, list[bytes], Sequence[int]]]:
        """(member, its raws, their positions in ``raws``) for every member that claims some."""
        if len(self.members) == 1:
            return [(self.members[0], raws, range(len(raws)))]
        out: list[tuple[Recognizer, list[bytes], Sequence[int]]] = []
        for member in self.members:
            idx = [i for i, raw in enumerate(raws) if member.claims(raw)]
            if idx:
                out.append((member, [raws[i] for i in idx], idx))
        return out


def build_passes(recognizers: Sequence[Recognizer]) -> list[Pass]:
    """Passes for the strong recognizers that have a fast pattern, in registry order."""
    fast = [r for r in recognizers if not r.weak and r.fast_pattern is not None]
    shared = [r for r in fast if r.id_type in SHARED_TYPES and not isinstance(r, CustomRecognizer)]
    passes: list[Pass] = []
    for rec in fast:
        if rec not in shared:
            passes.append(Pass([rec]))
        elif rec is shared[0]:
            passes.append(Pass(shared))
    return passes
