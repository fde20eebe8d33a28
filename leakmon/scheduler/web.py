"""Run one web source's crawl in a child process from the scheduler's event loop.

The job awaits an asyncio subprocess, so the loop (and the Telegram client on it) never blocks.
A crawl that outlives its timeout, or whose job is cancelled (scheduler shutdown), is stopped
with SIGINT (Scrapy finishes the item in flight), then SIGKILL after the grace period.

A child is sent SIGINT only once it said ``ready`` (its own handler is installed): a stop asked
for while it is still starting is held and delivered then, so a child interrupted during start-up
reports a clean ``stopped`` summary instead of dying on a KeyboardInterrupt traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from leakmon.logs import get_logger, redact_text
from leakmon.scheduler.context import JobContext
from storage.models.core import FindingRecord

log = get_logger(__name__)

#: How long a source that answered HTTP 429 without a usable Retry-After is left alone.
RATE_LIMIT_BACKOFF = timedelta(minutes=15)
_RETRY_SECONDS = re.compile(r"retry[ -_]?after\D{0,5}(\d+)", re.IGNORECASE)


@dataclass
class CrawlOutcome:
    """What the child reported (its last summary) and how it ended."""

    status: str = "failed"
    stats: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    retry_after: datetime | None = None

    @property
    def posts(self) -> int:
        return int(self.stats.get("new_posts", 0)) + int(self.stats.get("changed_posts", 0))

    @property
    def hits(self) -> int:
        return int(self.stats.get("new_hits", 0))

    @property
    def errors(self) -> int:
        return int(self.stats.get("errors", 0))


class CrawlChild:
    """One crawl child process and whether it can take SIGINT yet."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.ready = asyncio.Event()
        self.stop_requested = False
        self._interrupted = False  # SIGINT goes once: a second one makes Scrapy stop at once

    def request_stop(self) -> None:
        """SIGINT now if the child is ready, else as soon as it says so."""
        self.stop_requested = True
        if self.ready.is_set():
            self._interrupt()

    def mark_ready(self) -> None:
        self.ready.set()
        if self.stop_requested:
            self._interrupt()

    def _interrupt(self) -> None:
        if self.process.returncode is None and not self._interrupted:
            self._interrupted = True
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGINT)

    async def stop(self, grace: float) -> None:
        """SIGINT (once ready; Scrapy stops after the item in flight), ``grace`` seconds, then SIGKILL."""
        if self.process.returncode is not None:
            return
        self.request_stop()
        try:
            await asyncio.wait_for(asyncio.shield(self.process.wait()), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


async def crawl_in_child(context: JobContext, source: str, run_id: int) -> CrawlOutcome:
    """Crawl ``source`` in a fresh ``python -m leakmon.scheduler.crawl_child`` process."""
    options = context.options
    request = {
        "source": source,
        "run_id": run_id,
        "parent_pid": _pid(),
        "log_format": options.log_format,
        "settings": context.app.settings.model_dump(mode="json"),
        "scrapy_settings": options.scrapy_settings,
    }
    process = await asyncio.create_subprocess_exec(
        *options.child_command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,  # a Ctrl-C in the terminal reaches the scheduler, which decides
    )
    child = CrawlChild(process)
    context.children.add(child)
    outcome = CrawlOutcome()
    try:
        if process.stdin is None or process.stdout is None:
            raise RuntimeError("crawl child started without pipes")
        process.stdin.write(json.dumps(request).encode())
        await process.stdin.drain()
        process.stdin.close()
        try:
            async with asyncio.timeout(options.crawl_timeout):
                await _relay(child, outcome)
                await process.wait()
        except TimeoutError:
            outcome.status, outcome.error = "failed", f"timed out after {options.crawl_timeout:g} s"
            log.warning("crawl timed out; stopping it", source=source, run_id=run_id)
            await child.stop(options.stop_grace)
        if outcome.error is None and process.returncode not in (0, None) and outcome.status != "ok":
            outcome.error = _exit_reason(process.returncode, child.stop_requested)
    except asyncio.CancelledError:
        log.warning("crawl cancelled; stopping its process", source=source, run_id=run_id)
        await child.stop(options.stop_grace)
        raise
    finally:
        context.children.discard(child)
    if outcome.error:
        outcome.error = redact_text(outcome.error)
    return outcome


def _exit_reason(code: int, stopping: bool) -> str:
    if stopping and code in (-signal.SIGINT, -signal.SIGKILL):
        return "stopped: the scheduler is shutting down"
    return f"crawl process exited with code {code}"


async def _relay(child: CrawlChild, outcome: CrawlOutcome) -> None:
    stdout = child.process.stdout
    if stdout is None:
        return
    async for raw in stdout:
        try:
            message = json.loads(raw)
            kind, payload = message["event"], message["payload"]
        except (ValueError, KeyError, TypeError):
            continue  # a stray print in the child: not ours
        if kind == "ready":
            child.mark_ready()
        elif kind in ("progress", "done"):
            outcome.stats = dict(payload)
            outcome.status = str(payload.get("status", "failed")) if kind == "done" else "failed"
            outcome.error = payload.get("error") if kind == "done" else None
        elif kind == "error":
            outcome.status, outcome.error = "failed", str(payload)


def retry_after_from_findings(session: Any, run_id: int, now: datetime | None = None) -> datetime | None:
    """When a run's findings say the site rate-limited us (HTTP 429), the time to come back."""
    now = now or datetime.now(UTC)
    rows = session.scalars(select(FindingRecord).where(FindingRecord.run_id == run_id)).all()
    limited = [f for f in rows if f.kind in ("rate_limited", "http_429") or f.reason.startswith("HTTP 429")]
    if not limited:
        return None
    waits = [int(m.group(1)) for f in limited if (m := _RETRY_SECONDS.search(f.reason))]
    delay = timedelta(seconds=max(waits)) if waits else RATE_LIMIT_BACKOFF
    return now + delay


def _pid() -> int:
    import os

    return os.getpid()
