"""Export downloads of an incident (responder and up): every download audited with the user; subjects are
named by opaque reference only."""

from __future__ import annotations

import io

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leakmon.web.app import console_of, signed_in
from leakmon.workflows import audit
from leakmon.workflows.affected import COLUMNS as AFFECTED_COLUMNS
from leakmon.workflows.affected import affected_rows, select_incidents
from leakmon.workflows.incidents import get_incident
from leakmon.workflows.tables import write_rows


async def export_affected(request: Request) -> Response:
    """The incident's affected subjects as CSV (opaque references only), audited with the user."""
    signed = await signed_in(request, "responder")
    incident_id = request.path_params["incident_id"]

    def export(session: Session) -> tuple[str, int]:
        found = get_incident(session, incident_id)
        out = io.StringIO()
        chosen = select_incidents(session, incident_id=found.id)
        rows = ({c: getattr(r, c) for c in AFFECTED_COLUMNS} for r in affected_rows(session, chosen))
        count = write_rows(rows, AFFECTED_COLUMNS, "csv", None, out)
        details = {"format": "csv", "output": "web download", "incidents": len(chosen)}
        audit.record(session, "export_affected", f"incident {found.id}", rows=count, actor=signed.name, details=details)
        return out.getvalue(), found.id

    text, found_id = await console_of(request).work(export)
    disposition = f'attachment; filename="affected-incident-{found_id}.csv"'
    return Response(
        ("\ufeff" + text).encode(), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition}
    )


ROUTES: list[BaseRoute] = [
    Route("/incidents/{incident_id:int}/affected.csv", export_affected),
]
