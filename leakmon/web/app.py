"""The console's ASGI application: sessions, roles, CSRF, templates; the pages are in :mod:`leakmon.web.pages`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from crawlers import spool
from leakmon.app import App
from leakmon.errors import LeakmonError, NotFoundError
from leakmon.web import accounts, i18n
from leakmon.web.accounts import Signed
from leakmon.web.security import LoginLimiter, same_origin, security_headers, token_matches
from storage.db import read_snapshot

HERE = Path(__file__).parent
SESSION_COOKIE = "leakmon_session"
LOGIN_COOKIE = "leakmon_login"
LANG_COOKIE = "leakmon_lang"
T = TypeVar("T")


@dataclass
class Console:
    """What every request needs: the leakmon application, cookie policy, templates, the login limiter."""

    app: App
    secure_cookies: bool = True
    session_lifetime: timedelta = timedelta(hours=8)
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    templates: Jinja2Templates = field(default_factory=lambda: Jinja2Templates(directory=HERE / "templates"))

    async def work(self, job: Callable[[Session], T]) -> T:
        """Run ``job`` in one transaction, off the event loop."""

        def run() -> T:
            with self.app.sessions.begin() as session:
                return job(session)

        return await run_in_threadpool(run)

    async def read(self, job: Callable[[Session], T]) -> T:
        """Run ``job`` on one read-only snapshot, off the event loop: a long read (an export) holds
        no lock the scheduled jobs' writes wait for (see :func:`storage.db.read_snapshot`)."""

        def run() -> T:
            with read_snapshot(self.app.sessions) as session:
                return job(session)

        return await run_in_threadpool(run)

    def set_cookie(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path="/", secure=self.secure_cookies, httponly=True, samesite="strict"
        )


class NeedSignIn(Exception):
    """The request has no live session: go to the sign-in page."""


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def language(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "ko")
    return chosen if chosen in i18n.LANGUAGES else "ko"


async def signed_in(request: Request, role: str) -> Signed:
    """The signed-in user, who must hold ``role`` or a higher one (403 otherwise)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NeedSignIn
    console = console_of(request)
    signed = await console.work(lambda session: accounts.resume_session(session, token))
    if signed is None:
        raise NeedSignIn
    request.state.user = signed
    if not accounts.allows(signed.role, role):
        raise HTTPException(403, "Not allowed for your role.")
    return signed


async def posted(request: Request, role: str) -> tuple[Signed, dict[str, Any]]:
    """A state-changing form post: same origin, the session's CSRF token, then the role."""
    if not same_origin(request):
        raise HTTPException(403, "cross-site request refused")
    form = await request.form()
    signed = await signed_in(request, role)
    if not token_matches(signed.csrf, form.get("csrf")):
        raise HTTPException(403, "missing or wrong CSRF token")
    return signed, {key: form.getlist(key) if key == "hit" else form.get(key) for key in form}


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    lang = language(request)
    context.update(
        request=request,
        lang=lang,
        t=lambda text: i18n.translate(lang, str(text)),
        reason=lambda text: i18n.reason(lang, text),
        left=lambda remaining: i18n.left(lang, remaining),
        user=getattr(request.state, "user", None),
    )
    return console_of(request).templates.TemplateResponse(request, template, context, status_code=status_code)


async def _need_sign_in(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/login", status_code=303)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return render(request, "error.html", status_code=status, message=getattr(exc, "detail", "error"))


async def _leakmon_error(request: Request, exc: Exception) -> Response:
    status = 404 if isinstance(exc, NotFoundError) else 400
    return render(request, "error.html", status_code=status, message=str(exc))


def create_app(app: App, *, secure_cookies: bool = True, session_hours: float = 8.0) -> Starlette:
    """The console over ``app``'s database; cookies are Secure unless ``secure_cookies`` is off."""
    from leakmon.web.accounts import dummy_hash
    from leakmon.web.pages import routes

    dummy_hash()  # an unknown name's first sign-in takes as long as any other
    spool.configure_writable(app.settings.home / "spool")  # removes downloads a killed console left
    web = Starlette(
        routes=routes(),
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=security_headers)],
        exception_handlers={NeedSignIn: _need_sign_in, HTTPException: _http_error, LeakmonError: _leakmon_error},
    )
    web.state.console = Console(app, secure_cookies=secure_cookies, session_lifetime=timedelta(hours=session_hours))
    return web
