"""The scheduled job: APScheduler 3 (AsyncIOScheduler + SQLAlchemyJobStore in leakmon's database).

Public API:

- :func:`job_specs` / :class:`JobSpec`: the jobs configuration asks for (one per source and chat).
- :class:`SchedulerService`: lock the job store, sync jobs, ``run_once()`` or ``run_forever()``.
- :class:`JobContext`: the App and options the module-level job functions run with.
- :class:`SchedulerLock` / :class:`SchedulerBusy`: one scheduler per job store.
- :func:`status_rows`: per-source status for ``leakmon status``.
"""

from __future__ import annotations

from leakmon.scheduler.context import JobContext
from leakmon.scheduler.lock import SchedulerBusy, SchedulerLock
from leakmon.scheduler.service import CycleReport, JobResult, SchedulerService
from leakmon.scheduler.specs import JobSpec, job_specs, make_trigger
from leakmon.scheduler.status import STATUS_COLUMNS, status_rows

__all__ = [
    "STATUS_COLUMNS",
    "CycleReport",
    "JobContext",
    "JobResult",
    "JobSpec",
    "SchedulerBusy",
    "SchedulerLock",
    "SchedulerService",
    "job_specs",
    "make_trigger",
    "status_rows",
]
