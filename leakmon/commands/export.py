"""`leakmon export`: victim-notification lists and incident sharing (MISP, STIX), always audited."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from leakmon.choices import ExportFormat, ShareFormat
from leakmon.errors import InputError
from leakmon.output import LogFormatOption, ProgressFormat, err_console
from leakmon.workflows import audit
from leakmon.workflows.affected import select_incidents, write_affected
from leakmon.workflows.cli_support import open_app, parse_since
from leakmon.workflows.incidents import get_incident
from storage.db import read_snapshot

export_app = typer.Typer(help="Exports: affected subjects for notification, incidents for sharing.")
ActorOption = Annotated[str | None, typer.Option("--actor", help="Who is exporting (default: the OS user).")]


@export_app.command("affected")
def affected(
    incident: Annotated[int | None, typer.Argument(help="Incident id (or use --all / --since).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every incident.")] = False,
    since: Annotated[str | None, typer.Option("--since", help="Incidents seen since: 7d or an ISO date.")] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv, xlsx or jsonl.")] = ExportFormat.CSV,
    output: Annotated[Path | None, typer.Option("--output", help="Write here (required for xlsx).")] = None,
    actor: ActorOption = None,
    log_format: LogFormatOption = ProgressFormat.TEXT,
) -> None:
    """Affected subjects per incident, sorted by subject_ref: identifier types, co-occurring items,
    match strength, first/last seen, venues. Never identifier values; formula-safe (CSV cells quoted,
    XLSX string cells). Rows are delivered once the export is audited."""
    if (incident is not None) + all_ + (since is not None) != 1:
        raise InputError("name one incident, or --all, or --since")
    if fmt == ExportFormat.XLSX and output is None:
        raise InputError("xlsx needs --output FILE")  # before the audit entry: nothing will be written
    start = parse_since(since) if since else None
    app = open_app()
    target = f"incident {incident}" if incident is not None else ("all" if all_ else f"since {start:%Y-%m-%d %H:%M}")
    with _staged(app.settings.home, fmt, output) as staged:
        # One consistent snapshot that holds no write lock: a scan or scheduled job stores its hits
        # while a long export reads (SQLite: a deferred read in WAL mode, see read_snapshot).
        with read_snapshot(app.sessions) as session:
            if incident is not None:
                get_incident(session, incident)
            chosen = select_incidents(session, incident_id=incident, since=start)
            from leakmon.progress import Ticker

            with Ticker("export affected", None, "rows", log_json=log_format is ProgressFormat.JSON) as progress:
                count = write_affected(session, chosen, fmt, staged, advance=progress.advance)
            incidents = len(chosen)
        # Audited (and committed) before the rows reach their destination: an export whose audit
        # entry cannot be stored (read-only or full workspace) delivers nothing. The rows were
        # staged, not held, so the count is the one written and no second pass counts them.
        with app.sessions.begin() as session:
            audit.record(
                session,
                "export_affected",
                target,
                rows=count,
                actor=actor,
                details={"format": fmt, "output": str(output or "stdout"), "incidents": incidents},
            )
        _deliver(staged, output)
    app.close()
    err_console.print(f"{count} affected subject row(s) from {incidents} incident(s)", markup=False)


@contextmanager
def _staged(home: Path, fmt: str, output: Path | None) -> Iterator[Path]:
    """Where the rows are written before the audit: a hidden file beside ``output`` (renamed into
    place), or a private spool file for stdout (copied out); removed if the export fails."""
    if output is not None:
        staged = output.with_name(f".{output.name}.{os.getpid()}.partial")
        try:
            yield staged
        finally:
            staged.unlink(missing_ok=True)
        return
    from crawlers import spool

    spool.configure_writable(home / "spool")
    with spool.spooled("export") as folder:
        yield folder / f"affected.{fmt}"


def _deliver(staged: Path, output: Path | None) -> None:
    if output is not None:
        staged.replace(output)
        return
    sys.stdout.flush()
    with staged.open("r", encoding="utf-8-sig", newline="") as rows:  # the BOM is for files only
        shutil.copyfileobj(rows, sys.stdout)
    sys.stdout.flush()


@export_app.command("incident")
def incident_(
    incident: Annotated[int, typer.Argument(help="Incident id.")],
    fmt: Annotated[ShareFormat, typer.Option("--format", help="stix or misp.")] = ShareFormat.STIX,
    output: Annotated[Path | None, typer.Option("--output", help="Write here instead of stdout.")] = None,
    actor: ActorOption = None,
) -> None:
    """An incident as a MISP event or a STIX 2.1 bundle: categories and counts, never values or digests."""
    app = open_app()
    with app.sessions.begin() as session:
        from leakmon.workflows import sharing  # pymisp and stix2 load slowly: only for this command

        text = sharing.render(session, get_incident(session, incident), fmt)
        audit.record(session, "export_incident", f"incident {incident}", rows=1, actor=actor, details={"format": fmt})
    app.close()
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
