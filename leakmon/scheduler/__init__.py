"""The scheduled job: APScheduler 3 (AsyncIOScheduler + SQLAlchemyJobStore in leakmon's database).

Public API:

- :func:`job_specs` / :class:`JobSpec`: the jobs configuration asks for (one per source and chat).
- :class:`SchedulerService`: lock the job store, sync jobs, ``run_once()`` or ``run_forever()``.
- :class:`JobOptions` / :class:`JobContext`: the options and the live state job functions run with.
- :class:`SchedulerLock` / :class:`SchedulerBusy`: one scheduler per job store.
- :func:`status_rows` / :func:`status_summary`: ``leakmon status`` (summary block, per-source rows).

Running it:

- cron / CI: ``*/10 * * * * cd /srv/leakmon && .venv/bin/leakmon run --once --log-format json``
  (runs what is due, exits non-zero when a run failed; a second invocation while one is still
  going is refused with exit code 5).
- daemon: ``leakmon schedule --log-format json --metrics-port 9464`` under systemd
  (``Restart=on-failure``, ``KillSignal=SIGTERM``, ``TimeoutStopSec`` above the stop grace): on
  SIGTERM it stops taking new runs, lets running crawls finish the post in flight, then exits.
- One scheduler per database: SQLite takes ``flock`` on ``<db>.scheduler.lock``; PostgreSQL a
  session advisory lock. Both vanish with the process, so a killed scheduler never blocks the next.
- A run killed mid-way is marked ``failed`` (interrupted) at the next start and runs again at once;
  every post and its hits are one transaction, so the re-run stores exactly what a clean run would.
- ``apscheduler_jobs`` belongs to APScheduler (created by its job store, not by Alembic).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leakmon.scheduler.context import JobContext, JobOptions
    from leakmon.scheduler.lock import SchedulerBusy, SchedulerLock
    from leakmon.scheduler.service import CycleReport, JobResult, SchedulerService
    from leakmon.scheduler.specs import JobSpec, job_specs, make_trigger
    from leakmon.scheduler.status import STATUS_COLUMNS, StatusSummary, status_rows, status_summary

#: Where each public name lives. The package imports a module when one of its names is first used,
#: so the crawl child (``python -m leakmon.scheduler.crawl_child``) loads neither APScheduler nor
#: the Telegram reader.
_HOMES = {
    "JobContext": "context",
    "JobOptions": "context",
    "SchedulerBusy": "lock",
    "SchedulerLock": "lock",
    "CycleReport": "service",
    "JobResult": "service",
    "SchedulerService": "service",
    "JobSpec": "specs",
    "job_specs": "specs",
    "make_trigger": "specs",
    "STATUS_COLUMNS": "status",
    "StatusSummary": "status",
    "status_rows": "status",
    "status_summary": "status",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "STATUS_COLUMNS",
    "CycleReport",
    "JobContext",
    "JobOptions",
    "JobResult",
    "JobSpec",
    "SchedulerBusy",
    "SchedulerLock",
    "SchedulerService",
    "StatusSummary",
    "job_specs",
    "make_trigger",
    "status_rows",
    "status_summary",
]
