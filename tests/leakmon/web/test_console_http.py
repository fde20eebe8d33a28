"""The console over HTTP: role boundaries, CSRF and same-origin refusals, sessions, audit, privacy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update

from leakmon.web.security import CSP
from leakmon.workflows.takedown import open_case
from storage.models.cases import HitLabel
from storage.models.web import WebSession
from tests.leakmon.commands.seed import Seeded, seed
from tests.leakmon.web.console import PASSWORD, add_users, audit_rows, client, csrf_of, sign_in
from tests.leakmon.workflows.world import SECRET_VALUES, Db


@pytest.fixture
def seeded(cli_db: Db) -> Seeded:
    s = seed(cli_db)
    add_users(cli_db)
    return s


def _no_secrets(body: str) -> None:
    for secret in SECRET_VALUES:
        assert secret not in body


def test_signed_out_goes_to_sign_in(seeded: Seeded) -> None:
    with client() as http:
        for path in ("/incidents", "/hits", f"/incidents/{seeded.incident}/affected.csv", "/takedown"):
            response = http.get(path)
            assert response.status_code == 303
            assert response.headers["location"] == "/login"


def _paths(s: Seeded) -> dict[str, str]:
    return {
        "incidents": "/incidents",
        "incident": f"/incidents/{s.incident}",
        "sources": "/sources",
        "hits": "/hits",
        "hit": f"/hits/{s.hit}",
        "takedown": "/takedown",
        "export": f"/incidents/{s.incident}/affected.csv",
    }


#: The lowest role that may open each page.
NEEDS = {
    "incidents": "viewer",
    "incident": "viewer",
    "sources": "viewer",
    "hits": "analyst",
    "hit": "analyst",
    "takedown": "responder",
    "export": "responder",
}
RANK = {"viewer": 0, "analyst": 1, "responder": 2, "admin": 3}


@pytest.mark.parametrize("role", list(RANK))
def test_role_boundaries(seeded: Seeded, role: str) -> None:
    with client() as http:
        sign_in(http, role)
        for page, path in _paths(seeded).items():
            response = http.get(path)
            allowed = RANK[role] >= RANK[NEEDS[page]]
            assert response.status_code == (200 if allowed else 403), (role, page, response.status_code)
            _no_secrets(response.text)


#: Header links and the lowest role that may follow each one.
NAV = {
    "/incidents": "viewer",
    "/sources": "viewer",
    "/charts": "viewer",
    "/hits": "analyst",
    "/hits/rules": "analyst",
    "/takedown": "responder",
    "/exports": "responder",
}


def _header(html: str) -> str:
    return html.split("<header>", 1)[1].split("</header>", 1)[0]


@pytest.mark.parametrize("role", list(RANK))
def test_header_links_every_page_the_role_may_open_and_no_other(seeded: Seeded, role: str) -> None:
    with client() as http:
        sign_in(http, role)
        header = _header(http.get("/incidents").text)
        for path, needs in NAV.items():
            shown = f'href="{path}"' in header
            assert shown == (RANK[role] >= RANK[needs]), (role, path)
            if shown:
                assert http.get(path).status_code == 200, (role, path)


def _incident_links(s: Seeded) -> list[str]:
    return [
        f"/incidents/{s.incident}/affected.csv",
        f"/incidents/{s.incident}/affected.xlsx",
        f"/incidents/{s.incident}/misp.json",
        f"/incidents/{s.incident}/stix.json",
        f"/takedown/open?incident={s.incident}",
        f"/takedown/open?post={s.leak_post}",
        f"/takedown/open?post={s.repost}",
    ]


@pytest.mark.parametrize("role", list(RANK))
def test_incident_page_links_downloads_and_takedown_for_responders_only(seeded: Seeded, role: str) -> None:
    responder = RANK[role] >= RANK["responder"]
    with client() as http:
        sign_in(http, role)
        page = http.get(f"/incidents/{seeded.incident}").text
        for link in _incident_links(seeded):
            assert (f'href="{link}"' in page) == responder, (role, link)
            if responder:  # each link leads somewhere that answers (and is audited where it is a download)
                assert http.get(link).status_code == 200, (role, link)
        assert ("영향 대상자 내보내기 (XLSX)" in page) == responder  # Korean labels by default
        _no_secrets(page)


def test_export_is_audited_with_the_user_and_names_no_identifier(cli_db: Db, seeded: Seeded) -> None:
    with client() as http:
        sign_in(http, "viewer")
        assert http.get(f"/incidents/{seeded.incident}/affected.csv").status_code == 403
    with client() as http:
        sign_in(http, "responder")
        response = http.get(f"/incidents/{seeded.incident}/affected.csv")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="affected-incident-{seeded.incident}.csv"'
    body = response.content.decode("utf-8-sig")
    assert "cust-001" in body
    _no_secrets(body)
    exports = [row for row in audit_rows(cli_db) if row[1] == "export_affected"]
    assert exports == [("responder", "export_affected", f"incident {seeded.incident}")]


def _labels(db: Db, hit_id: int) -> list[tuple[str, str]]:
    with db.sessions() as session:
        return [(label.label, label.actor) for label in session.query(HitLabel).filter(HitLabel.hit_id == hit_id)]


def test_cross_site_and_tokenless_posts_are_refused(cli_db: Db, seeded: Seeded) -> None:
    with client() as http:
        csrf = sign_in(http, "analyst")
        form = {"hit": str(seeded.hit), "label": "confirmed", "csrf": csrf}
        evil = http.post("/hits/label", data=form, headers={"Origin": "https://evil.example"})
        assert evil.status_code == 403
        fetch_site = http.post("/hits/label", data=form, headers={"Sec-Fetch-Site": "cross-site"})
        assert fetch_site.status_code == 403
        tokenless = http.post("/hits/label", data={k: v for k, v in form.items() if k != "csrf"})
        assert tokenless.status_code == 403
        wrong = http.post("/hits/label", data={**form, "csrf": "x" * 43})
        assert wrong.status_code == 403
        assert _labels(cli_db, seeded.hit) == []
        same = http.post("/hits/label", data=form, headers={"Origin": "https://testserver"})
        assert same.status_code == 303
    assert _labels(cli_db, seeded.hit) == [("confirmed", "analyst")]
    assert ("analyst", "label_hit", f"hit {seeded.hit}") in audit_rows(cli_db)


def test_labelling_moves_the_incident_count(cli_db: Db, seeded: Seeded) -> None:
    """Labelling every hit of one subject as test data takes that subject out of the incident's count."""
    with client() as http:
        csrf = sign_in(http, "analyst")
        page = http.get(f"/hits?incident={seeded.incident}&status=unlabelled")
        assert page.status_code == 200
        _no_secrets(page.text)
        assert "010-****-5432" in page.text
        with cli_db.engine.connect() as connection:
            before = connection.execute(
                text("SELECT subject_count FROM incidents WHERE id = :i"), {"i": seeded.incident}
            ).scalar_one()
            hit_ids = [
                row[0]
                for row in connection.execute(
                    text(
                        "SELECT h.id FROM hits h JOIN subjects s ON s.id = h.subject_id"
                        " WHERE s.subject_ref = 'cust-004'"
                    )
                )
            ]
        form = {"csrf": csrf, "label": "test_data", "note": "seeded", "hit": [str(h) for h in hit_ids]}
        assert http.post("/hits/label", data=form).status_code == 303
    with cli_db.engine.connect() as connection:
        after = connection.execute(
            text("SELECT subject_count FROM incidents WHERE id = :i"), {"i": seeded.incident}
        ).scalar_one()
    assert after == before - 1
    assert [r for r in audit_rows(cli_db) if r[1] == "label_hit"] == [
        ("analyst", "label_hit", f"hit {h}") for h in hit_ids
    ]


def test_hits_page_in_keyset_pages(cli_db: Db, seeded: Seeded) -> None:
    from leakmon.web import pages

    with client() as http:
        sign_in(http, "analyst")
        old = pages.HIT_PAGE
        pages.HIT_PAGE = 5
        try:
            first = http.get("/hits")
            assert first.status_code == 200
            assert 'id="next-page"' in first.text
            next_url = first.text.split('id="next-page" href="')[1].split('"')[0].replace("&amp;", "&")
            second = http.get(next_url)
        finally:
            pages.HIT_PAGE = old
    ids_first = [int(x.split('"')[0]) for x in first.text.split('data-hit="')[1:]]
    ids_second = [int(x.split('"')[0]) for x in second.text.split('data-hit="')[1:]]
    assert len(ids_first) == 5
    assert ids_second
    assert min(ids_second) > max(ids_first)
    assert [r[1] for r in audit_rows(cli_db)].count("list_hits") == 2


def test_takedown_moves_only_where_the_cli_allows(cli_db: Db, seeded: Seeded) -> None:
    with cli_db.sessions.begin() as session:
        case, _ = open_case(session, seeded.leak_post, actor="tester")
        case_id = case.id
    with client() as http:
        csrf = sign_in(http, "responder")
        moved = http.post(f"/takedown/{case_id}/state", data={"csrf": csrf, "state": "requested"})
        assert moved.status_code == 303
        illegal = http.post(f"/takedown/{case_id}/state", data={"csrf": csrf, "state": "open"})
        assert illegal.status_code == 400
        assert "can move to" in illegal.text
    with cli_db.engine.connect() as connection:
        state = connection.execute(text("SELECT state FROM takedown_cases WHERE id = :i"), {"i": case_id}).scalar_one()
    assert state == "requested"
    assert ("responder", "takedown_state", f"case {case_id}") in audit_rows(cli_db)


def test_login_rate_limit(cli_db: Db, seeded: Seeded) -> None:
    with client() as http:
        for _ in range(5):
            form = http.get("/login")
            response = http.post("/login", data={"name": "admin", "password": "wrong", "csrf": csrf_of(form.text)})
            assert response.status_code == 401
        form = http.get("/login")
        blocked = http.post("/login", data={"name": "admin", "password": PASSWORD, "csrf": csrf_of(form.text)})
        assert blocked.status_code == 429
        assert "session" not in "".join(http.cookies.keys()).replace("leakmon_login", "")
    failed = [r for r in audit_rows(cli_db) if r[1] == "web_login_failed"]
    assert len(failed) == 5


def test_login_needs_its_form_token(seeded: Seeded) -> None:
    with client() as http:
        refused = http.post("/login", data={"name": "admin", "password": PASSWORD, "csrf": "forged"})
        assert refused.status_code == 403


def test_cookies_and_security_headers(seeded: Seeded) -> None:
    with client() as http:
        form = http.get("/login")
        assert form.headers["content-security-policy"] == CSP
        assert "frame-ancestors 'none'" in CSP
        assert "unsafe-inline" not in CSP
        assert form.headers["x-frame-options"] == "DENY"
        signed = http.post("/login", data={"name": "viewer", "password": PASSWORD, "csrf": csrf_of(form.text)})
        cookie = signed.headers["set-cookie"].lower()
        assert "leakmon_session=" in cookie
        assert "httponly" in cookie
        assert "secure" in cookie
        assert "samesite=strict" in cookie
        assert "<script" not in http.get("/incidents").text


def test_expired_and_disabled_sessions_end(cli_db: Db, seeded: Seeded) -> None:
    with client() as http:
        sign_in(http, "viewer")
        with cli_db.sessions.begin() as session:
            session.execute(update(WebSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        assert http.get("/incidents").status_code == 303
    with client() as http:
        sign_in(http, "analyst")
        from leakmon.web import accounts

        with cli_db.sessions.begin() as session:
            accounts.set_disabled(session, "analyst")
        assert http.get("/incidents").status_code == 303


def test_korean_by_default_english_selectable(seeded: Seeded) -> None:
    with client() as http:
        sign_in(http, "viewer")
        korean = http.get("/incidents").text
        assert "<h1>사고</h1>" in korean
        assert "주민등록번호" in korean
        assert http.get("/lang/en?next=/incidents").status_code == 303
        assert "<h1>Incidents</h1>" in http.get("/incidents").text
        assert http.get("/lang/en?next=//evil.example").status_code == 400
