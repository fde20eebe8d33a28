"""The console's exports: affected subjects (CSV, XLSX), MISP and STIX; audited, responder only, opaque."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from tests.leakmon.commands.seed import Seeded, seed
from tests.leakmon.web.console import add_users, audit_rows, client, sign_in
from tests.leakmon.workflows.world import SECRET_VALUES, Db


@pytest.fixture
def seeded(cli_db: Db) -> Seeded:
    s = seed(cli_db)
    add_users(cli_db)
    return s


def _paths(incident: int) -> dict[str, str]:
    return {
        "csv": f"/incidents/{incident}/affected.csv",
        "xlsx": f"/incidents/{incident}/affected.xlsx",
        "misp": f"/incidents/{incident}/misp.json",
        "stix": f"/incidents/{incident}/stix.json",
    }


def _text_of(fmt: str, content: bytes) -> str:
    """Everything a download says, as text (an XLSX is a ZIP of XML parts: all of them)."""
    if fmt == "xlsx":
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            return "\n".join(book.read(name).decode("utf-8") for name in book.namelist())
    return content.decode("utf-8-sig")


def test_every_download_is_audited_and_names_no_identifier(cli_db: Db, seeded: Seeded) -> None:
    with client() as http:
        sign_in(http, "responder")
        listing = http.get("/exports")
        assert listing.status_code == 200
        for path in _paths(seeded.incident).values():
            assert f'href="{path}"' in listing.text
        bodies = {}
        for fmt, path in _paths(seeded.incident).items():
            response = http.get(path)
            assert response.status_code == 200, (fmt, response.text)
            assert response.headers["content-disposition"].startswith("attachment; filename=")
            bodies[fmt] = _text_of(fmt, response.content)
        assert http.get(f"/incidents/{seeded.incident}/affected.jsonl").status_code == 404
        assert http.get(f"/incidents/{seeded.incident}/openioc.json").status_code == 404
        assert http.get("/incidents/999999/affected.xlsx").status_code == 404
    for fmt, body in bodies.items():
        for secret in SECRET_VALUES:
            assert secret not in body, fmt
    assert "cust-001" in bodies["csv"]
    assert "cust-001" in bodies["xlsx"]
    assert "cust-" not in bodies["misp"] + bodies["stix"]  # sharing names no subject at all
    assert json.loads(bodies["stix"])["type"] == "bundle"
    assert json.loads(bodies["misp"])["info"].startswith(f"leakmon incident {seeded.incident}")
    target = f"incident {seeded.incident}"
    exports = [row for row in audit_rows(cli_db) if row[1].startswith("export_")]
    assert exports == [
        ("responder", "export_affected", target),
        ("responder", "export_affected", target),
        ("responder", "export_incident", target),
        ("responder", "export_incident", target),
    ]
    spool = Path(os.environ["LEAKMON_HOME"]) / "spool"
    assert not spool.exists() or not list(spool.iterdir()), "spool files are removed once sent"


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_viewer_and_analyst_are_refused_every_export(cli_db: Db, seeded: Seeded, role: str) -> None:
    with client() as http:
        sign_in(http, role)
        assert http.get("/exports").status_code == 403
        for fmt, path in _paths(seeded.incident).items():
            response = http.get(path)
            assert response.status_code == 403, fmt
            assert "content-disposition" not in response.headers
    assert not [row for row in audit_rows(cli_db) if row[1].startswith("export_")]
