"""What module-level job functions run against: the App and options of the scheduler process.

APScheduler pickles a job as ``module:function`` plus its arguments (the source name), never
objects; the running scheduler installs one :class:`JobContext` and the job functions read it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from leakmon.app import App
from leakmon.logs import LogFormat

#: Seconds a crawl child may run before it is stopped (SIGINT, then SIGKILL).
DEFAULT_CRAWL_TIMEOUT = 3600.0
#: Seconds a child gets to stop after SIGINT before SIGKILL.
DEFAULT_STOP_GRACE = 10.0


@dataclass
class JobContext:
    """Shared by every job of one scheduler process."""

    app: App
    log_format: LogFormat = "text"
    crawl_timeout: float = DEFAULT_CRAWL_TIMEOUT
    stop_grace: float = DEFAULT_STOP_GRACE
    parallel_crawls: int = 2
    #: The crawl child's command line (tests swap in stubs to exercise timeouts and cancellation).
    child_command: list[str] = field(default_factory=lambda: [sys.executable, "-m", "leakmon.scheduler.crawl_child"])
    #: Extra Scrapy settings for every crawl (tests: fast timeouts).
    scrapy_settings: dict[str, Any] = field(default_factory=dict)
    #: Builds the Telegram port on the scheduler's loop; default: one Telethon client (see telegram.py).
    telegram_factory: Callable[[JobContext], Any] | None = None
    #: Called with (job id, datetime) when a job must not run before that time.
    defer: Callable[[str, Any], None] | None = None
    telegram: Any = None  # the connected port, created on first use and kept
    telegram_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    alert_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one alert delivery at a time
    crawl_slots: asyncio.Semaphore | None = None
    children: set[Any] = field(default_factory=set)  # running crawl processes
    running: dict[str, float] = field(default_factory=dict)  # job id -> monotonic start (progress display)

    def slots(self) -> asyncio.Semaphore:
        if self.crawl_slots is None:
            self.crawl_slots = asyncio.Semaphore(self.parallel_crawls)
        return self.crawl_slots


_current: JobContext | None = None


def install(context: JobContext | None) -> None:
    global _current
    _current = context


def current() -> JobContext:
    if _current is None:
        raise RuntimeError("no scheduler is running in this process (job functions need its JobContext)")
    return _current
