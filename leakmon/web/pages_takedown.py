"""Takedown pages: the cases and their states (responder and up), every move audited with the user."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from leakmon.web.app import console_of, posted, render, signed_in
from leakmon.workflows import audit
from leakmon.workflows.takedown import TRANSITIONS, set_state
from storage.repositories.cases_takedown import list_cases


async def takedown(request: Request) -> Response:
    await signed_in(request, "responder")
    cases = await console_of(request).work(list_cases)
    return render(request, "takedown.html", cases=cases, transitions=TRANSITIONS)


async def move_case(request: Request) -> Response:
    """Move a takedown case to a state the CLI allows (illegal moves are refused), audited."""
    signed, form = await posted(request, "responder")
    case_id, state, note = request.path_params["case_id"], str(form.get("state") or ""), str(form.get("note") or "")

    def move(session: Session) -> None:
        set_state(session, case_id, state, actor=signed.name, note=note)
        audit.record(session, "takedown_state", f"case {case_id}", rows=1, actor=signed.name, details={"to": state})

    await console_of(request).work(move)
    return RedirectResponse("/takedown", status_code=303)


ROUTES: list[BaseRoute] = [
    Route("/takedown", takedown),
    Route("/takedown/{case_id:int}/state", move_case, methods=["POST"]),
]
