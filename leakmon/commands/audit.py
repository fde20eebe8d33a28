"""`leakmon audit`: verify the hash chain of the audit log, list recent entries."""

from __future__ import annotations

from typing import Annotated

import typer

from leakmon.output import console, err_console
from leakmon.workflows import audit as audit_log
from leakmon.workflows.audit_anchor import read_anchor
from leakmon.workflows.cli_support import open_app
from storage.repositories.cases_audit import list_entries

audit_app = typer.Typer(help="The append-only, hash-chained audit log of exports and evidence views.")


@audit_app.command("verify")
def verify(
    head: Annotated[
        bool, typer.Option("--head", help="Also print the anchored head (count and hash) to record elsewhere.")
    ] = False,
) -> None:
    """Recompute the keyed chain and check it against its anchor; exit 1 and name the first bad entry.

    Detects edited, deleted (also the newest or all of them) and recomputed entries.
    """
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
    if head:
        anchor = read_anchor(audit_log.current_key().anchor)
        shown = f"{anchor.count} {anchor.head}" if anchor is not None else "none yet"
        console.print(f"head: {check.entries} {check.head_hash}", markup=False)
        console.print(f"anchor: {shown} (record these two values outside this machine)", markup=False)


@audit_app.command("anchor")
def anchor(actor: Annotated[str | None, typer.Option("--actor", help="Who is anchoring.")] = None) -> None:
    """Upgrade a chain from before anchoring: check it, append a keyed entry and write the anchor file."""
    app = open_app()
    with app.sessions.begin() as session:
        check = audit_log.anchor_now(session, actor=actor)
    app.close()
    if not check.ok:
        err_console.print(f"audit log BROKEN at entry {check.bad_seq}: {check.reason}; not anchored", markup=False)
        raise typer.Exit(1)
    console.print(f"anchored: {check.entries} entries, head {check.head_hash}", markup=False)


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
