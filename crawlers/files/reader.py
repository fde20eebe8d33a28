"""Public entry points: read a path, bytes or a stream into TextBlocks and Findings, with a report."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import IO

from crawlers.files.budget import Budget, CapExceeded, MeteredReader
from crawlers.files.context import Context, Item, Member
from crawlers.files.dispatch import read_member
from crawlers.files.limits import BUFFER, ReadLimits
from crawlers.files.names import safe_name
from crawlers.files.report import FileReport, status_of
from crawlers.model import Attachment, Finding, TextBlock

DEFAULT_LIMITS = ReadLimits()

# Opens the top-level member (setting the reading's sha256/size and handles to close); returns None
# after appending to the findings why it cannot.
_Opener = Callable[["FileReading", Context, list[Finding]], Member | None]


class FileReading(Iterator[TextBlock | Finding]):
    """An iterator over one top-level file's blocks and findings; ``report`` once it is exhausted.

    Use it as a context manager (or call :meth:`close`) when you may stop early: the file handle
    and temporary spools are released, and the report then says the read was aborted.
    """

    def __init__(self, name: str, opener: _Opener, limits: ReadLimits, passwords: Sequence[str]) -> None:
        self.name = name
        self._limits = limits
        self._passwords = tuple(passwords)
        self._report: FileReport | None = None
        self.sha256: str | None = None
        self.size: int | None = None
        self.handles: list[IO[bytes]] = []
        self._items = self._run(opener)

    def __iter__(self) -> FileReading:
        return self

    def __next__(self) -> Item:
        return next(self._items)

    def __enter__(self) -> FileReading:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading; the report records an ``aborted`` finding if the end was not reached."""
        self._items.close()
        if self._report is None:  # closed before the first item: the generator never ran
            aborted = (Finding(self.name, "aborted", "closed before reading started"),)
            self._report = FileReport(
                self.name, self.sha256, self.size, "unknown", status_of(0, aborted), 0, 0, 0, 0, 0.0, aborted
            )

    @property
    def report(self) -> FileReport:
        """The summary; raises RuntimeError until the iterator is exhausted or closed."""
        if self._report is None:
            raise RuntimeError(f"{self.name}: read the file to the end (or close it) before asking for its report")
        return self._report

    def _run(self, opener: _Opener) -> Generator[Item, None, None]:
        started = time.monotonic()
        budget = Budget(self._limits)
        ctx = Context(self._limits, budget, self._passwords, lambda member: read_member(member, ctx))
        findings: list[Finding] = []
        blocks = lines = 0
        finished = False
        try:
            member = opener(self, ctx, findings)
            yield from findings
            if member is not None:
                for item in read_member(member, ctx):
                    if isinstance(item, Finding):
                        findings.append(item)
                    else:
                        blocks += 1
                        lines += item.text.count("\n") + 1
                    yield item
            finished = True
        except CapExceeded as cap:  # a fatal cap from below, already yielded as a finding
            if not cap.recorded:
                findings.append(Finding(self.name, cap.kind, cap.reason))
                yield findings[-1]
            finished = True
        finally:
            for handle in self.handles:
                handle.close()
            if not finished:
                findings.append(Finding(self.name, "aborted", "the consumer stopped reading before the end"))
            self._report = FileReport(
                name=self.name,
                sha256=self.sha256,
                size=self.size,
                detected_type=ctx.top_type or "unknown",
                status=status_of(blocks, findings),
                blocks=blocks,
                lines=lines,
                members=budget.members,
                expanded_bytes=budget.expanded,
                seconds=round(time.monotonic() - started, 3),
                findings=tuple(findings),
            )


def _root(name: str, findings: list[Finding]) -> str:
    """A safe locator root for a sender-chosen name."""
    clean, escapes = safe_name(name)
    if escapes:
        findings.append(Finding(clean, "path_traversal", f"file name {name[:200]!r} holds a path; using {clean!r}"))
    return clean


def _too_big(locator: str, size: int, limits: ReadLimits) -> Finding | None:
    if size <= limits.max_file_bytes:
        return None
    return Finding(locator, "cap_bytes", f"file is {size} bytes, over max_file_bytes={limits.max_file_bytes}; not read")


def _top_member(locator: str, name: str, raw: IO[bytes], ctx: Context, size: int | None, seekable: bool) -> Member:
    source = io.BufferedReader(MeteredReader(raw, ctx.budget, compressed=None, where=locator), BUFFER)
    return Member(locator, name, source, 0, size=size, random_access=raw if seekable else None)


def read_path(
    path: Path,
    *,
    limits: ReadLimits = DEFAULT_LIMITS,
    passwords: Sequence[str] = (),
    display_name: str | None = None,
) -> FileReading:
    """Read a local file (any supported format or archive); the locator root is ``display_name`` or
    the file's name. The file is opened lazily, hashed in a first pass, and closed when the iteration
    ends or :meth:`FileReading.close` is called."""
    name = display_name or path.name

    def opener(reading: FileReading, ctx: Context, findings: list[Finding]) -> Member | None:
        locator = _root(name, findings)
        try:
            size = path.stat().st_size
            too_big = _too_big(locator, size, limits)
            if too_big is not None:
                findings.append(too_big)
                return None
            reading.size, reading.sha256 = size, _sha256_file(path)
            handle = path.open("rb")
        except OSError as exc:
            findings.append(
                Finding(locator, "unreadable", f"cannot open the file ({type(exc).__name__}: {exc.strerror})")
            )
            return None
        reading.handles.append(handle)
        return _top_member(locator, name, handle, ctx, size, seekable=True)

    return FileReading(name, opener, limits, passwords)


def read_bytes(
    name: str,
    data: bytes,
    *,
    limits: ReadLimits = DEFAULT_LIMITS,
    passwords: Sequence[str] = (),
) -> FileReading:
    """Read an in-memory file (an attachment); ``name`` is what the sender called it (untrusted)."""

    def opener(reading: FileReading, ctx: Context, findings: list[Finding]) -> Member | None:
        locator = _root(name, findings)
        reading.size, reading.sha256 = len(data), hashlib.sha256(data).hexdigest()
        too_big = _too_big(locator, len(data), limits)
        if too_big is not None:
            findings.append(too_big)
            return None
        return _top_member(locator, name, io.BytesIO(data), ctx, len(data), seekable=True)

    return FileReading(name, opener, limits, passwords)


def read_stream(
    name: str,
    stream: IO[bytes],
    *,
    size: int | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    passwords: Sequence[str] = (),
) -> FileReading:
    """Read a forward-only binary stream (e.g. a download in progress); zip/7z/rar are spooled.

    ``sha256`` and ``size`` in the report cover the bytes actually consumed from the stream.
    """

    def opener(reading: FileReading, ctx: Context, findings: list[Finding]) -> Member | None:
        locator = _root(name, findings)
        if size is not None and (too_big := _too_big(locator, size, limits)) is not None:
            findings.append(too_big)
            return None
        hashing = io.BufferedReader(_HashingReader(stream, reading), BUFFER)
        return _top_member(locator, name, hashing, ctx, size, seekable=False)

    return FileReading(name, opener, limits, passwords)


def read_attachment(
    attachment: Attachment, *, limits: ReadLimits = DEFAULT_LIMITS, passwords: Sequence[str] = ()
) -> FileReading:
    """Read a post's attachment from disk or memory; one the venue did not fetch yields ``not_fetched``."""
    if attachment.path is not None:
        return read_path(attachment.path, limits=limits, passwords=passwords, display_name=attachment.name)
    if attachment.data is not None:
        return read_bytes(attachment.name, attachment.data, limits=limits, passwords=passwords)

    def opener(reading: FileReading, ctx: Context, findings: list[Finding]) -> Member | None:
        reason = attachment.skipped_reason or "the venue did not fetch the file"
        findings.append(Finding(_root(attachment.name, findings), "not_fetched", reason))
        return None

    return FileReading(attachment.name, opener, limits, passwords)


class _HashingReader(io.RawIOBase):
    """Passes a stream through while hashing and counting it into the reading's sha256/size."""

    def __init__(self, source: IO[bytes], reading: FileReading) -> None:
        super().__init__()
        self._source = source
        self._reading = reading
        self._digest = hashlib.sha256()
        self._size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        self._digest.update(data)
        self._size += len(data)
        self._reading.sha256, self._reading.size = self._digest.hexdigest(), self._size
        return len(data)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(BUFFER), b""):
            digest.update(chunk)
    return digest.hexdigest()
