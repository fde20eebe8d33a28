"""Split decoded text into batches of whole lines, cutting overlong lines into bounded pieces."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from crawlers.model import Finding

_CUT_AT = (" ", "\t", ",", ";", "|")
_CUT_WINDOW = 4096


@dataclass(frozen=True, slots=True)
class Batch:
    """Consecutive lines starting at line ``first_line`` (1-based), no line ending kept.

    ``piece`` marks one piece of an overlong line: ``lines`` is that single piece and every piece of
    the line has the same ``first_line``.
    """

    first_line: int
    lines: list[str]
    piece: bool = False


def _cut(text: str, size: int) -> int:
    """Where to cut ``text`` near ``size``: just after a space or delimiter when one is close."""
    best = max(text.rfind(sep, max(0, size - _CUT_WINDOW), size) for sep in _CUT_AT)
    return best + 1 if best > 0 else size


def cut_pieces(text: str, size: int) -> Iterator[str]:
    """``text`` in pieces of at most ``size`` characters, cut just after a separator when one is near."""
    while len(text) > size:
        cut = _cut(text, size)
        yield text[:cut]
        text = text[cut:]
    if text:
        yield text


class LineSplitter:
    """Turns text chunks into :class:`Batch` objects and ``cap_line`` findings.

    Line ends are ``\\n``, ``\\r\\n`` and a lone ``\\r``. A line longer than ``max_line`` characters is
    yielded in pieces, so memory stays bounded by ``max_line`` plus one chunk.
    """

    def __init__(self, locator: str, max_line: int, *, first_line: int = 1) -> None:
        self._locator = locator
        self._max_line = max_line
        self._line_no = first_line
        self._pending = ""
        self._pieces = 0  # pieces already yielded for the pending line
        self._held_cr = False

    def feed(self, chunk: str) -> Iterator[Batch | Finding]:
        """Batches of the lines that ``chunk`` completes."""
        if self._held_cr:
            chunk = "\r" + chunk
            self._held_cr = False
        if chunk.endswith("\r"):
            chunk = chunk[:-1]
            self._held_cr = True
        if "\r" in chunk:
            chunk = chunk.replace("\r\n", "\n").replace("\r", "\n")
        parts = chunk.split("\n")
        self._pending += parts[0]
        if len(parts) == 1:
            yield from self._overflow()
            return
        parts[0] = self._pending
        self._pending = parts.pop()
        if self._pieces or max(map(len, parts)) > self._max_line:
            yield from self._slow(parts)
        else:
            yield Batch(self._line_no, parts)
            self._line_no += len(parts)
        yield from self._overflow()

    def close(self) -> Iterator[Batch | Finding]:
        """The last line (without a final line end), if any."""
        if self._pending or self._pieces:
            yield from self._slow([self._pending])
            self._pending = ""

    def _overflow(self) -> Iterator[Batch | Finding]:
        while len(self._pending) > self._max_line:
            cut = _cut(self._pending, self._max_line)
            yield Batch(self._line_no, [self._pending[:cut]], piece=True)
            self._pending = self._pending[cut:]
            self._pieces += 1

    def _slow(self, lines: list[str]) -> Iterator[Batch | Finding]:
        start = 0
        for i, line in enumerate(lines):
            if not self._pieces and len(line) <= self._max_line:
                continue
            if i > start:
                yield Batch(self._line_no, lines[start:i])
                self._line_no += i - start
            yield from self._long_line(line)
            start = i + 1
        if start < len(lines):
            yield Batch(self._line_no, lines[start:])
            self._line_no += len(lines) - start

    def _long_line(self, rest: str) -> Iterator[Batch | Finding]:
        """Yield the end of an overlong line in pieces, then the ``cap_line`` finding."""
        total = self._pieces * self._max_line + len(rest)
        while rest:
            cut = _cut(rest, self._max_line) if len(rest) > self._max_line else len(rest)
            yield Batch(self._line_no, [rest[:cut]], piece=True)
            rest = rest[cut:]
            self._pieces += 1
        yield Finding(
            self._locator,
            "cap_line",
            f"line {self._line_no} is about {total} characters, over max_line_bytes={self._max_line}: "
            f"scanned in {self._pieces} pieces (a value cut at a piece boundary can be missed)",
        )
        self._pieces = 0
        self._line_no += 1


def split_lines(
    chunks: Iterable[str], locator: str, max_line: int, *, first_line: int = 1
) -> Iterator[Batch | Finding]:
    """All batches (and ``cap_line`` findings) of a text given as chunks (its first line is ``first_line``)."""
    splitter = LineSplitter(locator, max_line, first_line=first_line)
    for chunk in chunks:
        yield from splitter.feed(chunk)
    yield from splitter.close()
