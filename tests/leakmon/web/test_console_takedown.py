"""The console's takedown pages: open a case from a post, move it, drafts and the evidence bundle."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from sqlalchemy import text

from tests.leakmon.commands.seed import Seeded, seed
from tests.leakmon.web.console import add_users, audit_rows, client, sign_in
from tests.leakmon.workflows.world import SECRET_VALUES, Db


@pytest.fixture
def seeded(cli_db: Db) -> Seeded:
    s = seed(cli_db)
    add_users(cli_db)
    return s


def _no_secrets(body: str) -> None:
    for secret in SECRET_VALUES:
        assert secret not in body


def _state(db: Db, case_id: int) -> str:
    with db.engine.connect() as connection:
        return str(connection.execute(text("SELECT state FROM takedown_cases WHERE id = :i"), {"i": case_id}).one()[0])


def test_open_move_draft_and_bundle_audited_with_the_user(cli_db: Db, seeded: Seeded) -> None:
    with client() as http:
        csrf = sign_in(http, "responder")
        chooser = http.get(f"/takedown/open?incident={seeded.incident}")
        assert chooser.status_code == 200
        assert f'data-post="{seeded.leak_post}"' in chooser.text
        assert f'data-post="{seeded.repost}"' in chooser.text
        opened = http.post("/takedown/open", data={"csrf": csrf, "post": str(seeded.leak_post), "scope": "post"})
        assert opened.status_code == 303
        case_id = int(opened.headers["location"].rsplit("/", 1)[1])
        again = http.post("/takedown/open", data={"csrf": csrf, "post": str(seeded.leak_post), "scope": "post"})
        assert again.headers["location"] == f"/takedown/{case_id}"  # an active case is reused
        page = http.get(f"/takedown/{case_id}")
        assert page.status_code == 200
        assert 'id="case-state">열림<' in page.text
        assert f'href="/takedown/{case_id}/draft/kisa"' in page.text
        _no_secrets(page.text)

        form = {"csrf": csrf, "state": "requested", "note": "sent to KISA", "back": f"/takedown/{case_id}"}
        moved = http.post(f"/takedown/{case_id}/state", data=form)
        assert (moved.status_code, moved.headers["location"]) == (303, f"/takedown/{case_id}")
        offsite = http.post(f"/takedown/{case_id}/state", data={**form, "state": "refused", "back": "//evil.example"})
        assert offsite.headers["location"] == "/takedown"
        illegal = http.post(f"/takedown/{case_id}/state", data={**form, "state": "open"})
        assert illegal.status_code == 400
        assert _state(cli_db, case_id) == "refused"
        history = http.get(f"/takedown/{case_id}").text
        assert "sent to KISA" in history
        assert history.count("<td>responder</td>") == 3  # opened, requested, refused

        kisa = http.get(f"/takedown/{case_id}/draft/kisa")
        assert kisa.status_code == 200
        assert "jebo@pirst.kr" in kisa.text
        _no_secrets(kisa.text)
        assert http.get(f"/takedown/{case_id}/draft/nobody").status_code == 400

        bundle = http.get(f"/takedown/{case_id}/evidence.zip")
        assert bundle.status_code == 200
        assert bundle.headers["content-type"] == "application/zip"
        assert bundle.headers["content-disposition"] == f'attachment; filename="takedown-case-{case_id}-evidence.zip"'
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        names = set(archive.namelist())
        contents = {name: archive.read(name).decode("utf-8-sig") for name in names}
    assert names == {
        "draft-telegram.txt", "draft-kisa.txt", "draft-host-kr.txt", "draft-host.txt", "history.csv", "manifest.json",
    }  # fmt: skip
    for body in contents.values():
        _no_secrets(body)
    manifest = json.loads(contents["manifest.json"])
    assert (manifest["case"], manifest["state"], manifest["made_by"]) == (case_id, "refused", "responder")
    assert set(manifest["sha256"]) == names - {"manifest.json"}
    moves = [row["to_state"] for row in csv.DictReader(io.StringIO(contents["history.csv"]))]
    assert moves == ["open", "requested", "refused"]
    mine = [row for row in audit_rows(cli_db) if row[0] == "responder" and row[1] != "web_login"]
    assert mine == [
        ("responder", "takedown_open", f"post {seeded.leak_post}"),
        ("responder", "takedown_open", f"post {seeded.leak_post}"),
        ("responder", "takedown_state", f"case {case_id}"),
        ("responder", "takedown_state", f"case {case_id}"),
        ("responder", "draft_takedown", f"case {case_id}"),
        ("responder", "takedown_bundle", f"case {case_id}"),
    ]


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_below_responder_cannot_see_or_act_on_cases(cli_db: Db, seeded: Seeded, role: str) -> None:
    from leakmon.workflows.takedown import open_case

    with cli_db.sessions.begin() as session:
        case_id = open_case(session, seeded.leak_post, actor="tester")[0].id
    with client() as http:
        csrf = sign_in(http, role)
        for path in (
            "/takedown",
            f"/takedown/{case_id}",
            f"/takedown/open?post={seeded.leak_post}",
            f"/takedown/{case_id}/draft/telegram",
            f"/takedown/{case_id}/evidence.zip",
        ):
            assert http.get(path).status_code == 403, path
        assert http.post("/takedown/open", data={"csrf": csrf, "post": str(seeded.repost)}).status_code == 403
        moved = http.post(f"/takedown/{case_id}/state", data={"csrf": csrf, "state": "requested"})
        assert moved.status_code == 403
    assert _state(cli_db, case_id) == "open"
    assert not [row for row in audit_rows(cli_db) if row[0] == role and "takedown" in row[1]]


def test_opening_needs_same_origin_and_token(cli_db: Db, seeded: Seeded) -> None:
    with client() as http:
        csrf = sign_in(http, "responder")
        form = {"csrf": csrf, "post": str(seeded.leak_post), "scope": "channel"}
        assert http.post("/takedown/open", data=form, headers={"Origin": "https://evil.example"}).status_code == 403
        assert http.post("/takedown/open", data={**form, "csrf": "forged"}).status_code == 403
        assert http.post("/takedown/open", data={**form, "post": "x"}).status_code == 400
        assert http.post("/takedown/open", data={**form, "post": "999999"}).status_code == 404
    with cli_db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM takedown_cases")).scalar_one() == 0
