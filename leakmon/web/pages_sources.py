"""The sources page: per source the last run, its result, deferral and the error finding behind a failure."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leakmon.web.app import console_of, render, signed_in
from storage.repositories.runs import last_error_finding, last_runs


async def sources(request: Request) -> Response:
    """Per source: the last run, its result, deferral and the error finding behind a failure."""
    await signed_in(request, "viewer")

    def load(session: Session) -> list[dict[str, Any]]:
        rows = []
        for source, run in sorted(last_runs(session).items()):
            finding = last_error_finding(session, run.id) if run.status != "ok" else None
            rows.append({"source": source, "run": run, "finding": finding})
        return rows

    return render(request, "sources.html", rows=await console_of(request).work(load))


ROUTES: list[BaseRoute] = [
    Route("/sources", sources),
]
