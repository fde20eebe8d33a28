"""Run the scheduler: once (every due job, then exit) or until SIGINT/SIGTERM.

Both modes hold the job store's scheduler lock, rebuild the jobs from configuration, and run the
jobs through APScheduler's own executor on this event loop. Stopping: the scheduler pauses, crawl
children get SIGINT (each finishes the post in flight: a post and its hits are one transaction),
running jobs get ``stop_grace`` seconds, then whatever is left is cancelled (children SIGKILLed).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from leakmon.app import App
from leakmon.logs import get_logger
from leakmon.scheduler import context as job_context
from leakmon.scheduler.context import JobContext, JobOptions
from leakmon.scheduler.jobs import deliver_alerts
from leakmon.scheduler.lock import SchedulerLock
from leakmon.scheduler.specs import JobSpec, job_specs
from leakmon.scheduler.store import SyncReport, build_scheduler, stored_jobs, sync_jobs
from leakmon.scheduler.telegram import close_port
from storage.db import transaction
from storage.failures import storage_failure
from storage.repositories.runs import mark_interrupted

log = get_logger(__name__)

_DONE_EVENTS = EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
#: Results a long-running ``schedule`` keeps for display (older ones are dropped).
RESULTS_KEPT = 1000
#: Beyond its crawls' own timeouts, how long ``run_pending`` waits for a cycle by default.
CYCLE_MARGIN_SECONDS = 120.0


@dataclass
class JobResult:
    job: str
    outcome: str  # executed | error | missed | skipped (max instances) | timeout (run_pending gave up)
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
        reason = (storage_failure(exc) or type(exc).__name__) if exc else "error"
        return JobResult(event.job_id, "error", {"error": reason})
    if event.code == EVENT_JOB_MISSED:
        return JobResult(event.job_id, "missed")
    return JobResult(event.job_id, "skipped", {"reason": "previous run still going (max_instances=1)"})


class SchedulerService:
    """One scheduler process: lock, job store, sync, run.

    Submitted jobs are followed through APScheduler's events (submitted, then executed, error,
    missed or skipped); each running job registers its own task in the context, so shutdown can
    cancel it without reaching into the executor.
    """

    def __init__(self, app: App, options: JobOptions | None = None) -> None:
        self.context = JobContext(app=app, options=options or JobOptions(), defer=self._defer)
        self.engine = app.engine
        self.lock = SchedulerLock(self.engine)
        self.scheduler: AsyncIOScheduler | None = None
        self.results: deque[JobResult] = deque(maxlen=RESULTS_KEPT)
        self._in_flight: set[str] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._waiting: set[str] = set()
        self._cycle: list[JobResult] = []
        self.cycle_jobs: tuple[str, ...] = ()  # the jobs the current (or last) cycle waits for
        self._all_done = asyncio.Event()
        self._reported = asyncio.Event()  # pulsed on every result (see wait_for_result)

    async def open(self) -> SyncReport:
        """Lock the job store, start the scheduler paused and rebuild the jobs from config."""
        app = self.context.app
        app.require_schema()
        specs = job_specs(app.settings)
        self.lock.acquire()
        try:
            stored = set(stored_jobs(self.engine))
            scheduler = build_scheduler(self.engine)
            scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
            scheduler.add_listener(self._on_event, _DONE_EVENTS)
            job_context.use(self.context)  # before start: the job tasks inherit this asyncio context
            scheduler.start(paused=True)
            self.scheduler = scheduler
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
        """Jobs with a run that never recorded its end: mark it ``interrupted``, run the job again now.

        A run is taken for interrupted when its owner process is gone (or, on another host or from
        before owners were recorded, after ``STALE_AFTER``); see
        :func:`storage.repositories.runs.mark_interrupted`. A run in flight elsewhere is left alone.
        """
        scheduler = self._running()
        jobs = scheduler.get_jobs()  # before the write transaction: on SQLite every job-store read takes the lock
        with transaction(self.context.app.sessions) as session:
            sources = {run.source for run in mark_interrupted(session, active=self.context.run_ids, now=now)}
        interrupted = [job.id for job in jobs if JobSpec.from_id(job.id).run_source in sources]
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
        results = await self.run_pending(wanted)
        await deliver_alerts(self.context)  # also when nothing ran: failed alerts past their backoff
        return results

    def cycle_timeout(self, jobs: int) -> float:
        """How long a cycle of ``jobs`` may take: its crawls one slot-full after another, plus a margin."""
        options = self.context.options
        rounds = -(-jobs // max(1, options.parallel_crawls))
        return rounds * (options.crawl_timeout + options.stop_grace) + CYCLE_MARGIN_SECONDS

    async def run_pending(self, job_ids: list[str], timeout: float | None = None) -> list[JobResult]:
        """Let the scheduler process due jobs until each of ``job_ids`` reported (ran, missed, skipped).

        Gives up after ``timeout`` seconds (default :meth:`cycle_timeout`): the jobs that did not
        report come back as ``timeout`` results and the scheduler is paused again.
        """
        scheduler = self._running()
        if not job_ids:
            return []
        self._waiting = set(job_ids)
        self._cycle = []
        self.cycle_jobs = tuple(job_ids)
        self._all_done.clear()
        scheduler.resume()
        try:
            await asyncio.wait_for(self._all_done.wait(), timeout or self.cycle_timeout(len(job_ids)))
        except TimeoutError:
            for job_id in sorted(self._waiting):
                log.error("run did not report before the cycle timed out", job=job_id)
                self._cycle.append(JobResult(job_id, "timeout", {"status": "failed"}))
        finally:
            scheduler.pause()
            self._waiting = set()
        return [r for r in self._cycle if r.job in job_ids]

    @property
    def cycle_done(self) -> int:
        """How many of :attr:`cycle_jobs` have reported (ran, failed, missed or skipped)."""
        wanted = set(self.cycle_jobs)
        return len({result.job for result in self._cycle if result.job in wanted})

    async def wait_for_result(self, job_id: str, outcome: str) -> JobResult:
        """The next result (or one already kept) of ``job_id`` with ``outcome``."""
        while True:
            for result in self.results:
                if result.job == job_id and result.outcome == outcome:
                    return result
            self._reported.clear()
            await self._reported.wait()

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Run jobs as scheduled until ``stop`` is set, then stop gracefully."""
        scheduler = self._running()
        scheduler.resume()
        alerts = asyncio.create_task(self._deliver_alerts_until(stop))
        await stop.wait()
        log.info("stopping: no new runs; running crawls finish the post in flight")
        scheduler.pause()
        alerts.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await alerts
        await self.drain(self.context.options.stop_grace)

    async def _deliver_alerts_until(self, stop: asyncio.Event) -> None:
        """Every ``alert_seconds``: deliver due alerts (failed ones past their backoff are retried)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.context.options.alert_seconds)
                return
            try:
                await deliver_alerts(self.context)
            except Exception as exc:  # the database is away for now: the next round tries again
                log.warning("alerts not delivered this round", error=storage_failure(exc) or type(exc).__name__)

    async def drain(self, grace: float) -> None:
        """Ask running crawls to stop (SIGINT once each child is ready), wait up to ``grace`` s for running jobs."""
        for child in list(self.context.children):
            child.request_stop()
        if self._in_flight:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), grace + 1)

    async def close(self) -> None:
        """Shut the scheduler down (cancelling what still runs), close Telegram, release the lock."""
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
            tasks = [task for task in self.context.tasks.values() if not task.done()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=self.context.options.stop_grace + 5)
            await asyncio.sleep(0)
        job_context.use(None)
        await close_port(self.context)
        self.lock.release()

    # -- internals ----------------------------------------------------------------------------

    def _on_submitted(self, event: JobSubmissionEvent) -> None:
        self._in_flight.add(event.job_id)
        self._idle.clear()

    def _on_event(self, event: JobEvent) -> None:
        result = _event_result(event)
        if result.outcome == "missed":
            log.warning("run missed: later than its misfire grace time", job=event.job_id)
        elif result.outcome == "skipped":
            log.warning("run skipped: the previous run of this job is still going", job=event.job_id)
        else:
            self._in_flight.discard(event.job_id)
            if not self._in_flight:
                self._idle.set()
        self.results.append(result)
        self._cycle.append(result)
        self._reported.set()
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
