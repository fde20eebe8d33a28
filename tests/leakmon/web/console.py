"""Helpers for the console tests: accounts of every role over the seeded CLI workspace, a signed-in client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from starlette.testclient import TestClient

from leakmon.app import App
from leakmon.web import accounts
from leakmon.web.app import create_app
from tests.leakmon.workflows.world import Db

PASSWORD = "a long test password"
ROLES = accounts.ROLES


def add_users(db: Db) -> None:
    """One account per role, named after it."""
    with db.sessions.begin() as session:
        for role in ROLES:
            accounts.add_user(session, role, role, PASSWORD)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


@contextmanager
def client() -> Iterator[TestClient]:
    app = App()
    with TestClient(create_app(app), base_url="https://testserver", follow_redirects=False) as http:
        yield http
    app.close()


def sign_in(http: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token (from the next page)."""
    form = http.get("/login")
    response = http.post("/login", data={"name": name, "password": password, "csrf": csrf_of(form.text)})
    assert response.status_code == 303, response.text
    return csrf_of(http.get("/incidents").text)


def audit_rows(db: Db) -> list[tuple[str, str, str]]:
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT actor, action, target FROM audit_log ORDER BY seq"))
        return [(str(a), str(b), str(c)) for a, b, c in rows]
