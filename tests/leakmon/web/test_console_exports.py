"""The console's exports: affected subjects (CSV, XLSX), MISP and STIX; audited, responder only, opaque."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from leakmon.web import pages_exports
from leakmon.workflows import affected
from tests.leakmon.cli import run_cli
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


def test_an_abandoned_download_leaves_no_spool_file(cli_db: Db) -> None:
    """The browser goes away mid-download (ASGI 2.4: the server's send fails): the spool is deleted
    at once; one a lost response never sent is swept at the next download; a killed console's at start."""
    import anyio

    from crawlers import spool
    from leakmon.app import App
    from leakmon.web import pages_exports
    from leakmon.web.app import create_app

    root = Path(os.environ["LEAKMON_HOME"]) / "spool"
    spool.configure(root)
    folder = spool.create("export")
    pages_exports._spools[folder] = 0.0
    (folder / "affected.csv").write_bytes(b"x" * (3 * pages_exports.SpooledFileResponse.chunk_size))
    sent: list[str] = []

    async def gone(message: Any) -> None:
        sent.append(message["type"])
        if message["type"] == "http.response.body":
            raise OSError("client disconnected")

    async def receive() -> Any:
        await anyio.sleep(60)

    scope = {"type": "http", "method": "GET", "headers": [], "asgi": {"spec_version": "2.4"}}
    response = pages_exports.SpooledFileResponse(folder / "affected.csv", folder, media_type="text/csv")
    with pytest.raises(OSError, match="client disconnected"):
        anyio.run(response, scope, receive, gone)
    assert sent == ["http.response.start", "http.response.body"]
    assert not folder.exists()
    assert folder not in pages_exports._spools

    lost = spool.create("export")  # a response built but never sent (its request was dropped)
    pages_exports._spools[lost] = 100.0
    assert pages_exports.sweep_spools(now=100.0 + pages_exports.ABANDONED_SECONDS - 1) == []
    assert pages_exports.sweep_spools(now=100.0 + pages_exports.ABANDONED_SECONDS) == [lost]
    assert not lost.exists()

    killed = root / "export-killed"  # a console killed mid-download: its lock file is free
    killed.mkdir()
    (killed / "affected.csv").write_bytes(b"x")
    create_app(App())
    assert not killed.exists()


def test_a_download_sweeps_older_abandoned_spools(cli_db: Db, seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    from crawlers import spool
    from leakmon.web import pages_exports

    spool.configure(Path(os.environ["LEAKMON_HOME"]) / "spool")
    old = spool.create("export")
    pages_exports._spools[old] = -pages_exports.ABANDONED_SECONDS  # made long before this process's clock
    monkeypatch.setattr(pages_exports.time, "monotonic", lambda: 10.0)
    with client() as http:
        sign_in(http, "responder")
        assert http.get(_paths(seeded.incident)["csv"]).status_code == 200
    assert not old.exists()
    assert pages_exports._spools == {}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_download_is_what_the_cli_exports(
    cli_db: Db,
    seeded: Seeded,
    fmt: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The console writes an incident's affected subjects with the CLI's bulk writer: the bytes of
    `leakmon export affected` (every member of the XLSX package), never a row object per subject."""
    with client() as http:
        sign_in(http, "responder")
        with monkeypatch.context() as patched:

            def refused(*_args: object) -> None:
                raise AssertionError("the row-by-row path")

            patched.setattr(pages_exports, "affected_rows", refused, raising=False)
            patched.setattr(affected, "affected_rows", refused)
            response = http.get(f"/incidents/{seeded.incident}/affected.{fmt}")
        assert response.status_code == 200, response.text
    web = tmp_path / f"web.{fmt}"
    web.write_bytes(response.content)
    cli = tmp_path / f"cli.{fmt}"
    result = run_cli(capsys, "export", "affected", str(seeded.incident), "--format", fmt, "--output", str(cli))
    assert result.code == 0, result.err
    assert _members(web) == _members(cli)
    assert "cust-001" in _text_of(fmt, response.content)


def _members(path: Path) -> dict[str, bytes]:
    """The file's bytes, and for an XLSX package every member's, uncompressed."""
    if path.suffix != ".xlsx":
        return {"": path.read_bytes()}
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()}
