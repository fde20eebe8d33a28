"""`leakmon findings`: what runs skipped, capped or failed on (the per-source health record)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leakmon.choices import Format, FormatOption
from leakmon.output import write_records
from leakmon.workflows.cli_support import open_app, parse_since
from storage.repositories.runs import list_findings

COLUMNS = ["finding_id", "created_at", "source", "run_id", "post_id", "kind", "locator", "reason"]


def findings(
    source: Annotated[
        str | None, typer.Option("--source", help="Only this source (a web source or telegram:CHAT).")
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only this kind, e.g. connection_error, http_error.")
    ] = None,
    run: Annotated[int | None, typer.Option("--run", help="Only findings of this run id.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Recorded since: 7d, 24h or an ISO date.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many (newest first).")] = None,
    fmt: FormatOption = Format.TABLE,
    output: Annotated[Path | None, typer.Option("--output", help="Write here instead of stdout.")] = None,
) -> None:
    """List findings (skips, caps, errors) recorded by runs, newest first."""
    start = parse_since(since) if since else None
    app = open_app()
    with app.sessions() as session:
        rows: list[dict[str, object]] = [
            {
                "finding_id": f.id,
                "created_at": f.created_at,
                "source": f.source,
                "run_id": f.run_id,
                "post_id": f.post_id,
                "kind": f.kind,
                "locator": f.locator,
                "reason": f.reason,
            }
            for f in list_findings(session, source=source, kind=kind, run_id=run, since=start, limit=limit)
        ]
    app.close()
    write_records(rows, fmt=fmt, columns=COLUMNS, output=str(output) if output else None, title="findings")


def register(app: typer.Typer) -> None:
    app.command("findings")(findings)
