"""Run one web source's crawl in a child process from the scheduler's event loop.

The job awaits an asyncio subprocess, so the loop (and the Telegram client on it) never blocks.
A crawl that outlives its timeout, or whose job is cancelled (scheduler shutdown), is stopped
with SIGINT (Scrapy finishes the item in flight), then SIGKILL after the grace period.
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


async def crawl_in_child(context: JobContext, source: str, run_id: int) -> CrawlOutcome:
    """Crawl ``source`` in a fresh ``python -m leakmon.scheduler.crawl_child`` process."""
    settings = context.app.settings
    request = {
        "source": source,
        "run_id": run_id,
        "parent_pid": _pid(),
        "log_format": context.log_format,
        "settings": settings.model_dump(mode="json"),
        "scrapy_settings": context.scrapy_settings,
    }
    process = await asyncio.create_subprocess_exec(
        *context.child_command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,  # a Ctrl-C in the terminal reaches the scheduler, which decides
    )
    context.children.add(process)
    outcome = CrawlOutcome()
    try:
        if process.stdin is None or process.stdout is None:
            raise RuntimeError("crawl child started without pipes")
        process.stdin.write(json.dumps(request).encode())
        await process.stdin.drain()
        process.stdin.close()
        try:
            async with asyncio.timeout(context.crawl_timeout):
                await _relay(process, outcome)
                await process.wait()
        except TimeoutError:
            outcome.status, outcome.error = "failed", f"timed out after {context.crawl_timeout:g} s"
            log.warning("crawl timed out; stopping it", source=source, run_id=run_id)
            await stop_child(process, context.stop_grace)
        if outcome.error is None and process.returncode not in (0, None) and outcome.status != "ok":
            outcome.error = f"crawl process exited with code {process.returncode}"
    except asyncio.CancelledError:
        log.warning("crawl cancelled; stopping its process", source=source, run_id=run_id)
        await stop_child(process, context.stop_grace)
        raise
    finally:
        context.children.discard(process)
    if outcome.error:
        outcome.error = redact_text(outcome.error)
    return outcome


async def _relay(process: asyncio.subprocess.Process, outcome: CrawlOutcome) -> None:
    if process.stdout is None:
        return
    async for raw in process.stdout:
        try:
            message = json.loads(raw)
            kind, payload = message["event"], message["payload"]
        except (ValueError, KeyError, TypeError):
            continue  # a stray print in the child: not ours
        if kind in ("progress", "done"):
            outcome.stats = dict(payload)
            outcome.status = str(payload.get("status", "failed")) if kind == "done" else "failed"
            outcome.error = payload.get("error") if kind == "done" else None
        elif kind == "error":
            outcome.status, outcome.error = "failed", str(payload)


async def stop_child(process: asyncio.subprocess.Process, grace: float) -> None:
    """SIGINT (Scrapy stops after the item in flight), wait ``grace`` seconds, then SIGKILL."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(asyncio.shield(process.wait()), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


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
