"""Per configured source: last run, its result, posts/hits found, errors, next run, deferral."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leakmon.app import App
from leakmon.scheduler.deferral import deferred_until
from leakmon.scheduler.specs import job_specs
from leakmon.scheduler.store import stored_jobs
from storage.models.core import Run
from storage.repositories.runs import last_runs

STATUS_COLUMNS = [
    "job", "schedule", "last_run", "result", "posts", "hits", "errors", "error", "next_run", "deferred_until",
]  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def _counts(run: Run) -> tuple[int, int, int]:
    stats: dict[str, Any] = run.stats or {}
    posts = int(stats.get("new_posts", 0) or 0) + int(stats.get("changed_posts", 0) or 0)
    return posts, int(stats.get("new_hits", 0) or 0), int(stats.get("errors", 0) or 0)


def status_rows(app: App, now: datetime | None = None) -> list[dict[str, Any]]:
    """One record per configured job (see :data:`STATUS_COLUMNS`)."""
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
            rows.append(
                {
                    "job": spec.id,
                    "schedule": spec.schedule,
                    "last_run": _iso(run.started_at) if run else None,
                    "result": run.status if run else "never run",
                    "posts": posts,
                    "hits": hits,
                    "errors": errors,
                    "error": run.error if run else None,
                    "next_run": _iso(next_runs.get(spec.id)) if spec.id in next_runs else "not scheduled yet",
                    "deferred_until": _iso(deferred_until(session, spec, now)),
                }
            )
    return rows
