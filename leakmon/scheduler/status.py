"""Per configured source: last run, its result, posts/hits found, errors, next run, deferral.

Above the per-source table, :func:`status_summary` answers "is anything wrong?" at a glance:
failed runs, alerts not delivered, and open incidents past their 72-hour deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from leakmon.app import App
from leakmon.scheduler.deferral import deferred_until
from leakmon.scheduler.specs import job_specs
from leakmon.scheduler.store import stored_jobs
from leakmon.workflows.alerts import undelivered
from storage.models.cases import Incident
from storage.models.core import Run
from storage.repositories.runs import last_error_finding, last_runs

STATUS_COLUMNS = [
    "job", "schedule", "last_run", "result", "posts", "hits", "errors", "error", "next_run", "deferred_until",
]  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def _counts(run: Run) -> tuple[int, int, int]:
    stats: dict[str, Any] = run.stats or {}
    posts = int(stats.get("new_posts", 0) or 0) + int(stats.get("changed_posts", 0) or 0)
    return posts, int(stats.get("new_hits", 0) or 0), int(stats.get("errors", 0) or 0)


def one_line(text: str, limit: int = 160) -> str:
    """The first line of ``text``, cut to ``limit`` characters."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def status_rows(app: App, now: datetime | None = None) -> list[dict[str, Any]]:
    """One record per configured job (see :data:`STATUS_COLUMNS`).

    ``error`` is the run's own error, else the last error finding the run recorded
    (``kind: locator: reason``), on one line.
    """
    app.require_schema()
    now = now or datetime.now(UTC)
    specs = job_specs(app.settings)
    next_runs = stored_jobs(app.engine)
    rows: list[dict[str, Any]] = []
    with app.sessions() as session:
        latest = last_runs(session)
        for spec in specs:
            run = latest.get(spec.run_source)
            posts, hits, errors = _counts(run) if run is not None else (0, 0, 0)
            error = run.error if run is not None else None
            if run is not None and not error and (errors or run.status == "failed"):
                finding = last_error_finding(session, run.id)
                error = f"{finding.kind}: {finding.locator}: {finding.reason}" if finding is not None else None
            rows.append(
                {
                    "job": spec.id,
                    "schedule": spec.schedule,
                    "last_run": _iso(run.started_at) if run else None,
                    "result": run.status if run else "never run",
                    "posts": posts,
                    "hits": hits,
                    "errors": errors,
                    "error": one_line(error) if error else None,
                    "next_run": _iso(next_runs.get(spec.id)) if spec.id in next_runs else "not scheduled yet",
                    "deferred_until": _iso(deferred_until(session, spec, now)),
                }
            )
    return rows


@dataclass
class StatusSummary:
    """What needs a human now."""

    failed_runs: list[str] = field(default_factory=list)  # job ids whose last run failed
    undelivered_alerts: list[int] = field(default_factory=list)
    alerts_given_up: int = 0
    overdue_incidents: list[int] = field(default_factory=list)

    def lines(self) -> list[str]:
        alerts = f"{len(self.undelivered_alerts)}"
        if self.undelivered_alerts:
            ids = ", ".join(str(i) for i in self.undelivered_alerts[:10])
            alerts += f" (alert {ids}; {self.alerts_given_up} given up; retry: leakmon incidents alert)"
        return [
            f"failed runs:         {len(self.failed_runs)}"
            + (f" ({', '.join(self.failed_runs)})" if self.failed_runs else ""),
            f"undelivered alerts:  {alerts}",
            f"overdue incidents:   {len(self.overdue_incidents)}"
            + (f" (incident {', '.join(str(i) for i in self.overdue_incidents)})" if self.overdue_incidents else ""),
        ]

    @property
    def ok(self) -> bool:
        return not (self.failed_runs or self.undelivered_alerts or self.overdue_incidents)


def _count(items: list[Any], noun: str) -> str:
    """``2 (incident 4, 7)``, or ``0``."""
    if not items:
        return "0"
    shown = ", ".join(str(i) for i in items[:10]) + (", ..." if len(items) > 10 else "")
    return f"{len(items)} ({noun + ' ' if noun else ''}{shown})"


def status_summary(app: App, rows: list[dict[str, Any]], now: datetime | None = None) -> StatusSummary:
    """The summary above the per-source table (``rows`` from :func:`status_rows`)."""
    now = now or datetime.now(UTC)
    summary = StatusSummary(failed_runs=[row["job"] for row in rows if row["result"] == "failed"])
    with app.sessions() as session:
        pending = undelivered(session)
        summary.undelivered_alerts = [a.id for a in pending]
        summary.alerts_given_up = sum(a.status == "failed" and a.next_attempt_at is None for a in pending)
        summary.overdue_incidents = list(
            session.scalars(
                select(Incident.id)
                .where(Incident.status == "open", Incident.notify_deadline.is_not(None), Incident.notify_deadline < now)
                .order_by(Incident.id)
            )
        )
    return summary
