"""The APScheduler instance and its job store in leakmon's own database, and the config sync.

``SQLAlchemyJobStore`` creates and owns the table ``apscheduler_jobs`` (kept out of Alembic: it is
APScheduler's schema, pickled job state included). At every start the jobs are rebuilt from
configuration: new sources are added (due at once), changed schedules replaced, unchanged jobs
keep their stored next run time, and jobs whose source left the configuration are removed, each
with a log line. A job APScheduler could not restore (its function was renamed or moved) is
reported too instead of vanishing with APScheduler's own debug-level line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine, MetaData, Table, inspect, select

from leakmon.logs import get_logger
from leakmon.scheduler.specs import JobSpec, make_trigger

log = get_logger(__name__)

JOBS_TABLE = "apscheduler_jobs"


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unrestorable: list[str] = field(default_factory=list)


def build_scheduler(engine: Engine) -> AsyncIOScheduler:
    """An AsyncIOScheduler on the job store in ``engine``'s database (UTC, boring defaults)."""
    return AsyncIOScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)},
        executors={"default": AsyncIOExecutor()},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 900},
        timezone=UTC,
    )


def stored_jobs(engine: Engine) -> dict[str, datetime | None]:
    """Job id -> next run time, read from the table itself (no unpickling; empty if none yet)."""
    if not inspect(engine).has_table(JOBS_TABLE):
        return {}
    table = Table(JOBS_TABLE, MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.id, table.c.next_run_time)).all()
    return {row.id: (datetime.fromtimestamp(row.next_run_time, UTC) if row.next_run_time else None) for row in rows}


def job_name(spec: JobSpec) -> str:
    """The stored name carries the schedule, so a changed schedule is noticed at start."""
    return f"{spec.id} every {spec.schedule}"


def sync_jobs(
    scheduler: AsyncIOScheduler, specs: list[JobSpec], stored_ids: set[str], now: datetime | None = None
) -> SyncReport:
    """Make the job store hold exactly one job per spec (scheduler started, paused or not)."""
    now = now or datetime.now(UTC)
    report = SyncReport()
    wanted = {spec.id: spec for spec in specs}
    existing = {job.id: job for job in scheduler.get_jobs()}
    for job_id in sorted(stored_ids - existing.keys()):
        report.unrestorable.append(job_id)
        log.warning(
            "stored job could not be restored (its function was renamed or moved); "
            + ("rebuilt from config" if job_id in wanted else "its source is no longer in config, dropped"),
            job=job_id,
        )
    for job_id, job in sorted(existing.items()):
        if job_id not in wanted:
            scheduler.remove_job(job_id)
            report.removed.append(job_id)
            log.warning(
                "job removed: its source is no longer in config (renamed or deleted?)", job=job_id, name=job.name
            )
    for spec in specs:
        options = {
            "func": spec.function,
            "args": [spec.name],
            "name": job_name(spec),
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": spec.misfire_grace_time,
        }
        current = existing.get(spec.id)
        if current is None:
            scheduler.add_job(
                id=spec.id, trigger=make_trigger(spec.schedule), next_run_time=now, replace_existing=True, **options
            )
            report.added.append(spec.id)
            log.info("job added (due now)", job=spec.id, schedule=spec.schedule)
        elif current.name == options["name"] and current.func_ref == options["func"]:
            scheduler.modify_job(spec.id, **options)
            report.kept.append(spec.id)
        else:
            scheduler.add_job(id=spec.id, trigger=make_trigger(spec.schedule), replace_existing=True, **options)
            report.updated.append(spec.id)
            log.info("job schedule changed", job=spec.id, schedule=spec.schedule, was=current.name)
    return report
