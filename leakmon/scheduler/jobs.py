"""The job functions APScheduler stores (``leakmon.scheduler.jobs:crawl_web_source`` etc.).

Module-level coroutines taking only the source name, so the job store can pickle a reference to
them. Each run: skip while the source is deferred ("retry after"), record a ``runs`` row, do the
work (a crawl child, or the Telegram reader on this loop), record the outcome, logs and metrics,
then deliver the alerts the run queued (when ``[alerts]`` names a channel).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import structlog

from crawlers.redact import error_reason
from leakmon import metrics
from leakmon.errors import ConfigError
from leakmon.logs import get_logger
from leakmon.scheduler.context import JobContext, current
from leakmon.scheduler.deferral import deferred_until
from leakmon.scheduler.specs import JobSpec
from leakmon.scheduler.telegram import ChatOutcome, read_chat
from leakmon.scheduler.web import CrawlOutcome, crawl_in_child, retry_after_from_findings
from leakmon.workflows.alerts import alert_settings, deliver_pending
from storage.db import transaction
from storage.failures import storage_failure
from storage.repositories.runs import finish_run, mark_interrupted, start_run

log = get_logger(__name__)

Outcome = CrawlOutcome | ChatOutcome
Body = Callable[[JobContext, JobSpec, int], Awaitable[Outcome]]


async def crawl_web_source(name: str) -> dict[str, Any]:
    """Job: crawl web source ``name`` once in a child process."""
    return await _run_job(JobSpec("web", name, ""), _web)


async def read_telegram_chat(name: str) -> dict[str, Any]:
    """Job: read Telegram chat ``name`` once with the scheduler's client."""
    return await _run_job(JobSpec("telegram", name, ""), _telegram)


async def _web(context: JobContext, spec: JobSpec, run_id: int) -> Outcome:
    async with context.slots():
        outcome = await crawl_in_child(context, spec.name, run_id)
    outcome.retry_after = await asyncio.to_thread(_rate_limited_until, context, run_id)
    return outcome


async def _telegram(context: JobContext, spec: JobSpec, run_id: int) -> Outcome:
    return await read_chat(context, spec.name, run_id)


async def _run_job(spec: JobSpec, body: Body) -> dict[str, Any]:
    context = current()
    task = asyncio.current_task()
    if task is not None:
        context.tasks[spec.id] = task  # so the service can cancel it at shutdown
    with _finally_pop(context.tasks, spec.id):
        return await _run_job_in(context, spec, body)


async def _run_job_in(context: JobContext, spec: JobSpec, body: Body) -> dict[str, Any]:
    source = spec.run_source
    with structlog.contextvars.bound_contextvars(job=spec.id):
        until = await asyncio.to_thread(_deferred, context, spec)
        if until is not None:
            log.info("source deferred: it asked to retry later", source=source, until=until.isoformat())
            metrics.record_deferred(source)
            context.defer(spec.id, until)
            return {"job": spec.id, "status": "deferred", "retry_after": until.isoformat()}
        run_id = await asyncio.to_thread(_start, context, spec)
        started = time.monotonic()
        context.running[spec.id] = started
        with (
            structlog.contextvars.bound_contextvars(run_id=run_id),
            _finally_pop(context.running, spec.id),
            _finally_discard(context.run_ids, run_id),
        ):
            log.info("run started", source=source)
            try:
                outcome = await body(context, spec, run_id)
            except asyncio.CancelledError:
                _finish_recorded(context, run_id, "failed", {}, "cancelled: the scheduler stopped", None)
                metrics.record_run(source, spec.kind, "cancelled", seconds=time.monotonic() - started)
                raise
            except Exception as exc:
                _finish_recorded(context, run_id, "failed", {}, error_reason(exc), None)
                metrics.record_run(source, spec.kind, "failed", seconds=time.monotonic() - started, errors=1)
                raise
            stats = outcome.stats or {}
            unrecorded = await asyncio.to_thread(
                _finish_recorded, context, run_id, outcome.status, stats, outcome.error, outcome.retry_after
            )
            seconds = time.monotonic() - started
            if unrecorded is not None:
                metrics.record_run(source, spec.kind, "failed", seconds=seconds, errors=outcome.errors + 1)
                return {
                    "job": spec.id,
                    "run_id": run_id,
                    "status": "failed",
                    "posts": outcome.posts,
                    "hits": outcome.hits,
                    "errors": outcome.errors + 1,
                    "error": unrecorded,
                }
            metrics.record_run(
                source,
                spec.kind,
                outcome.status,
                seconds=seconds,
                posts=outcome.posts,
                hits=outcome.hits,
                errors=outcome.errors,
            )
            if outcome.retry_after is not None:
                context.defer(spec.id, outcome.retry_after)
            await deliver_alerts(context)
            log.info(
                "run finished",
                source=source,
                status=outcome.status,
                posts=outcome.posts,
                new_hits=outcome.hits,
                errors=outcome.errors,
                error=outcome.error,
                retry_after=outcome.retry_after.isoformat() if outcome.retry_after else None,
                seconds=round(seconds, 2),
            )
            return {
                "job": spec.id,
                "run_id": run_id,
                "status": outcome.status,
                "posts": outcome.posts,
                "hits": outcome.hits,
                "errors": outcome.errors,
                "error": outcome.error,
            }


async def deliver_alerts(context: JobContext) -> None:
    """Send due alerts (pending, or failed and past their backoff) now, one delivery at a time.

    Called after every run, at every `leakmon run --once` and every ``alert_seconds`` of a running
    `leakmon schedule`, so a failed alert is retried even when no source is due. A failing receiver
    never fails the run.
    """
    try:
        settings = alert_settings(context.app.settings)
    except ConfigError as exc:
        log.warning("alerts not delivered: invalid [alerts] settings", error=str(exc))
        return
    if not settings.enabled or not settings.has_channel:
        return  # nothing to send to: alerts stay queued for `leakmon incidents alert`
    async with context.alert_lock:
        deliveries = await asyncio.to_thread(deliver_pending, context.app.sessions, settings)
    for delivery in deliveries:
        fields = {"alert_id": delivery.alert_id, "attempts": delivery.attempts, "channels": delivery.results}
        if delivery.status == "sent":
            log.info("alert sent", **fields)
        elif delivery.retry_at is not None:
            log.warning("alert delivery failed; it is retried later", retry_at=delivery.retry_at.isoformat(), **fields)
        else:
            log.error("alert delivery failed; giving up (see `leakmon status`)", **fields)


@contextlib.contextmanager
def _finally_pop(mapping: dict[str, Any], key: str) -> Iterator[None]:
    try:
        yield
    finally:
        mapping.pop(key, None)


@contextlib.contextmanager
def _finally_discard(items: set[int], item: int) -> Iterator[None]:
    try:
        yield
    finally:
        items.discard(item)


def _deferred(context: JobContext, spec: JobSpec) -> datetime | None:
    with context.app.sessions() as session:
        return deferred_until(session, spec)


def _start(context: JobContext, spec: JobSpec) -> int:
    """Record the run (first marking interrupted the rows whose end was never recorded: a run of this
    process whose end the full disk refused, or of a process that is gone)."""
    with transaction(context.app.sessions) as session:
        for run in mark_interrupted(session, active=context.run_ids):
            log.warning("a run never recorded its end; marked interrupted", source=run.source, stale_run=run.id)
        run_id = start_run(session, spec.run_source, spec.run_kind).id
        context.run_ids.add(run_id)  # before the commit: another job's sweep must not take it
        return run_id


def _finish(
    context: JobContext,
    run_id: int,
    status: str,
    stats: dict[str, Any],
    error: str | None,
    retry_after: datetime | None,
) -> None:
    with transaction(context.app.sessions) as session:
        finish_run(session, run_id, status=status, stats=stats, error=error, retry_after=retry_after)


def _finish_recorded(
    context: JobContext,
    run_id: int,
    status: str,
    stats: dict[str, Any],
    error: str | None,
    retry_after: datetime | None,
) -> str | None:
    """Record the run's end; when the storage refuses the write, say so in one line and return why.

    A full disk or a read-only workspace is the operator's to fix, not a bug: it is reported as the
    run's failure in one sentence instead of a traceback. Any other error still propagates.
    """
    try:
        _finish(context, run_id, status, stats, error, retry_after)
    except Exception as exc:
        reason = storage_failure(exc)
        if reason is None:
            raise
        log.error("the run's end could not be recorded", run_status=status, error=reason)
        return reason
    return None


def _rate_limited_until(context: JobContext, run_id: int) -> datetime | None:
    with context.app.sessions() as session:
        return retry_after_from_findings(session, run_id, datetime.now(UTC))
