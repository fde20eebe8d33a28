"""The sources page: per configured source (and any other source that ran) the last run, its result,
posts and hits found, the next run from the scheduler's job store, a deferral (HTTP 429 backoff,
Telegram flood wait), the error and, for analysts and up, the error findings behind it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leakmon.scheduler import job_specs, status_rows
from leakmon.web import accounts
from leakmon.web.app import console_of, render, signed_in
from storage.repositories.runs import error_findings, last_runs

#: Error findings listed per source.
FINDINGS_SHOWN = 20


async def sources(request: Request) -> Response:
    """`leakmon status` as a page, with the findings behind each source's errors."""
    signed = await signed_in(request, "viewer")
    console = console_of(request)
    app = console.app
    rows: list[dict[str, Any]] = await run_in_threadpool(status_rows, app)
    run_source = {spec.id: spec.run_source for spec in job_specs(app.settings)}
    findings_allowed = accounts.allows(signed.role, "analyst")

    def load(session: Session) -> list[dict[str, Any]]:
        latest = last_runs(session)
        scheduled = set(run_source.values())
        for source in sorted(set(latest) - scheduled):  # ad hoc scans and sources no longer configured
            run = latest[source]
            rows.append(
                {"job": source, "schedule": None, "last_run": run.started_at.isoformat(timespec="seconds"),
                 "result": run.status, "posts": None, "hits": None, "errors": None, "error": run.error,
                 "next_run": "not scheduled", "deferred_until": None}
            )  # fmt: skip
            run_source[source] = source
        for row in rows:
            last = latest.get(run_source.get(row["job"], ""))
            row["run"] = last
            troubled = last is not None and (last.status != "ok" or bool(row.get("errors")))
            show = findings_allowed and troubled and last is not None
            row["findings"] = error_findings(session, last.id, limit=FINDINGS_SHOWN) if show and last else []
        return rows

    shown = await console.work(load)
    return render(request, "sources.html", rows=shown, findings_allowed=findings_allowed)


ROUTES: list[BaseRoute] = [
    Route("/sources", sources),
]
