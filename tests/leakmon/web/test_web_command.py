"""`leakmon web`: a non-loopback bind needs TLS settings or --insecure-bind (which warns)."""

from __future__ import annotations

from typing import Any

import pytest

from leakmon.commands.web import is_loopback
from tests.leakmon.cli import run_cli
from tests.leakmon.workflows.world import Db

CaptureFixture = pytest.CaptureFixture[str]
ANY = "0.0.0.0"  # noqa: S104 - the point: a bind on every interface


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """uvicorn.run replaced: what the command would have served, never a socket."""
    import uvicorn

    calls: list[dict[str, Any]] = []

    def run(app: Any, **options: Any) -> None:
        calls.append({"secure_cookies": app.state.console.secure_cookies, **options})

    monkeypatch.setattr(uvicorn, "run", run)
    return calls


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("localhost", True),
        (ANY, False),
        ("::", False),
        ("192.0.2.10", False),
        ("console.example", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("host", [ANY, "::", "192.0.2.10", "console.example"])
def test_a_non_loopback_bind_without_tls_is_refused(
    cli_db: Db, capsys: CaptureFixture, served: list[dict[str, Any]], host: str
) -> None:
    refused = run_cli(capsys, "web", "--host", host)
    assert refused.code == 2
    assert "is not a loopback address" in refused.err
    assert "--insecure-bind" in refused.err
    assert served == []


def test_half_a_tls_pair_is_refused(cli_db: Db, capsys: CaptureFixture, served: list[dict[str, Any]]) -> None:
    refused = run_cli(capsys, "web", "--host", ANY, "--tls-cert", "cert.pem")
    assert refused.code == 2
    assert "--tls-cert and --tls-key go together" in refused.err
    assert served == []


def test_insecure_bind_serves_plain_http_with_a_warning_and_no_secure_cookie(
    cli_db: Db, capsys: CaptureFixture, served: list[dict[str, Any]]
) -> None:
    done = run_cli(capsys, "web", "--host", ANY, "--port", "9000", "--insecure-bind")
    assert done.code == 0, done.err
    assert f"WARNING: serving the console over plain HTTP on {ANY}" in done.err
    (call,) = served
    assert (call["host"], call["port"], call["ssl_certfile"], call["secure_cookies"]) == (ANY, 9000, None, False)


def test_tls_serves_https_without_a_warning(cli_db: Db, capsys: CaptureFixture, served: list[dict[str, Any]]) -> None:
    done = run_cli(capsys, "web", "--host", ANY, "--tls-cert", "cert.pem", "--tls-key", "key.pem")
    assert done.code == 0, done.err
    assert "WARNING" not in done.err
    assert f"https://{ANY}:8765/" in done.err
    (call,) = served
    assert (call["ssl_certfile"], call["ssl_keyfile"], call["secure_cookies"]) == ("cert.pem", "key.pem", True)


def test_loopback_by_default(cli_db: Db, capsys: CaptureFixture, served: list[dict[str, Any]]) -> None:
    done = run_cli(capsys, "web")
    assert done.code == 0, done.err
    assert "WARNING" not in done.err
    (call,) = served
    assert (call["host"], call["port"], call["secure_cookies"]) == ("127.0.0.1", 8765, True)
