"""Extraction passes: one RE2 ``findall`` over a block feeds one or more recognizers.

The busiest types (phone, e-mail) get a pass each. RRN, card and address share one pass, an
alternation without capture groups (their written forms are strict enough not to swallow each
other), and each raw match is handed to every member that ``claims`` it (ASCII: RRN and card by digit
count; Hangul: address).
User-declared types keep their own pass (their patterns may hold groups or need stdlib ``re``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import re2

from matchers.types.base import Recognizer
from matchers.types.custom import CustomRecognizer

#: Types with a pass of their own: many matches per MB.
SOLO_TYPES = frozenset({"phone", "email"})


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

    def matches_at(self, block: bytes, pos: int, raw: bytes) -> bool:
        if self._re is None:
            return self.members[0].matches_at(block, pos, raw)
        m = self._re.match(block, pos)
        return m is not None and m.group(0) == raw

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
    """Passes for the strong recognizers that have a fast pattern."""
    fast = [r for r in recognizers if not r.weak and r.fast_pattern is not None]
    passes = [Pass([r]) for r in fast if r.id_type in SOLO_TYPES or isinstance(r, CustomRecognizer)]
    shared = [r for r in fast if r.id_type not in SOLO_TYPES and not isinstance(r, CustomRecognizer)]
    if shared:
        passes.append(Pass(shared))
    return passes
