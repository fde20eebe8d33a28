"""Normalized text that remembers where each character came from and which classes changed it.

A :class:`Norm` holds, per output character, its offset in the original text, the class bits of the
step that produced it (``own``) and of removed text just before it (``gap``); ``substitute`` and
``convert_runs`` are the two ways a normalizer changes it. Class bits are assigned by
:mod:`matchers.deobfuscate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Norm:
    """Normalized text with, per character: original offset, own class bits, bits of removed text before it."""

    chars: list[str]
    pos: list[int]
    own: list[int]
    gap: list[int]
    _text: str | None = None

    @classmethod
    def of(cls, text: str) -> Norm:
        n = len(text)
        return cls(list(text), list(range(n)), [0] * n, [0] * n, text)

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self.chars)
        return self._text

    def changed(self, start: int, end: int) -> bool:
        """True if normalization touched the span (inside it, or removed text within it)."""
        return any(self.own[start:end]) or any(self.gap[start + 1 : end])

    def bits(self, start: int, end: int) -> int:
        """Class bits of a span: its characters' own, and removed text inside it."""
        bits = 0
        for i in range(start, end):
            bits |= self.own[i]
            if i > start:
                bits |= self.gap[i]
        return bits


def substitute(norm: Norm, pattern: re.Pattern[str], repl: Any, flag: int) -> Norm:
    """Replace ``pattern`` matches by ``repl(match)`` (None: keep the match untouched)."""
    text = norm.text
    if pattern.search(text) is None:
        return norm
    out = Norm([], [], [], [])
    last = 0
    pending = 0
    for m in pattern.finditer(text):
        new = repl(m)
        if new is None:
            continue  # copied unchanged with the text after it
        s, e = m.span()
        _copy_span(norm, out, last, s, pending)
        pending = 0
        removed = flag
        for i in range(s, e):
            removed |= norm.own[i] | norm.gap[i]
        if not new.strip():  # removed, or replaced by a space: the next character carries the classes
            pending = removed
        for k, ch in enumerate(new):
            out.chars.append(ch)
            out.pos.append(norm.pos[s] if s < len(norm.pos) else 0)
            out.own.append(removed if not ch.isspace() else 0)
            out.gap.append(0 if k else norm.gap[s] if s < e else 0)
        last = e
    _copy_span(norm, out, last, len(text), pending)
    return out


def _copy_span(src: Norm, dst: Norm, start: int, end: int, pending: int) -> None:
    if start >= end:
        return
    first = len(dst.gap)
    dst.chars.extend(src.chars[start:end])
    dst.pos.extend(src.pos[start:end])
    dst.own.extend(src.own[start:end])
    dst.gap.extend(src.gap[start:end])
    dst.gap[first] |= pending


def convert_runs(norm: Norm, pattern: re.Pattern[str], table: dict[str, str], flag: int, min_group: int) -> Norm:
    """Replace digit words/letters inside numeric runs of 7+ digits (in place: one char for one char)."""
    text = norm.text
    group = re.compile(r"[" + "".join(table) + r"]+")
    for m in pattern.finditer(text):
        run = m.group(0)
        if not any(c in table for c in run):
            continue
        if sum(1 for c in run if c.isdigit() or c in table) < 7:
            continue
        if min_group == 1 and sum(1 for c in run if c.isdigit()) < 3:
            continue  # letter swaps need real digits around them
        i = m.start()
        for g in group.finditer(run):
            if len(g.group(0)) < min_group:
                continue
            for k in range(g.start(), g.end()):
                norm.chars[i + k] = table[run[k]]
                norm.own[i + k] |= flag
        norm._text = None
    return norm
