"""The console's pages. Every page reads through leakmon's workflows and repositories; every action
and every view of hits or evidence is written to the audit log with the signed-in user."""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from leakmon.errors import InputError
from leakmon.web import accounts, i18n
from leakmon.web.app import (
    HERE,
    LANG_COOKIE,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    console_of,
    posted,
    render,
    signed_in,
)
from leakmon.web.chart import hits_chart
from leakmon.web.pages_charts import ROUTES as charts_routes
from leakmon.web.pages_exports import ROUTES as export_routes
from leakmon.web.pages_sources import ROUTES as sources_routes
from leakmon.web.pages_takedown import ROUTES as takedown_routes
from leakmon.web.security import same_origin, token_matches
from leakmon.workflows import audit
from leakmon.workflows.cli_support import parse_since
from leakmon.workflows.hitviews import STATUSES, HitFilters, evidence_trail, iter_hits
from leakmon.workflows.incident_view import incident_view
from leakmon.workflows.incidents import get_incident, refresh_for_hit, set_flags
from leakmon.workflows.legal import time_left
from leakmon.workflows.masked_text import ShownLine, masked_post_text
from leakmon.workflows.triage import drop_rule, label_hit, rule_rows, unlabel
from storage.models.cases import LABELS, Incident
from storage.repositories.cases import list_incidents

HIT_PAGE = 50


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login_form(request: Request, message: str = "", status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", status_code=status_code, login_token=token, message=message)
    console_of(request).set_cookie(response, LOGIN_COOKIE, token, max_age=3600)
    return response


async def login(request: Request) -> Response:
    """Sign in: same origin, the login form's token (double submit), the rate limit, then the password."""
    console = console_of(request)
    if not same_origin(request):
        raise HTTPException(403, "cross-site request refused")
    form = await request.form()
    if not token_matches(request.cookies.get(LOGIN_COOKIE, ""), form.get("csrf")):
        raise HTTPException(403, "missing or wrong CSRF token")
    name, password, client = str(form.get("name", "")), str(form.get("password", "")), _client(request)
    if console.limiter.blocked(client, name):
        return await login_form(request, "Too many failed sign-ins; try again later.", 429)

    def attempt(session: Session) -> tuple[str, str] | None:
        user = accounts.authenticate(session, name, password)
        if user is None:
            audit.record(session, "web_login_failed", "console", actor="anonymous", details={"client": client})
            return None
        audit.record(session, "web_login", "console", actor=user.name, details={"client": client})
        return accounts.start_session(session, user, console.session_lifetime)

    started = await console.work(attempt)
    if started is None:
        console.limiter.failed(client, name)
        return await login_form(request, "Wrong user name or password.", 401)
    console.limiter.succeeded(client, name)
    response = RedirectResponse("/incidents", status_code=303)
    console.set_cookie(response, SESSION_COOKIE, started[0], max_age=int(console.session_lifetime.total_seconds()))
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


async def logout(request: Request) -> Response:
    signed, _ = await posted(request, "viewer")
    token = request.cookies.get(SESSION_COOKIE, "")

    def end(session: Session) -> None:
        accounts.end_session(session, token)
        audit.record(session, "web_logout", "console", actor=signed.name)

    await console_of(request).work(end)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def choose_language(request: Request) -> Response:
    code = request.path_params["code"]
    back = request.query_params.get("next", "/incidents")
    if code not in i18n.LANGUAGES or not back.startswith("/") or back.startswith("//"):
        raise HTTPException(400, "unknown language or page")
    response = RedirectResponse(back, status_code=303)
    console_of(request).set_cookie(response, LANG_COOKIE, code, max_age=365 * 86400)
    return response


async def home(request: Request) -> Response:
    return RedirectResponse("/incidents", status_code=303)


def _incident_row(incident: Incident, now: datetime) -> dict[str, Any]:
    remaining = time_left(incident, now)
    return {
        "incident": incident,
        "remaining": remaining,
        "overdue": remaining is not None and remaining.total_seconds() < 0,
        "types": [t for t in incident.id_types.split(",") if t],
        "reasons": [r for r in incident.report_reasons.split(",") if r],
    }


def _overdue_first(row: dict[str, Any]) -> tuple[bool, datetime, int]:
    deadline = row["incident"].notify_deadline or datetime.max.replace(tzinfo=UTC)
    return (not row["overdue"], deadline, row["incident"].id)


async def incidents(request: Request) -> Response:
    """Open incidents, overdue first: the 72-hour clock, report reasons, incidents per identifier type."""
    await signed_in(request, "viewer")
    closed_too = request.query_params.get("all") == "1"

    def load(session: Session) -> dict[str, Any]:
        now = datetime.now(UTC)
        found = list_incidents(session, include_closed=closed_too)
        rows = sorted((_incident_row(i, now) for i in found), key=_overdue_first)
        by_type = Counter(t for row in rows for t in row["types"])
        overdue = sum(r["overdue"] for r in rows)
        return {"rows": rows, "by_type": sorted(by_type.items()), "overdue": overdue, "closed_too": closed_too}

    return render(request, "incidents.html", **await console_of(request).work(load))


async def incident(request: Request) -> Response:
    """One incident: clock and reasons, posts with permalinks, a timeline of sightings, reposts,
    removals, takedown moves and alerts, the takedown cases, the alert history, hits per day."""
    signed = await signed_in(request, "viewer")
    incident_id = request.path_params["incident_id"]

    def load(session: Session) -> dict[str, Any]:
        found = get_incident(session, incident_id)
        # Hits (even as counts per day) are the analyst's view.
        view = incident_view(session, found, with_hits=accounts.allows(signed.role, "analyst"))
        return {
            "row": _incident_row(found, datetime.now(UTC)),
            "view": view,
            "chart": hits_chart(view.days),
            "responder": accounts.allows(signed.role, "responder"),  # takedown and export links
        }

    return render(request, "incident.html", **await console_of(request).work(load))


#: What the incident page's buttons may set (the CLI's `incidents set` options).
INCIDENT_ACTIONS: dict[str, dict[str, Any]] = {
    "intrusion": {"intrusion": True},
    "no_intrusion": {"intrusion": False},
    "close": {"status": "closed"},
    "reopen": {"status": "open"},
}


async def set_incident(request: Request) -> Response:
    """Set or clear the intrusion flag, close or reopen (responder and up, as a legal decision), audited."""
    signed, form = await posted(request, "responder")
    incident_id = request.path_params["incident_id"]
    change = INCIDENT_ACTIONS.get(str(form.get("action") or ""))
    if change is None:
        raise InputError(f"unknown action; use one of {', '.join(INCIDENT_ACTIONS)}")
    rules = console_of(request).app.settings.incidents

    def apply(session: Session) -> int:
        found = get_incident(session, incident_id)
        if found.status == "merged":
            raise InputError(f"incident {found.id} was merged into another")
        done = set_flags(session, found.id, rules=rules, **change)
        details = {"intrusion": str(change.get("intrusion")), "status": str(change.get("status")), "via": "web"}
        audit.record(session, "set_incident", f"incident {done.id}", rows=1, actor=signed.name, details=details)
        return done.id

    done_id = await console_of(request).work(apply)
    return RedirectResponse(f"/incidents/{done_id}", status_code=303)


def _filters(request: Request) -> HitFilters:
    query = request.query_params

    def number(name: str, kind: type[int] | type[float]) -> Any:
        value = query.get(name) or None
        try:
            return None if value is None else kind(value)
        except ValueError:
            raise InputError(f"{name} must be a number, not {value!r}") from None

    status = query.get("status") or None
    if status is not None and status not in STATUSES:
        raise InputError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
    return HitFilters(
        since=parse_since(query["since"]) if query.get("since") else None,
        source=query.get("source") or None,
        id_type=query.get("id_type") or None,
        match_kind=query.get("match_kind") or None,
        min_confidence=number("min_confidence", float),
        status=status,
        incident=number("incident", int),
        limit=HIT_PAGE + 1,
    )


async def hits(request: Request) -> Response:
    """Hits with the `leakmon hits` filters, one keyset page at a time (``after`` the last id), audited."""
    signed = await signed_in(request, "analyst")
    filters = _filters(request)
    after_text = request.query_params.get("after") or "0"
    if not after_text.isdigit() or len(after_text) > 19:
        raise InputError(f"after must be a hit id, not {after_text!r}")
    after = int(after_text)

    def load(session: Session) -> list[dict[str, Any]]:
        rows = list(iter_hits(session, filters, page=HIT_PAGE + 1, after=after))
        details = {k: str(v) for k, v in vars_of(filters).items() if v is not None and k != "limit"}
        details["after"] = str(after)
        audit.record(session, "list_hits", "web", rows=min(len(rows), HIT_PAGE), actor=signed.name, details=details)
        return rows

    rows = await console_of(request).work(load)
    more = rows[HIT_PAGE - 1]["hit_id"] if len(rows) > HIT_PAGE else None
    next_url = str(URL(str(request.url)).include_query_params(after=more)) if more is not None else None
    return render(
        request,
        "hits.html",
        rows=rows[:HIT_PAGE],
        next_url=next_url,
        labels=LABELS,
        statuses=STATUSES,
        query=request.query_params,
        back=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    )


def vars_of(filters: HitFilters) -> dict[str, Any]:
    return {name: getattr(filters, name) for name in HitFilters.__dataclass_fields__}


def _hit_ids(form: dict[str, Any]) -> list[int]:
    try:
        hit_ids = [int(h) for h in form.get("hit", [])]
    except ValueError:
        raise InputError("hit ids must be numbers") from None
    if not hit_ids:
        raise InputError("choose at least one hit")
    return hit_ids


def _back(form: dict[str, Any], default: str) -> str:
    back = str(form.get("back") or default)
    return back if back.startswith("/") and not back.startswith("//") else default


async def label_hits(request: Request) -> Response:
    """Label one or many hits, or undo their current labels (``action=undo``), through the triage
    workflow (suppression rules made or lifted), each hit audited and its incident refreshed."""
    signed, form = await posted(request, "analyst")
    hit_ids = _hit_ids(form)
    undo = form.get("action") == "undo"
    label, note = str(form.get("label") or ""), str(form.get("note") or "")
    rules = console_of(request).app.settings.incidents

    def apply(session: Session) -> None:
        for hit_id in hit_ids:
            if undo:
                unlabel(session, hit_id, actor=signed.name, rules=rules, via="web")
                continue
            details: dict[str, Any] = {"via": "web"}
            done = label_hit(session, hit_id, label, actor=signed.name, note=note)
            refresh_for_hit(session, hit_id, rules)
            details["label"] = label
            if done.lifted:
                details["lifted_rules"] = list(done.lifted)
            audit.record(session, "label_hit", f"hit {hit_id}", rows=1, actor=signed.name, details=details)

    await console_of(request).work(apply)
    return RedirectResponse(_back(form, "/hits"), status_code=303)


async def hit(request: Request) -> Response:
    """A hit's evidence trail (masked value, extractor, reasons, label history): an audited view."""
    signed = await signed_in(request, "analyst")
    hit_id = request.path_params["hit_id"]

    def load(session: Session) -> dict[str, Any]:
        trail = evidence_trail(session, hit_id)
        audit.record(session, "view_evidence", f"hit {hit_id}", rows=1, actor=signed.name, details={"via": "web"})
        return trail

    trail = await console_of(request).work(load)
    return _hit_page(request, trail, None)


def _hit_page(request: Request, trail: dict[str, Any], text: list[ShownLine] | None) -> Response:
    history = trail.pop("label_history")
    shown = {key: _shown(value) for key, value in trail.items()}
    return render(request, "hit.html", trail=shown, history=history, labels=LABELS, post_text=text)


async def hit_text(request: Request) -> Response:
    """The post's stored text, masked (see :mod:`leakmon.workflows.masked_text`): analyst and up,
    only through this form post (CSRF-checked), written to the audit log before it is shown."""
    signed, _ = await posted(request, "analyst")
    hit_id = request.path_params["hit_id"]
    from leakmon.runtime import build_registry  # the matcher's registry: loaded for this view only

    app = console_of(request).app
    registry = build_registry(app)

    def load(session: Session) -> tuple[dict[str, Any], list[ShownLine]]:
        trail = evidence_trail(session, hit_id)
        post_id, lines = masked_post_text(session, app.keyring, registry, hit_id)
        details = {"hit": hit_id, "via": "web", "masked_lines": sum(line.masked for line in lines)}
        audit.record(session, "view_post_text", f"post {post_id}", rows=1, actor=signed.name, details=details)
        return trail, lines

    trail, lines = await console_of(request).work(load)
    return _hit_page(request, trail, lines)


async def suppression_rules(request: Request) -> Response:
    """Every false-positive suppression rule (masked value, source, who, when, why), removable."""
    await signed_in(request, "analyst")
    rows = await console_of(request).work(rule_rows)
    return render(request, "hits_rules.html", rules=rows)


async def remove_suppression_rule(request: Request) -> Response:
    """Remove a rule, audited; by default the hits it labelled automatically (and that still carry
    that label) return to unlabelled and their incidents are refreshed (as `leakmon hits rules remove`)."""
    signed, form = await posted(request, "analyst")
    rule_id = request.path_params["rule_id"]
    unlabel_hits = form.get("unlabel") == "1"
    rules = console_of(request).app.settings.incidents

    def apply(session: Session) -> None:
        drop_rule(session, rule_id, keep_labels=not unlabel_hits, actor=signed.name, rules=rules, via="web")

    await console_of(request).work(apply)
    return RedirectResponse("/hits/rules", status_code=303)


def _shown(value: Any) -> str:
    """A trail value as the CLI prints it: lists joined, mappings as key=value, None as '-'."""
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value) or "-"
    if isinstance(value, dict):
        return " ".join(f"{k}={_shown(v)}" for k, v in value.items())
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return "-" if value is None else str(value)


def routes() -> list[BaseRoute]:
    return [
        Route("/", home),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/lang/{code}", choose_language),
        Route("/incidents", incidents),
        Route("/incidents/{incident_id:int}", incident),
        Route("/incidents/{incident_id:int}/set", set_incident, methods=["POST"]),
        Route("/hits", hits),
        Route("/hits/label", label_hits, methods=["POST"]),
        Route("/hits/rules", suppression_rules),
        Route("/hits/rules/{rule_id:int}/remove", remove_suppression_rule, methods=["POST"]),
        Route("/hits/{hit_id:int}", hit),
        Route("/hits/{hit_id:int}/text", hit_text, methods=["POST"]),
        *takedown_routes,
        *export_routes,
        *sources_routes,
        *charts_routes,
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
