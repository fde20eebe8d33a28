"""Progress of long commands: a rich bar when stderr is a terminal, periodic JSON lines with
``--log-format json``, nothing otherwise (cron, CI, pipes)."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Self, TypeVar

from leakmon.output import err_console

if TYPE_CHECKING:
    from rich.progress import Progress

    from crawlers.model import Finding, TextBlock

T = TypeVar("T")


#: Seconds between two JSON progress lines.
JSON_EVERY = 10.0


class Ticker:
    """Progress of one long command: a rich bar on a terminal, JSON lines with ``--log-format json``,
    nothing otherwise (cron, CI, pipes). ``advance`` and ``set_total`` are cheap when silent."""

    def __init__(self, label: str, total: float | None, unit: str, *, log_json: bool) -> None:
        self.label = label
        self.unit = unit
        self.total = total
        self.done = 0.0
        self._json = log_json
        self._progress: Progress | None = None
        self._task: Any = None
        self._started = time.monotonic()
        self._last_line = self._started

    def __enter__(self) -> Self:
        if not self._json and err_console.is_terminal:
            # rich.progress loads only for a bar on a terminal (cron, CI and pipes never draw one)
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                MofNCompleteColumn,
                Progress,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            columns: list[Any] = ["[progress.description]{task.description}", BarColumn()]
            columns += [DownloadColumn(), TransferSpeedColumn()] if self.unit == "bytes" else [MofNCompleteColumn()]
            columns.append(TimeRemainingColumn())
            self._progress = Progress(*columns, console=err_console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
        elif self._json:
            self._line(final=True)

    def counting(self, items: Iterable[T]) -> Iterator[T]:
        """``items`` unchanged, each one counted."""
        for item in items:
            yield item
            self.advance(1)

    def advance(self, amount: float) -> None:
        self.update(self.done + amount)

    def set_total(self, total: float | None) -> None:
        """The amount of work, once it is known (or when it grows)."""
        if total != self.total:
            self.total = total
            if self._progress is not None:
                self._progress.update(self._task, total=total)

    def describe(self, text: str) -> None:
        """What the bar says it is doing (the JSON lines keep the task's label)."""
        if self._progress is not None:
            self._progress.update(self._task, description=text)

    def update(self, done: float) -> None:
        self.done = done
        if self._progress is not None:
            self._progress.update(self._task, completed=done)
        elif self._json and time.monotonic() - self._last_line >= JSON_EVERY:
            self._line()

    def _line(self, *, final: bool = False) -> None:
        now = time.monotonic()
        self._last_line = now
        elapsed = now - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        line: dict[str, object] = {"event": "progress", "task": self.label, "unit": self.unit, "done": int(self.done)}
        if self.total:
            line["total"] = int(self.total)
            if rate > 0 and not final:
                line["eta_seconds"] = round((self.total - self.done) / rate, 1)
        line.update(rate_per_second=round(rate, 1), elapsed_seconds=round(elapsed, 1), final=final)
        sys.stderr.write(json.dumps(line) + "\n")
        sys.stderr.flush()


class ScanProgress(Ticker):
    """Bytes of the files scanned: a finished file counts whole, a file being read by its blocks.

    It also remembers how far each file's blocks got (``reached``), for :meth:`cut_short`.
    """

    def __init__(self, sizes: dict[Path, int], *, log_json: bool) -> None:
        super().__init__("scan", float(sum(sizes.values())) or None, "bytes", log_json=log_json)
        self._sizes = sizes
        self._finished = 0.0
        self._current: Path | None = None
        self.reached: dict[Path, float] = {}

    def file(self, path: Path) -> None:
        if self._current is not None:
            self._finished += self._sizes.get(self._current, 0)
        self._current = path
        self.reached[path] = 0.0
        self.update(self._finished)

    def block(self, block: TextBlock) -> None:
        cap = self._finished + self._sizes.get(self._current, 0) if self._current is not None else self.done
        self.update(min(self.done + len(block.text) + 1, cap))
        if self._current is not None:
            self.reached[self._current] = self.done - self._finished

    def cut_short(self, findings: Sequence[tuple[str, Finding]]) -> list[str]:
        """One unmistakable warning per file a cap stopped before its end (``FATAL_CAPS``: time, bytes,
        members; what they leave unread is lost to the scan, so ``scan`` also exits 1).

        ``findings`` are ``scan``'s (shown path, finding) pairs. Each warning names the file, the
        cap, about how far reading got, and how to rerun; with ``--log-format json`` each is also a
        ``{"event": "cut_short", ...}`` line on stderr.
        """
        from crawlers.files.budget import FATAL_CAPS
        from crawlers.redact import redact

        paths = {redact(str(path)): path for path in self.reached}
        warnings: list[str] = []
        seen: set[str] = set()
        for shown, finding in findings:
            if finding.kind not in FATAL_CAPS or shown in seen:
                continue
            seen.add(shown)
            path = paths.get(shown)
            size = self._sizes.get(path, 0) if path is not None else 0
            reached = int(self.reached.get(path, 0)) if path is not None else 0
            how_far = f"about {_mb(reached)} of {_mb(size)} ({100 * reached / size:.0f} %)" if size else "part of it"
            warnings.append(
                f"WARNING: {shown} was NOT read to the end: {finding.kind} at {finding.locator}: {finding.reason}. "
                f"Only {how_far} was scanned; hits in the rest of the file are missing. {_RERUN[finding.kind]}"
            )
            if self._json:
                line: dict[str, object] = {"event": "cut_short", "file": shown, "kind": finding.kind}
                line.update(locator=finding.locator, read_bytes=reached, size_bytes=size, reason=finding.reason)
                sys.stderr.write(json.dumps(line, ensure_ascii=False) + "\n")
        if self._json:
            sys.stderr.flush()
        return warnings


#: How to read the rest, per cap that stops reading a top-level file (``crawlers.files.budget.FATAL_CAPS``).
_RERUN = {
    "cap_time": "Rerun without --max-seconds (no time cap) or with a larger --max-seconds.",
    "cap_bytes": "Rerun with larger [files] max_file_bytes / max_total_bytes (leakmon.toml) if the file is genuine.",
    "cap_members": "Rerun with a larger [files] max_members (leakmon.toml) if the archive is genuine.",
}


def _mb(nbytes: float) -> str:
    return f"{nbytes / 1e6:,.1f} MB"


def scan_progress(paths: Sequence[Path], *, log_json: bool) -> ScanProgress:
    """The progress of scanning ``paths`` (sizes taken up front)."""
    from leakmon.scan import iter_files

    sizes: dict[Path, int] = {}
    with contextlib.suppress(Exception):
        for path in iter_files(paths):
            with contextlib.suppress(OSError):
                sizes[path] = path.stat().st_size
    return ScanProgress(sizes, log_json=log_json)


class ByteProgress:
    """Reports how far a reader is in its file (``position.tell()``) while items pass through."""

    def __init__(self, ticker: Ticker, position: IO[bytes] | None) -> None:
        self._ticker = ticker
        self._position = position

    def wrap(self, items: Iterable[T]) -> Iterator[T]:
        for item in items:
            if self._position is not None:
                with contextlib.suppress(OSError, ValueError):
                    self._ticker.update(self._position.tell())
            yield item


@contextmanager
def byte_progress(
    total: int, position: IO[bytes] | None, label: str, *, log_json: bool = False
) -> Iterator[ByteProgress]:
    """Progress through a file of ``total`` bytes read from ``position`` (``protect import``)."""
    with Ticker(label, float(total) or None, "bytes", log_json=log_json) as ticker:
        yield ByteProgress(ticker, position)
