"""`leakmon audit`: verify the hash chain of the audit log, list recent entries."""

from __future__ import annotations

from typing import Annotated

import typer

from leakmon.output import console, err_console
from leakmon.workflows import audit as audit_log
from leakmon.workflows.cli_support import open_app
from storage.repositories.cases_audit import list_entries

audit_app = typer.Typer(help="The append-only, hash-chained audit log of exports and evidence views.")


@audit_app.command("verify")
def verify() -> None:
    """Recompute the chain; exit 1 and name the first bad entry when it does not hold."""
    app = open_app()
    with app.sessions() as session:
        check = audit_log.verify(session)
    app.close()
    if not check.ok:
        err_console.print(
            f"audit log BROKEN at entry {check.bad_seq} (id {check.bad_id}): {check.reason}; "
            f"{check.entries} entries before it verify",
            markup=False,
        )
        raise typer.Exit(1)
    console.print(f"audit log OK: {check.entries} entries, head {check.head_hash}", markup=False)


@audit_app.command("list")
def list_(limit: Annotated[int, typer.Option("--limit", min=1, help="Newest entries to show.")] = 20) -> None:
    """Show the newest entries (who, when, what, how many rows)."""
    app = open_app()
    with app.sessions() as session:
        lines = [
            f"{e.seq:>6}  {e.at:%Y-%m-%d %H:%M:%S} UTC  {e.actor:<12} {e.action:<16} {e.target}  rows={e.rows}"
            for e in list_entries(session, limit=limit)
        ]
    app.close()
    for line in lines:
        console.print(line, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
