"""Run the scheduler: once (every due job, then exit) or until SIGINT/SIGTERM.

Both modes hold the job store's scheduler lock, rebuild the jobs from configuration, and run the
jobs through APScheduler's own executor on this event loop. Stopping: the scheduler pauses, crawl
children get SIGINT (each finishes the post in flight: a post and its hits are one transaction),
running jobs get ``stop_grace`` seconds, then whatever is left is cancelled (children SIGKILLed).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from leakmon.logs import get_logger
from leakmon.scheduler import context as job_context
from leakmon.scheduler.context import JobContext
from leakmon.scheduler.lock import SchedulerLock
from leakmon.scheduler.specs import job_specs
from leakmon.scheduler.store import SyncReport, build_scheduler, stored_jobs, sync_jobs
from leakmon.scheduler.telegram import close_port
from storage.db import transaction
from storage.repositories.runs import last_runs

log = get_logger(__name__)

_DONE_EVENTS = EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES


@dataclass
class JobResult:
    job: str
    outcome: str  # executed | error | missed | skipped (max instances)
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class CycleReport:
    sync: SyncReport
    results: list[JobResult] = field(default_factory=list)


def _event_result(event: JobEvent) -> JobResult:
    if event.code == EVENT_JOB_EXECUTED:
        retval = getattr(event, "retval", None)
        return JobResult(event.job_id, "executed", dict(retval) if isinstance(retval, dict) else {})
    if event.code == EVENT_JOB_ERROR:
        exc = getattr(event, "exception", None)
        return JobResult(event.job_id, "error", {"error": type(exc).__name__ if exc else "error"})
    if event.code == EVENT_JOB_MISSED:
        return JobResult(event.job_id, "missed")
    return JobResult(event.job_id, "skipped", {"reason": "previous run still going (max_instances=1)"})


def _run_source(job_id: str) -> str:
    kind, _, name = job_id.partition(":")
    return name if kind == "web" else f"telegram:{name}"


class SchedulerService:
    """One scheduler process: lock, job store, sync, run."""

    def __init__(self, context: JobContext) -> None:
        self.context = context
        self.engine = context.app.engine
        self.lock = SchedulerLock(self.engine)
        self.scheduler: AsyncIOScheduler | None = None
        self.results: list[JobResult] = []
        self._waiting: set[str] = set()
        self._all_done = asyncio.Event()

    async def open(self) -> SyncReport:
        """Lock the job store, start the scheduler paused and rebuild the jobs from config."""
        self.context.app.require_schema()
        specs = job_specs(self.context.app.settings)
        self.lock.acquire()
        try:
            stored = set(stored_jobs(self.engine))
            scheduler = build_scheduler(self.engine)
            scheduler.add_listener(self._on_event, _DONE_EVENTS)
            scheduler.start(paused=True)
            self.scheduler = scheduler
            self.context.defer = self._defer
            job_context.install(self.context)
            report = sync_jobs(scheduler, specs, stored)
            self._rerun_interrupted(datetime.now(UTC))
        except BaseException:
            await self.close()
            raise
        log.info(
            "scheduler ready",
            jobs=len(specs),
            added=len(report.added),
            updated=len(report.updated),
            removed=len(report.removed),
            unrestorable=len(report.unrestorable),
        )
        return report

    def _running(self) -> AsyncIOScheduler:
        if self.scheduler is None:
            raise RuntimeError("the scheduler is not open (call open() first)")
        return self.scheduler

    def due_jobs(self, now: datetime | None = None) -> list[str]:
        """Jobs whose next run time has come."""
        now = now or datetime.now(UTC)
        return [job.id for job in self._running().get_jobs() if job.next_run_time and job.next_run_time <= now]

    def _rerun_interrupted(self, now: datetime) -> list[str]:
        """Jobs whose last run never finished (the process was killed): mark that run failed, run again now.

        Safe because this process holds the scheduler lock: no other scheduler's run can be in flight.
        """
        scheduler = self._running()
        interrupted: list[str] = []
        jobs = scheduler.get_jobs()  # before the write transaction: on SQLite every job-store read takes the lock
        with transaction(self.context.app.sessions) as session:
            latest = last_runs(session)
            for job in jobs:
                run = latest.get(_run_source(job.id))
                if run is None or run.finished_at is not None:
                    continue
                run.status, run.finished_at = "failed", now
                run.error = "interrupted: the process ended before the run finished"
                interrupted.append(job.id)
        for job_id in interrupted:
            scheduler.modify_job(job_id, next_run_time=now)
            log.warning("last run never finished (process killed?); it runs again now", job=job_id)
        return interrupted

    async def run_once(self, *, every: bool = False) -> list[JobResult]:
        """Run every due job (``every``: every job) once through the scheduler, then return."""
        scheduler = self._running()
        now = datetime.now(UTC)
        wanted = [job.id for job in scheduler.get_jobs()] if every else self.due_jobs(now)
        for job_id in wanted:
            # Due now: a job late by more than its grace would otherwise count as missed.
            scheduler.modify_job(job_id, next_run_time=now)
        return await self.run_pending(wanted)

    async def run_pending(self, job_ids: list[str]) -> list[JobResult]:
        """Let the scheduler process due jobs until each of ``job_ids`` reported (ran, missed, skipped)."""
        scheduler = self._running()
        if not job_ids:
            return []
        self._waiting = set(job_ids)
        self._all_done.clear()
        scheduler.resume()
        await self._all_done.wait()
        scheduler.pause()
        return [r for r in self.results if r.job in job_ids]

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Run jobs as scheduled until ``stop`` is set, then stop gracefully."""
        scheduler = self._running()
        scheduler.resume()
        await stop.wait()
        log.info("stopping: no new runs; running crawls finish the post in flight")
        scheduler.pause()
        await self.drain(self.context.stop_grace)

    async def drain(self, grace: float) -> None:
        """Ask running crawls to stop (SIGINT), wait up to ``grace`` s for running jobs."""
        for child in list(self.context.children):
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGINT)
        running = self._running_tasks()
        if running:
            await asyncio.wait(running, timeout=grace + 1)

    async def close(self) -> None:
        """Shut the scheduler down (cancelling what still runs), close Telegram, release the lock."""
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None and scheduler.running:
            running = self._running_tasks(scheduler)
            scheduler.shutdown(wait=False)
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running, timeout=self.context.stop_grace + 5)
            await asyncio.sleep(0)
        job_context.install(None)
        await close_port(self.context)
        self.lock.release()

    # -- internals ----------------------------------------------------------------------------

    def _running_tasks(self, scheduler: AsyncIOScheduler | None = None) -> set[asyncio.Future[Any]]:
        scheduler = scheduler or self.scheduler
        if scheduler is None:
            return set()
        executor = scheduler._lookup_executor("default")  # AsyncIOExecutor keeps its futures here
        return {f for f in getattr(executor, "_pending_futures", set()) if not f.done()}

    def _on_event(self, event: JobEvent) -> None:
        result = _event_result(event)
        if result.outcome == "missed":
            log.warning("run missed: later than its misfire grace time", job=event.job_id)
        elif result.outcome == "skipped":
            log.warning("run skipped: the previous run of this job is still going", job=event.job_id)
        self.results.append(result)
        self._waiting.discard(event.job_id)
        if not self._waiting:
            self._all_done.set()

    def _defer(self, job_id: str, until: datetime) -> None:
        """Push ``job_id``'s next run to ``until`` when the source asked to retry later."""
        if self.scheduler is None:
            return
        job = self.scheduler.get_job(job_id)
        if job is None:
            return
        if job.next_run_time is None or job.next_run_time < until:
            self.scheduler.modify_job(job_id, next_run_time=until)
            log.info("next run deferred", job=job_id, until=until.isoformat())
