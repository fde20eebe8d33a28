"""Export downloads of an incident (responder and up): the affected subjects as CSV or XLSX, the
incident as a MISP event or a STIX 2.1 bundle. Every download is written to the audit log with the
user; subjects are named by opaque reference only (the workflows never read an identifier value).

CSV and XLSX rows are written in bulk, the bytes `leakmon export affected` writes
(:func:`leakmon.workflows.affected.write_affected`), to a private spool file in the workspace
(never the system temp folder, never held in memory), which is deleted however the download ends: sent, the browser gone
mid-way (the server's send fails) or the request cancelled. A spool this process made more than
``ABANDONED_SECONDS`` ago is deleted at the start of every download (on Linux a file still being
sent stays readable by its open handle), and the console's start removes those of a console that
was killed (:func:`crawlers.spool.configure`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from crawlers import spool
from leakmon.web.app import console_of, render, signed_in
from leakmon.workflows import audit
from leakmon.workflows.affected import select_incidents, write_affected
from leakmon.workflows.incidents import get_incident
from storage.repositories.cases import list_incidents

ROLE = "responder"
TABLE_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
SHARE_FORMATS = ("misp", "stix")
#: An export spool of this process older than this is an abandoned download: swept.
ABANDONED_SECONDS = 3600.0
_spools: dict[Path, float] = {}  # this process's export spools -> when made (monotonic seconds)


def sweep_spools(now: float | None = None) -> list[Path]:
    """Delete this process's export spools made ``ABANDONED_SECONDS`` or more ago; return them."""
    now = time.monotonic() if now is None else now
    old = [folder for folder, made in _spools.items() if now - made >= ABANDONED_SECONDS]
    for folder in old:
        _release(folder)
    return old


def _release(folder: Path) -> None:
    _spools.pop(folder, None)
    spool.remove(folder)


class SpooledFileResponse(FileResponse):
    """A file download whose spool folder is deleted however the sending ends (not only on success:
    Starlette runs a background task only after a complete send)."""

    def __init__(self, path: Path, folder: Path, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.folder = folder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            _release(self.folder)


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


async def exports(request: Request) -> Response:
    """Every open or closed incident with its downloads."""
    await signed_in(request, ROLE)
    incidents = await console_of(request).work(lambda session: list_incidents(session, include_closed=True))
    return render(request, "exports.html", incidents=incidents)


async def export_affected(request: Request) -> Response:
    """The incident's affected subjects as CSV (UTF-8 with BOM) or XLSX, audited with the user."""
    signed = await signed_in(request, ROLE)
    incident_id, fmt = request.path_params["incident_id"], request.path_params["fmt"]
    if fmt not in TABLE_TYPES:
        raise HTTPException(404, "Not Found")
    console = console_of(request)
    spool.configure(console.app.settings.home / "spool")
    sweep_spools()
    folder = spool.create("export")
    _spools[folder] = time.monotonic()
    output = folder / f"affected.{fmt}"

    def export(session: Session) -> tuple[int, int, int]:
        found = get_incident(session, incident_id)
        chosen = select_incidents(session, incident_id=found.id)
        count = write_affected(session, chosen, fmt, output)  # to the spool file, as `export affected` writes
        return found.id, count, len(chosen)

    try:
        # Read on a snapshot (no write lock held while the rows are written), then audited in a
        # short write transaction before the file is sent.
        found_id, count, chosen = await console.read(export)
        details = {"format": fmt, "output": "web download", "incidents": chosen}
        await console.work(
            lambda session: audit.record(
                session, "export_affected", f"incident {found_id}", rows=count, actor=signed.name, details=details
            )
        )
    except BaseException:
        _release(folder)
        raise
    return SpooledFileResponse(
        output, folder, media_type=TABLE_TYPES[fmt], headers=_attachment(f"affected-incident-{found_id}.{fmt}")
    )


async def export_incident(request: Request) -> Response:
    """The incident as a MISP event or a STIX 2.1 bundle (categories and counts only), audited."""
    signed = await signed_in(request, ROLE)
    incident_id, fmt = request.path_params["incident_id"], request.path_params["fmt"]
    if fmt not in SHARE_FORMATS:
        raise HTTPException(404, "Not Found")

    def share(session: Session) -> tuple[str, int]:
        from leakmon.workflows import sharing  # pymisp and stix2 load slowly: only when asked

        found = get_incident(session, incident_id)
        text = sharing.render(session, found, fmt)
        details = {"format": fmt, "output": "web download"}
        audit.record(session, "export_incident", f"incident {found.id}", rows=1, actor=signed.name, details=details)
        return text, found.id

    text, found_id = await console_of(request).work(share)
    return Response(
        text.encode("utf-8"),
        media_type="application/json",
        headers=_attachment(f"incident-{found_id}.{fmt}.json"),
    )


ROUTES: list[BaseRoute] = [
    Route("/exports", exports),
    Route("/incidents/{incident_id:int}/affected.{fmt:str}", export_affected),
    Route("/incidents/{incident_id:int}/{fmt:str}.json", export_incident),
]
