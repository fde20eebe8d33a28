"""Multi-process scanning for ``leakmon scan --jobs N`` (file reading and the process pool; the
matcher itself stays a pure function of its input).

Workers are forked after the Matcher is built, so they share the protected index copy-on-write
(numpy arrays are never written, so their pages stay shared). The parent only computes newline
boundaries (a seek and a short read per block); each worker reads and scans its own byte range.
Hits come back in file order with absolute line numbers.

Workers never call ``confirm`` (it usually holds a database connection, which must not cross a
fork); the parent confirms the digests of the returned hits instead (see :func:`confirm_hits`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from crawlers.model import TextBlock
from matchers.engine import Confirm, Matcher
from matchers.headers import detect_header
from matchers.model import Hit

DEFAULT_BLOCK = 8 << 20
#: Smaller blocks when several workers share a file: the last blocks then even out across workers.
PARALLEL_BLOCK = 2 << 20
_MATCHER: Matcher | None = None  # set in the parent right before forking


def block_ranges(path: Path, block_size: int = DEFAULT_BLOCK) -> list[tuple[int, int]]:
    """Newline-aligned (start, end) byte ranges covering the file."""
    size = path.stat().st_size
    ranges = []
    with path.open("rb") as fh:
        start = 0
        while start < size:
            end = start + block_size
            if end >= size:
                end = size
            else:
                fh.seek(end)
                tail = fh.readline()
                end += len(tail)
            ranges.append((start, end))
            start = end
    return ranges


def sniff_header(
    path: Path, encoding: str = "utf-8", delimiter: str | None = None
) -> tuple[list[str] | None, str | None]:
    """(columns, delimiter) if the file's first line is a header row, else (None, ``delimiter``)."""
    with path.open("rb") as fh:
        first = fh.readline(64 * 1024).decode(encoding, "replace")
    delim = delimiter or max(("\t", ",", "|", ";"), key=first.count)
    if delim not in first:
        return None, delimiter
    columns = detect_header(first, delim)
    return (columns, delim) if columns else (None, delimiter)


def read_range(path: Path, start: int, end: int, encoding: str = "utf-8") -> bytes:
    with path.open("rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    if encoding.replace("-", "").lower() not in ("utf8", "ascii"):
        data = data.decode(encoding, "replace").encode("utf-8")  # newline-safe for CP949/EUC-KR
    return data


def _scan_range(args: tuple[str, int, int, str, Sequence[str] | None, str | None]) -> tuple[list[Hit], int]:
    path, start, end, encoding, columns, delimiter = args
    assert _MATCHER is not None  # noqa: S101 - set by the parent before forking
    data = read_range(Path(path), start, end, encoding)
    return _MATCHER.scan_bytes(data, columns=columns, delimiter=delimiter), data.count(b"\n")


T = TypeVar("T")
ScanItem = tuple[str | bytes, Sequence[str] | None, str | None, str]


def _scan_item(item: ScanItem) -> list[Hit]:
    text, columns, delimiter, scope = item
    assert _MATCHER is not None  # noqa: S101
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return _MATCHER.scan_bytes(data, columns=columns, delimiter=delimiter, record_scope=scope)


def scan_items(matcher: Matcher, items: Iterable[ScanItem], *, jobs: int = 2) -> Iterator[list[Hit]]:
    """One hit list per (text, columns, delimiter, record_scope) item, in order; lines per item.

    For many independent texts (table blocks of a leaked archive, posts of a channel export).
    """
    if jobs <= 1:
        for text, columns, delimiter, scope in items:
            data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
            yield matcher.scan_bytes(data, columns=columns, delimiter=delimiter, record_scope=scope)
        return
    with _pool(matcher, jobs) as pool:
        for hits in ordered_map(pool, _scan_item, items, 2 * jobs):
            yield confirm_hits(hits, matcher.confirm)


def confirm_hits(hits: list[Hit], confirm: Confirm | None) -> list[Hit]:
    """Drop hits whose full digest storage does not confirm; narrow subject ids to the confirmed ones."""
    if confirm is None or not hits:
        return hits
    confirmed = confirm(list(dict.fromkeys(h.digest for h in hits)))
    out = []
    for hit in hits:
        subjects = set(confirmed.get(hit.digest, ())) & set(hit.subject_ids)
        if subjects:
            out.append(
                hit if len(subjects) == len(hit.subject_ids) else replace(hit, subject_ids=tuple(sorted(subjects)))
            )
    return out


def scan_file(
    matcher: Matcher,
    path: str | os.PathLike[str],
    *,
    jobs: int = 1,
    columns: Sequence[str] | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    block_size: int | None = None,
    auto_header: bool = True,
) -> Iterator[Hit]:
    """Hits of a (big) text file in file order, line-scoped; memory does not grow with file size.

    With ``auto_header`` and no ``columns``, a first line that names two or more identifier types
    (이름, 전화번호, email, ...) is taken as the header row (and the delimiter guessed from it).
    """
    file = Path(path)
    if columns is None and auto_header:
        columns, delimiter = sniff_header(file, encoding, delimiter)
    if block_size is None:
        block_size = DEFAULT_BLOCK if jobs <= 1 else PARALLEL_BLOCK
    ranges = block_ranges(file, block_size)
    if jobs <= 1 or len(ranges) <= 1:
        line = 0
        for start, end in ranges:
            data = read_range(file, start, end, encoding)
            yield from matcher.scan_bytes(data, columns=columns, delimiter=delimiter, line_offset=line)
            line += data.count(b"\n")
        return
    tasks = [(str(file), s, e, encoding, columns, delimiter) for s, e in ranges]
    yield from _run(matcher, _scan_range, tasks, jobs)


@contextlib.contextmanager
def _pool(matcher: Matcher, jobs: int) -> Iterator[Any]:
    """A fork pool whose workers inherit a confirm-less copy of ``matcher`` (index shared copy-on-write)."""
    global _MATCHER
    _MATCHER = Matcher(matcher.hasher, matcher.index, matcher.registry, None, matcher.options)
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            yield pool
    finally:
        _MATCHER = None


def ordered_map(pool: Any, func: Callable[[Any], T], items: Iterable[Any], window: int) -> Iterator[T]:
    """``pool.imap`` with at most ``window`` tasks in flight.

    ``Pool.imap`` drains its input eagerly in a feeder thread, so a 1 GB file's blocks would all
    be read and queued at once; this keeps memory bounded by the window, whatever the input size.
    """
    pending: deque[Any] = deque()
    for item in items:
        pending.append(pool.apply_async(func, (item,)))
        if len(pending) >= window:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def _run(
    matcher: Matcher, func: Callable[[Any], tuple[list[Hit], int]], tasks: Iterable[Any], jobs: int
) -> Iterator[Hit]:
    line = 0
    with _pool(matcher, jobs) as pool:
        for hits, newlines in ordered_map(pool, func, tasks, 2 * jobs):
            if line:
                hits = [replace(h, line=h.line + line) for h in hits]
            yield from confirm_hits(hits, matcher.confirm)
            line += newlines


def block_scanner(matcher: Matcher, jobs: int) -> Callable[[Iterable[TextBlock]], Iterator[list[Hit]]]:
    """The analyzer's parallel scanner for big files: each block's line-scoped hits, in block order,
    from ``jobs`` forked workers (see :func:`scan_items`)."""

    def scan(blocks: Iterable[TextBlock]) -> Iterator[list[Hit]]:
        return scan_items(matcher, ((b.text, b.columns, b.delimiter, "line") for b in blocks), jobs=jobs)

    return scan
