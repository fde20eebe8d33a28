"""What module-level job functions run against: the scheduler process's options and live state.

APScheduler pickles a job as ``module:function`` plus its arguments (the source name), never
objects. :class:`JobOptions` is what the operator chose (frozen); :class:`JobContext` is the live
state of one scheduler process (the App, the Telegram client, locks, running crawl children). The
service makes the context :func:`current` for the asyncio context it runs in (a ``ContextVar``:
the job tasks APScheduler creates from there inherit it), and gives it the callback that defers
a job, so nothing is patched onto the object afterwards.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leakmon.app import App
from leakmon.logs import LogFormat

#: Seconds a crawl child may run before it is stopped (SIGINT, then SIGKILL).
DEFAULT_CRAWL_TIMEOUT = 3600.0
#: Seconds a child gets to stop after SIGINT before SIGKILL.
DEFAULT_STOP_GRACE = 10.0
#: Seconds between two deliveries of due alerts by a running `leakmon schedule` (retries of failed
#: ones included), whether or not a run finished in between.
DEFAULT_ALERT_SECONDS = 60.0

Defer = Callable[[str, datetime], None]


def _no_defer(job_id: str, until: datetime) -> None:
    """Outside a scheduler (a job called directly) there is no next run to push."""


@dataclass(frozen=True)
class JobOptions:
    """How the scheduler runs jobs (set once, from the command line or a test)."""

    log_format: LogFormat = "text"
    crawl_timeout: float = DEFAULT_CRAWL_TIMEOUT
    stop_grace: float = DEFAULT_STOP_GRACE
    parallel_crawls: int = 2
    alert_seconds: float = DEFAULT_ALERT_SECONDS
    #: The crawl child's command line (tests swap in stubs to exercise timeouts and cancellation).
    child_command: tuple[str, ...] = (sys.executable, "-m", "leakmon.scheduler.crawl_child")
    #: Extra Scrapy settings for every crawl (tests: fast timeouts).
    scrapy_settings: dict[str, Any] = field(default_factory=dict)
    #: Builds the Telegram port on the scheduler's loop; default: one Telethon client (see telegram.py).
    telegram_factory: Callable[[JobContext], Any] | None = None


@dataclass
class JobContext:
    """The live state every job of one scheduler process shares."""

    app: App
    options: JobOptions = field(default_factory=JobOptions)
    #: Called with (job id, time) when a job must not run before that time.
    defer: Defer = _no_defer
    telegram: Any = None  # the connected port, created on first use and kept
    telegram_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    alert_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one alert delivery at a time
    children: set[Any] = field(default_factory=set)  # running crawl children (leakmon.scheduler.web.CrawlChild)
    running: dict[str, float] = field(default_factory=dict)  # job id -> monotonic start (progress display)
    tasks: dict[str, asyncio.Task[Any]] = field(default_factory=dict)  # job id -> its running task
    #: The ``runs`` rows this process is running (a row of ours not in here never recorded its end).
    run_ids: set[int] = field(default_factory=set)
    _slots: asyncio.Semaphore | None = None

    def slots(self) -> asyncio.Semaphore:
        """At most ``parallel_crawls`` crawl children at once."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.options.parallel_crawls)
        return self._slots


CURRENT_CONTEXT: ContextVar[JobContext | None] = ContextVar("leakmon_job_context", default=None)


def use(context: JobContext | None) -> None:
    """Make ``context`` the one job functions see from this asyncio context on."""
    CURRENT_CONTEXT.set(context)


def current() -> JobContext:
    context = CURRENT_CONTEXT.get()
    if context is None:
        raise RuntimeError("no scheduler is running in this context (job functions need its JobContext)")
    return context
