"""Multi-process scanning for ``leakmon scan --jobs N`` (file reading and the process pool; the
matcher itself stays a pure function of its input).

Workers are forked after the Matcher is built, so they share the protected index copy-on-write
(numpy arrays are never written, so their pages stay shared).

:class:`ParallelScanner` is what the analyzer uses. A big plain line file (text, CSV/TSV, SQL
dumps, JSON lines; see :mod:`crawlers.files.ranges`) is cut at newlines into byte ranges, smaller
toward its end so the workers finish together: a thread of the parent hashes the file and counts
line ends (one cheap pass, ahead of the workers: the SHA-256 is known long before the last range is
matched) while each worker reads, decodes and matches its own range and returns finished hit rows
(locators built and redacted); the parent merges them in
order. Everything else (archives, JSON documents) is read by the parent's reader and each block sent
to a worker, which returns its finished rows. ``jobs=1`` runs the very same code in-process, so one
and several jobs give identical rows.

Workers confirm digests inside the matcher, as one process does, over their own database
connections: ``after_fork`` (run first in each worker) must give them those (e.g.
``engine.dispose(close=False)``). A matcher that confirms without ``after_fork`` is run in this
process (``jobs`` becomes 1): confirming returned rows afterwards would keep, for example, the
composite name next to a phone the database rejected.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from crawlers.files.limits import ReadLimits
from crawlers.files.ranges import LinePlan, RangeState, SqlState, plan_lines, range_items, raw_block
from crawlers.files.report import status_of
from crawlers.model import Finding, TextBlock
from crawlers.redact import redact_locator
from matchers.engine import Matcher
from matchers.model import Hit
from storage.hitrow import HitRow

#: Bytes per range when several workers share a file: the last ranges then even out across workers.
PARALLEL_BLOCK = 2 << 20
#: The smallest range cut toward a file's end (see :func:`block_ranges`).
MIN_RANGE = 256 << 10
_MATCHER: Matcher | None = None  # set in the parent right before forking
T = TypeVar("T")


def block_ranges(path: Path, block_size: int = PARALLEL_BLOCK, *, workers: int = 1) -> list[tuple[int, int]]:
    """Newline-aligned (start, end) byte ranges covering the file.

    With several workers the ranges shrink toward the file's end (each at most a ``2 * workers``-th
    of what is left, never under :data:`MIN_RANGE`), so the workers finish together instead of one
    matching a last full range alone, and a small file still makes a range or more per worker.
    """
    size = path.stat().st_size
    ranges = []
    with path.open("rb") as fh:
        start = 0
        while start < size:
            step = block_size if workers <= 1 else min(block_size, max(MIN_RANGE, (size - start) // (2 * workers)))
            end = start + step
            if end >= size:
                end = size
            else:
                fh.seek(end)
                tail = fh.readline()
                end += len(tail)
            ranges.append((start, end))
            start = end
    return ranges


@contextlib.contextmanager
def _pool(matcher: Matcher, jobs: int, after_fork: Callable[[], None] | None = None) -> Iterator[Any]:
    """A fork pool whose workers inherit a copy of ``matcher`` (index shared copy-on-write).

    The copy confirms digests as ``matcher`` does: ``after_fork``, run first in each worker, must
    then give it its own database connections.

    A finished scan closes the pool and waits for its workers (a range read again with the next one
    leaves the first read's task running); only an error terminates them. ``Pool.terminate`` kills a
    worker even while it writes a result, holding the result queue's lock, and then waits forever
    for its task thread, which needs that lock to send its last message.
    """
    global _MATCHER
    _MATCHER = matcher
    try:
        pool = multiprocessing.get_context("fork").Pool(jobs, initializer=after_fork)
        try:
            yield pool
        except _Discarded:  # workers healthy, their results unwanted: let the tasks in flight finish
            pool.close()
            pool.join()
            raise
        except BaseException:
            pool.terminate()
            raise
        pool.close()
        pool.join()
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


def block_scanner(matcher: Matcher, jobs: int, *, after_fork: Callable[[], None] | None = None) -> ParallelScanner:
    """The analyzer's scanner for big files with ``jobs`` workers (see :class:`ParallelScanner`)."""
    return ParallelScanner(matcher, jobs, after_fork=after_fork)


# ------------------------------------------------------------------ rows built by the workers
Row = tuple[Any, ...]  # a HitRow as a plain tuple (a named tuple pickles through its class, 3x slower)
#: (text, columns, delimiter, locator, first_line, unit, source, token): one reader block to match.
BlockTask = tuple[str, tuple[str, ...] | None, str | None, str, int, str, str, str | None]


@dataclass(frozen=True, slots=True)
class RangeTask:
    """Bytes ``[start, end)`` of a line file, whose first line is ``first_line``."""

    path: str
    plan: LinePlan
    start: int
    end: int
    first_line: int
    source: str
    token: str | None
    sql: SqlState | None = None  # a SQL dump's reader state assumed at ``start``


@dataclass(slots=True)
class RangeDone:
    """A range's finished rows, what reading it learned, and its size."""

    rows: list[Row]
    state: RangeState
    nbytes: int
    #: SQL table rows: (index in ``rows``, table, row number within the range) - the parent adds the
    #: table's rows in earlier ranges and writes the locator again
    marks: list[tuple[int, str, int]] = field(default_factory=list)


def _rows_of(
    matcher: Matcher,
    block: TextBlock,
    source: str,
    token: str | None,
    data: bytes | None = None,
    marks: tuple[str, list[tuple[int, str, int]], list[Row]] | None = None,
) -> list[Row]:
    """Finished rows of ``block`` (``data``: its text as UTF-8, when already at hand).

    ``marks`` = (table, marks, all rows so far): append ``(index, table, row number)`` per row.
    """
    from crawlers.analyzer import LocatedHit, hit_rows

    if data is None:
        data = block.text.encode("utf-8", "surrogatepass")
    rows: list[Row] = []
    for hits in matcher.iter_hits(data, columns=block.columns, delimiter=block.delimiter):
        if marks is None:
            rows.extend(map(tuple, hit_rows((LocatedHit(h, block.locate(h.line), token) for h in hits), source)))
            continue
        table, noted, before = marks
        number = [0]

        def located(hits: list[Hit] = hits, number: list[int] = number) -> Iterator[LocatedHit]:
            for h in hits:
                number[0] = block.first_line + h.line
                yield LocatedHit(h, block.locate(h.line), token)

        for row in hit_rows(located(), source):  # a hit's rows come before the next hit is taken
            noted.append((len(before) + len(rows), table, number[0]))
            rows.append(tuple(row))
    return rows


def _block_rows(matcher: Matcher, task: BlockTask) -> list[Row]:
    text, columns, delimiter, locator, first_line, unit, source, token = task
    block = TextBlock(locator, text, first_line, unit, columns, delimiter)
    return _rows_of(matcher, block, source, token)


def _range_rows(matcher: Matcher, task: RangeTask) -> RangeDone:
    state = RangeState()
    rows: list[Row] = []
    path, plan = Path(task.path), task.plan
    raw = raw_block(path, plan, task.start, task.end, state)
    if raw is not None:
        unit, columns = ("row", plan.columns) if plan.fmt == "csv" else ("line", None)
        block = TextBlock(plan.locator, "", task.first_line, unit, columns, plan.delimiter)
        return RangeDone(_rows_of(matcher, block, task.source, task.token, raw), state, task.end - task.start)
    marks: list[tuple[int, str, int]] = []
    tables = f"{plan.locator}#"
    for item in range_items(path, plan, task.start, task.end, task.first_line, state, task.sql):
        if not isinstance(item, TextBlock):
            continue
        table = item.locator[len(tables) :] if plan.fmt == "sql" and item.locator.startswith(tables) else None
        noted = (table, marks, rows) if table is not None and item.unit == "row" else None
        rows.extend(_rows_of(matcher, item, task.source, task.token, marks=noted))
    return RangeDone(rows, state, task.end - task.start, marks)


def _worker_block(task: BlockTask) -> list[Row]:
    assert _MATCHER is not None  # noqa: S101 - set by the parent before forking
    return _block_rows(_MATCHER, task)


def _worker_range(task: RangeTask) -> RangeDone:
    assert _MATCHER is not None  # noqa: S101 - set by the parent before forking
    return _range_rows(_MATCHER, task)


class _Discarded(Exception):
    """Thrown into a scan started ahead (:meth:`ParallelScanner.prefetch`) that nobody took over."""


@dataclass
class LineFileScan:
    """A line file matched in ranges: iterate for (rows, bytes read) in file order; then the report."""

    path: Path
    plan: LinePlan
    token: str | None = None  # what the rows carry for the file's SHA-256 (see crawlers.hitspool)
    sha256: str | None = None
    size: int = 0
    findings: list[Finding] = field(default_factory=list)
    blocks: int = 0
    rows: Iterator[tuple[list[HitRow], int]] = field(init=False)  # (rows, bytes read) per range, in order
    #: the steps: first None once the workers were forked and the first ranges sent, then each range's rows
    steps: Generator[tuple[list[HitRow], int] | None, None, None] = field(init=False, repr=False)
    started: bool = field(default=False, repr=False)
    #: (path, name, limits, source) of a scan started ahead by :meth:`ParallelScanner.prefetch`
    ahead_of: tuple[Path, str, ReadLimits, str] | None = field(default=None, repr=False)

    def _rows(self) -> Iterator[tuple[list[HitRow], int]]:
        self.start()
        for step in self.steps:
            if step is not None:
                yield step

    def start(self) -> None:
        """Fork the workers and send the first ranges (once; iterating :attr:`rows` does it too)."""
        if not self.started:
            self.started = True
            next(self.steps)

    def discard(self) -> None:
        """Stop a started scan: the ranges in flight finish, their rows are dropped, the workers exit."""
        with contextlib.suppress(_Discarded, StopIteration):
            self.steps.throw(_Discarded())

    @property
    def status(self) -> str:
        return status_of(self.blocks, self.findings)

    @property
    def detected_type(self) -> str:
        return self.plan.detected_type


class ParallelScanner:
    """The analyzer's scanner for big files, ``jobs`` worker processes (1: in this process)."""

    def __init__(self, matcher: Matcher, jobs: int = 1, *, after_fork: Callable[[], None] | None = None) -> None:
        self.matcher = matcher
        workers_confirm = matcher.confirm is None or after_fork is not None
        self.jobs = max(1, jobs) if workers_confirm else 1
        self.after_fork = after_fork
        self.range_bytes = PARALLEL_BLOCK
        self._ahead: LineFileScan | None = None  # started by prefetch(), not yet taken over

    # ---------------------------------------------------------------- reader blocks
    def blocks(
        self, blocks: Iterable[TextBlock], source: str, token: str | None
    ) -> Iterator[tuple[TextBlock, list[HitRow]]]:
        """Each block with its finished hit rows, in order."""
        make = HitRow._make
        if self.jobs <= 1:
            for block in blocks:
                yield block, [make(row) for row in _rows_of(self.matcher, block, source, token)]
            return
        in_flight: deque[TextBlock] = deque()

        def tasks() -> Iterator[BlockTask]:
            for b in blocks:
                in_flight.append(b)
                yield (b.text, b.columns, b.delimiter, b.locator, b.first_line, b.unit, source, token)

        with _pool(self.matcher, self.jobs, self.after_fork) as pool:
            for rows in ordered_map(pool, _worker_block, tasks(), 2 * self.jobs):
                yield in_flight.popleft(), [make(row) for row in rows]

    # ---------------------------------------------------------------- line files in ranges
    def line_file(
        self, path: Path, name: str, limits: ReadLimits, source: str, token: str | None
    ) -> LineFileScan | None:
        """A scan of ``path`` in ranges, or None when the reader must read it (see :func:`plan_lines`).

        The scan :meth:`prefetch` started for the same arguments is taken over (its rows then carry
        ``token``); one started for other arguments is discarded.
        """
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            if ahead.ahead_of == (path, name, limits, source):
                ahead.token = token
                return ahead
            ahead.discard()
        plan = plan_lines(path, name, limits)
        if plan is None:
            return None
        scan = LineFileScan(path, plan, token)
        scan.steps = self._line_rows(scan, limits, source)
        scan.rows = scan._rows()
        return scan

    def prefetch(self, path: Path, name: str, limits: ReadLimits, source: str) -> bool:
        """Start matching a big line file now: the workers are forked and the first ranges sent, so
        what the caller still has to do before reading (imports, the sink, the output) runs beside
        them; :meth:`line_file` with the same arguments takes the scan over. With one job, or a
        file the reader must read, nothing starts (False).

        ``scan --jobs N`` calls it right after the matcher is built: start-up before the workers
        start is serial, and everything after it is shared with them.
        """
        if self.jobs <= 1:
            return False
        self.close()
        scan = self.line_file(path, name, limits, source, None)
        if scan is None:
            return False
        scan.start()
        scan.ahead_of = (path, name, limits, source)
        self._ahead = scan
        return True

    def close(self) -> None:
        """Discard a scan :meth:`prefetch` started that was not taken over."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.discard()

    def _line_rows(
        self, scan: LineFileScan, limits: ReadLimits, source: str
    ) -> Generator[tuple[list[HitRow], int] | None, None, None]:
        deadline = time.monotonic() + limits.max_seconds
        sent = scan.token  # the token the workers' rows carry (a scan started ahead: replaced when taken over)
        stopped: list[bool] = []

        sql: list[SqlState] = [SqlState()]  # a SQL dump's reader state after the ranges taken so far
        # what the next ranges sent assume: sql[0], or the state after the first range as soon as the
        # first range is matched (the workers need not wait for the parent to take it)
        hint: list[SqlState] = [sql[0]]
        offsets: dict[str, int] = {}  # table -> its rows in those ranges
        ranges = block_ranges(scan.path, self.range_bytes, workers=self.jobs)
        counted = _Counter(scan, ranges)

        def tasks() -> Iterator[RangeTask]:
            for (start, end), line in zip(ranges, counted.first_lines(), strict=True):
                if not stopped and time.monotonic() > deadline:
                    stopped.append(True)
                if stopped:
                    break
                assumed = hint[0] if scan.plan.fmt == "sql" else None  # exact unless ranges are in flight
                yield RangeTask(str(scan.path), scan.plan, start, end, line, source, sent, assumed)

        new = tuple.__new__
        replaced = False

        def redo(task: RangeTask, done: RangeDone) -> RangeTask | None:
            """The range again from the true state, when it was read from another one."""
            if scan.plan.fmt != "sql" or sql[0].holds(done.state):
                return None
            return replace(task, sql=sql[0])

        def first(done: RangeDone) -> None:  # a SQL dump's first range, matched from the file's start
            hint[0] = SqlState().after(done.state)

        try:
            for done in self._ranges(tasks(), redo, first):
                if done is None:  # the workers have their first ranges
                    yield None
                    continue
                if scan.plan.fmt == "sql":
                    _renumber(done, scan.plan.locator, offsets)
                    sql[0] = hint[0] = sql[0].after(done.state)
                replaced = replaced or done.state.replaced
                scan.findings.extend(done.state.findings)
                scan.blocks += done.state.blocks
                # tuple.__new__: one tuple a row (HitRow._make is a Python call; the rows are the workers')
                if scan.token == sent:
                    yield [new(HitRow, row) for row in done.rows], done.nbytes
                else:
                    token = scan.token
                    yield [new(HitRow, (*row[:_FILE], token, *row[_FILE + 1 :])) for row in done.rows], done.nbytes
        except _Discarded:
            counted.stop()
            raise
        counted.join()
        if stopped:
            reason = f"reading took longer than max_seconds={limits.max_seconds:g}; stopped"
            scan.findings.append(Finding(scan.plan.locator, "cap_time", reason))
        if replaced:
            encoding = scan.plan.encoding.replace("utf-8-sig", "utf-8")
            scan.findings.append(
                Finding(
                    scan.plan.locator,
                    "decode_fallback",
                    f"bytes invalid in {encoding} were replaced by U+FFFD; values next to them may be missed",
                )
            )

    def _ranges(
        self, tasks: Iterator[RangeTask], redo: _Redo, first: Callable[[RangeDone], None]
    ) -> Iterator[RangeDone | None]:
        """None once the first ranges are sent, then each range's result in order; a range whose last
        CSV row runs on is read again with the next, one read from the wrong SQL state again from the
        right one (``redo``). A SQL dump's first range is matched alone: ``first`` gets its result as
        soon as a worker returns it, and the ranges after it are sent then."""
        if self.jobs <= 1:
            feed = _Feed(tasks, lambda task, _: _Now(_range_rows(self.matcher, task)), live=False)
            yield from self._joined(feed, redo, first)
            return
        with _pool(self.matcher, self.jobs, self.after_fork) as pool:
            feed = _Feed(
                tasks,
                lambda task, done: pool.apply_async(_worker_range, (task,), callback=done, error_callback=done),
            )
            try:
                yield from self._joined(feed, redo, first)
            finally:
                feed.close()

    def _joined(self, feed: _Feed, redo: _Redo, first_done: Callable[[RangeDone], None]) -> Iterator[RangeDone | None]:
        first = feed.peek()
        if first is None:
            yield None
            return
        # A SQL dump's first range alone: the ranges after it then start from the tables it defines.
        if first.sql is not None:
            feed.open(1, then=(2 * self.jobs, first_done))
        else:
            feed.open(2 * self.jobs)
        yield None  # the first window is in the workers' hands
        while (slot := feed.take()) is not None:
            task, done = slot.task, slot.get()
            while not done.state.clean_end and (following := feed.take()) is not None:
                task = replace(task, end=following.task.end)  # read again as part of this range
                done = feed.now(task)
            again = redo(task, done)
            if again is not None:
                done = feed.now(again)
            yield done
            feed.open(2 * self.jobs)


_Redo = Callable[[RangeTask, RangeDone], RangeTask | None]
#: Where a row holds its file's SHA-256 (or the token standing in for it).
_FILE = HitRow._fields.index("attachment_sha256")


def _renumber(done: RangeDone, locator: str, offsets: dict[str, int]) -> None:
    """SQL table rows numbered across the file: add each table's rows in earlier ranges."""
    at = HitRow._fields.index("locator")
    for index, table, number in done.marks:
        row = done.rows[index]
        where = redact_locator(f"{locator}#{table}:row {number + offsets.get(table, 0)}")[:2048]
        done.rows[index] = (*row[:at], where, *row[at + 1 :])
    for table, count in done.state.sql_rows.items():
        offsets[table] = offsets.get(table, 0) + count


class _Counter:
    """Reads the file once in a thread, ahead of the ranges: its SHA-256 (set on ``scan`` as soon
    as the last byte is hashed, long before the workers are done) and each range's first line.

    ``hashlib`` and file reads release the GIL; counting line ends is the only Python-side work.
    """

    def __init__(self, scan: LineFileScan, ranges: list[tuple[int, int]]) -> None:
        self._scan = scan
        self._ranges = ranges
        self._lines: queue.SimpleQueue[int | BaseException] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="leakmon-sha256", daemon=True)

    def _run(self) -> None:
        scan = self._scan
        try:
            digest = hashlib.sha256()
            line, size = 1, 0
            with scan.path.open("rb") as handle:
                for start, end in self._ranges:
                    if self._stopped:
                        return
                    data = handle.read(end - start)
                    digest.update(data)
                    size += len(data)
                    self._lines.put(line)
                    line += data.count(b"\n")
                    if b"\r" in data:  # a lone CR ends a line too (crawlers.files.lines)
                        line += data.count(b"\r") - data.count(b"\r\n")
            scan.size = size
            scan.sha256 = digest.hexdigest()
        except BaseException as error:
            self._error = error
            self._lines.put(error)

    def first_lines(self) -> Iterator[int]:
        """Each range's first line number, in order (raises what reading the file raised).

        The thread starts here, once the workers are forked (never fork with a thread running).
        """
        self._thread.start()
        for _ in self._ranges:
            line = self._lines.get()
            if isinstance(line, BaseException):
                raise line
            yield line

    def stop(self) -> None:
        """Stop reading (the scan was discarded) and wait for the thread, if it ever started."""
        self._stopped = True
        if self._thread.ident is not None:
            self._thread.join()

    def join(self) -> None:
        """Wait for the hash (the ranges may have stopped early: the whole file is hashed)."""
        if not self._thread.is_alive() and self._thread.ident is None:
            self._thread.start()  # a file without ranges
        self._thread.join()
        if self._error is not None:
            raise self._error


#: Finished ranges held for a busy consumer (the parent importing, or writing output) at most:
#: the workers go on with later ranges until this much waits to be taken.
AHEAD_BYTES = 64 << 20
AHEAD_ROWS = 50_000


class _Slot:
    """A range handed to a worker (or matched in this process), in file order."""

    __slots__ = ("finished", "first", "held", "result", "taken", "task")

    def __init__(self, task: RangeTask) -> None:
        self.task = task
        self.result: Any = None
        self.finished = False
        self.first = False
        self.taken = False
        self.held = (0, 0)  # (bytes, rows) counted against AHEAD_BYTES / AHEAD_ROWS

    def get(self) -> RangeDone:
        done: RangeDone = self.result.get()
        return done


class _Feed:
    """Ranges sent ahead of the consumer: ``window`` of them in the workers' hands, refilled as each
    finishes (from the pool's result thread), not only when the consumer takes one. The parent's
    main thread is busy now and then (the imports after :meth:`ParallelScanner.prefetch`, writing a
    batch's output): the workers go on meanwhile, until :data:`AHEAD_BYTES` or :data:`AHEAD_ROWS`
    of finished ranges wait to be taken. ``live`` False: ``submit`` matches in this process, and
    ``window`` ranges are matched ahead of the one taken (one job).
    """

    def __init__(self, tasks: Iterator[RangeTask], submit: Callable[..., Any], *, live: bool = True) -> None:
        self._tasks = tasks
        self._submit = submit
        self._live = live
        self._lock = threading.Lock()
        self._pending: deque[_Slot] = deque()
        self._window = 0
        self._in_flight = 0
        self._held = [0, 0]
        self._first: RangeTask | None = None
        self._ended = False
        self._closed = False
        self._error: BaseException | None = None
        self._then: tuple[int, Callable[[RangeDone], None]] | None = None
        self._sent = 0

    def peek(self) -> RangeTask | None:
        """The first range (taken from the tasks, sent by :meth:`open`)."""
        self._first = next(self._tasks, None)
        if self._first is None:
            self._ended = True
        return self._first

    def open(self, window: int, then: tuple[int, Callable[[RangeDone], None]] | None = None) -> None:
        """Keep ``window`` ranges in the workers' hands from now on; ``then`` = (window, callback): once
        the first range is matched, call back with its result and open to that window (live only)."""
        with self._lock:
            self._window = window
            self._then = then if self._live else None
            self._fill()

    def take(self) -> _Slot | None:
        """The next range in file order (not waited for), or None after the last."""
        with self._lock:
            self._fill()
            if not self._pending:
                if self._error is not None:
                    raise self._error
                return None
            slot = self._pending.popleft()
            slot.taken = True
            self._release(slot)
            return slot

    def now(self, task: RangeTask) -> RangeDone:
        """``task`` matched out of turn, waited for (a range read again)."""
        done: RangeDone = self._submit(task, None).get()
        return done

    def close(self) -> None:
        """Send nothing more (the pool is closing)."""
        with self._lock:
            self._closed = True

    def _fill(self) -> None:  # under the lock
        while not self._closed and not self._ended and self._error is None:
            if self._live:
                bytes_held, rows_held = self._held
                if self._in_flight >= self._window or bytes_held >= AHEAD_BYTES or rows_held >= AHEAD_ROWS:
                    return
            elif len(self._pending) >= self._window:
                return
            task, self._first = self._first, None
            try:
                task = task if task is not None else next(self._tasks, None)
            except BaseException as error:  # raised to the consumer once it reaches it
                self._error = error
                return
            if task is None:
                self._ended = True
                return
            slot = _Slot(task)
            slot.first = self._sent == 0
            self._sent += 1
            self._pending.append(slot)
            self._in_flight += 1
            slot.result = self._submit(task, lambda value, slot=slot: self._finished(slot, value))

    def _finished(self, slot: _Slot, value: object) -> None:
        """A worker's result arrived (the pool's result thread): count it, send the next ranges."""
        with self._lock:
            slot.finished = True
            self._in_flight -= 1
            if not slot.taken and isinstance(value, RangeDone):
                slot.held = (value.nbytes, len(value.rows))
                self._held[0] += value.nbytes
                self._held[1] += len(value.rows)
            try:
                if slot.first and self._then is not None and isinstance(value, RangeDone):
                    self._window, then = self._then
                    self._then = None
                    then(value)
                self._fill()
            except BaseException as error:  # never into the pool's result thread: it would hang the pool
                self._error = self._error or error

    def _release(self, slot: _Slot) -> None:  # under the lock
        self._held[0] -= slot.held[0]
        self._held[1] -= slot.held[1]
        slot.held = (0, 0)


class _Now:
    """An already computed result with the ``get()`` of a pool's async result."""

    def __init__(self, value: RangeDone) -> None:
        self.value = value

    def get(self) -> RangeDone:
        return self.value
