"""`leakmon web`: the analyst console (sign in with `leakmon users` accounts)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from leakmon.errors import InputError
from leakmon.output import err_console
from leakmon.workflows.cli_support import open_app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def web(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8765,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="TLS certificate (PEM) to serve HTTPS.")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="Private key (PEM) of --tls-cert.")] = None,
    insecure_bind: Annotated[
        bool, typer.Option("--insecure-bind", help="Allow plain HTTP on a non-loopback address (warns).")
    ] = False,
    session_hours: Annotated[
        float, typer.Option("--session-hours", min=0.1, max=24.0, help="A session ends this long after sign-in.")
    ] = 8.0,
) -> None:
    """Serve the console: incidents, hits and triage, takedown cases, exports, sources (Korean/English)."""
    if (tls_cert is None) != (tls_key is None):
        raise InputError("--tls-cert and --tls-key go together")
    tls = tls_cert is not None
    if not is_loopback(host) and not tls and not insecure_bind:
        raise InputError(f"{host} is not a loopback address: serve it with --tls-cert/--tls-key or add --insecure-bind")
    if not is_loopback(host) and not tls:
        err_console.print(
            f"WARNING: serving the console over plain HTTP on {host}: passwords and session cookies cross the "
            "network unencrypted",
            style="bold red",
            markup=False,
        )
    import uvicorn

    from leakmon.web.app import create_app

    app = open_app()
    console = create_app(app, secure_cookies=tls or is_loopback(host), session_hours=session_hours)
    scheme = "https" if tls else "http"
    err_console.print(f"leakmon console on {scheme}://{host}:{port}/", markup=False)
    try:
        uvicorn.run(
            console,
            host=host,
            port=port,
            ssl_certfile=str(tls_cert) if tls_cert else None,
            ssl_keyfile=str(tls_key) if tls_key else None,
            log_level="warning",
            server_header=False,
        )
    finally:
        app.close()


def register(app: typer.Typer) -> None:
    app.command("web")(web)
