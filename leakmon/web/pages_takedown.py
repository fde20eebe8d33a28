"""Takedown pages (responder and up): open a case from a post, move it through the states the CLI
allows, read the request drafts and download the evidence bundle. Every action and every draft or
bundle is written to the audit log with the signed-in user."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from leakmon.errors import InputError
from leakmon.web.app import console_of, posted, render, signed_in
from leakmon.workflows import audit, drafts
from leakmon.workflows.draft_phrases import RECIPIENTS
from leakmon.workflows.takedown import TRANSITIONS, get_case, history, open_case, set_state
from leakmon.workflows.takedown_bundle import bundle
from leakmon.workflows.takedown_views import posts_to_open
from storage.models.cases import TAKEDOWN_STATES
from storage.repositories.cases_takedown import list_cases

ROLE = "responder"


def _number(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    text = str(value)
    if not text.isdigit():
        raise InputError(f"{name} must be a number, not {text!r}")
    return int(text)


def _back(value: Any, default: str) -> str:
    """Where to go after a form post: one of this console's takedown pages only."""
    text = str(value or "")
    return text if text.startswith("/takedown") and "//" not in text and "\\" not in text else default


async def takedown(request: Request) -> Response:
    """Every case (or those in one state), newest activity visible, each linking to its page."""
    await signed_in(request, ROLE)
    state = request.query_params.get("state") or None
    if state is not None and state not in TAKEDOWN_STATES:
        raise InputError(f"unknown takedown state {state!r}; use one of {', '.join(TAKEDOWN_STATES)}")
    cases = await console_of(request).work(lambda session: list_cases(session, state=state))
    return render(request, "takedown.html", cases=cases, transitions=TRANSITIONS, states=TAKEDOWN_STATES, state=state)


async def choose_post(request: Request) -> Response:
    """The posts of an incident (``?incident=N``) or one post (``?post=P``) to open a case for."""
    await signed_in(request, ROLE)
    incident_id = _number(request.query_params.get("incident"), "incident")
    post_id = _number(request.query_params.get("post"), "post")
    choices = await console_of(request).work(
        lambda session: posts_to_open(session, incident_id=incident_id, post_id=post_id)
    )
    return render(request, "takedown_open.html", choices=choices, incident_id=incident_id)


async def open_for_post(request: Request) -> Response:
    """Open a case for a post or its channel (an active one is reused), audited; then show the case."""
    signed, form = await posted(request, ROLE)
    post_id = _number(form.get("post"), "post")
    if post_id is None:
        raise InputError("choose a post")
    channel, note = form.get("scope") == "channel", str(form.get("note") or "")

    def open_(session: Session) -> int:
        case, created = open_case(session, post_id, actor=signed.name, channel=channel, note=note)
        details = {"case": case.id, "scope": case.scope, "created": created, "via": "web"}
        audit.record(session, "takedown_open", f"post {post_id}", rows=1, actor=signed.name, details=details)
        return case.id

    case_id = await console_of(request).work(open_)
    return RedirectResponse(f"/takedown/{case_id}", status_code=303)


async def case_page(request: Request) -> Response:
    """One case: where it is, its history, the moves it allows, the drafts and the bundle."""
    await signed_in(request, ROLE)
    case_id = request.path_params["case_id"]

    def load(session: Session) -> dict[str, Any]:
        return {"case": get_case(session, case_id), "events": history(session, case_id)}

    found = await console_of(request).work(load)
    return render(request, "takedown_case.html", transitions=TRANSITIONS, recipients=list(RECIPIENTS), **found)


async def move_case(request: Request) -> Response:
    """Move a takedown case to a state the CLI allows (illegal moves are refused), audited."""
    signed, form = await posted(request, ROLE)
    case_id, state, note = request.path_params["case_id"], str(form.get("state") or ""), str(form.get("note") or "")

    def move(session: Session) -> None:
        event = set_state(session, case_id, state, actor=signed.name, note=note)
        details = {"from": event.from_state, "to": state, "via": "web"}
        audit.record(session, "takedown_state", f"case {case_id}", rows=1, actor=signed.name, details=details)

    await console_of(request).work(move)
    return RedirectResponse(_back(form.get("back"), "/takedown"), status_code=303)


async def draft(request: Request) -> Response:
    """The request text for one recipient (telegram, kisa, host-kr, host), audited like the CLI's draft."""
    signed = await signed_in(request, ROLE)
    case_id, to = request.path_params["case_id"], request.path_params["to"]

    def load(session: Session) -> str:
        text = drafts.render(session, case_id, to)
        details = {"to": to, "via": "web"}
        audit.record(session, "draft_takedown", f"case {case_id}", rows=1, actor=signed.name, details=details)
        return text

    text = await console_of(request).work(load)
    return render(request, "takedown_draft.html", case_id=case_id, to=to, text=text, recipients=list(RECIPIENTS))


async def evidence_bundle(request: Request) -> Response:
    """The case's evidence bundle (ZIP: drafts, history, manifest with SHA-256), audited."""
    signed = await signed_in(request, ROLE)
    case_id = request.path_params["case_id"]

    def make(session: Session) -> bytes:
        data = bundle(session, case_id, made_by=signed.name)
        details = {"bytes": len(data), "via": "web"}
        audit.record(session, "takedown_bundle", f"case {case_id}", rows=1, actor=signed.name, details=details)
        return data

    data = await console_of(request).work(make)
    disposition = f'attachment; filename="takedown-case-{case_id}-evidence.zip"'
    return Response(data, media_type="application/zip", headers={"Content-Disposition": disposition})


ROUTES: list[BaseRoute] = [
    Route("/takedown", takedown),
    Route("/takedown/open", choose_post, methods=["GET"]),
    Route("/takedown/open", open_for_post, methods=["POST"]),
    Route("/takedown/{case_id:int}", case_page),
    Route("/takedown/{case_id:int}/state", move_case, methods=["POST"]),
    Route("/takedown/{case_id:int}/draft/{to}", draft),
    Route("/takedown/{case_id:int}/evidence.zip", evidence_bundle),
]
