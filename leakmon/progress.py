"""Progress display for long interactive commands; silent when stderr is not a terminal (cron, CI)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, TypeVar

from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

from leakmon.output import err_console

T = TypeVar("T")


class ByteProgress:
    def __init__(self, progress: Progress | None, task: int | None, position: IO[bytes] | None) -> None:
        self._progress = progress
        self._task = task
        self._position = position

    def wrap(self, items: Iterable[T]) -> Iterator[T]:
        for item in items:
            if self._progress is not None and self._task is not None and self._position is not None:
                with contextlib.suppress(OSError, ValueError):
                    self._progress.update(self._task, completed=self._position.tell())  # type: ignore[arg-type]
            yield item


@contextmanager
def byte_progress(total: int, position: IO[bytes] | None, label: str) -> Iterator[ByteProgress]:
    if not err_console.is_terminal or position is None:
        yield ByteProgress(None, None, None)
        return
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield ByteProgress(progress, task, position)
