"""`leakmon incidents`: incidents with their legal clock; show, flag and deliver alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leakmon.choices import Format, FormatOption
from leakmon.output import console, err_console, write_records
from leakmon.workflows import audit
from leakmon.workflows.alerts import alert_settings, deliver_pending, describe
from leakmon.workflows.cli_support import describe_left, open_app
from leakmon.workflows.incidents import get_incident, set_flags
from leakmon.workflows.legal import time_left
from storage.models.cases import Incident
from storage.repositories.cases import incident_posts, list_incidents

incidents_app = typer.Typer(help="Incidents: one leak across venues, with its 72-hour clock.")

COLUMNS = [
    "incident_id",
    "status",
    "subjects",
    "posts",
    "id_types",
    "confidence",
    "first_seen",
    "last_seen",
    "awareness_at",
    "notify_deadline",
    "time_left",
    "report_required",
    "report_reasons",
]


def _row(incident: Incident) -> dict[str, object]:
    return {
        "incident_id": incident.id,
        "status": incident.status,
        "subjects": incident.subject_count,
        "posts": incident.post_count,
        "id_types": incident.id_types,
        "confidence": round(incident.confidence, 2),
        "first_seen": incident.first_seen,
        "last_seen": incident.last_seen,
        "awareness_at": incident.awareness_at,
        "notify_deadline": incident.notify_deadline,
        "time_left": describe_left(time_left(incident)),
        "report_required": incident.report_required,
        "report_reasons": incident.report_reasons,
    }


@incidents_app.callback(invoke_without_command=True)
def incidents(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include closed incidents.")] = False,
    fmt: FormatOption = Format.TABLE,
    output: Annotated[Path | None, typer.Option("--output", help="Write here instead of stdout.")] = None,
) -> None:
    """List incidents with time left to notify; overdue ones stand out."""
    if ctx.invoked_subcommand is not None:
        return
    app = open_app()
    with app.sessions() as session:
        rows = [_row(i) for i in list_incidents(session, include_closed=all_)]
    app.close()
    if fmt != "table" or output is not None:
        write_records(rows, fmt=fmt, columns=COLUMNS, output=str(output) if output else None)
        return
    if not console.is_terminal:  # a pipe or a log: full-width plain rows, never cells folded at 80 columns
        write_records(rows, fmt=fmt, columns=COLUMNS, title="incidents")
        _warn_overdue(rows)
        return
    table = Table(title="incidents")
    for column in ("id", "subjects", "posts", "types", "conf", "awareness", "deadline (UTC)", "time left", "report"):
        table.add_column(column, overflow="fold", no_wrap=column in ("deadline (UTC)", "time left"))
    for row in rows:
        overdue = str(row["time_left"]).startswith("OVERDUE")
        deadline = row["notify_deadline"]
        table.add_row(
            str(row["incident_id"]),
            str(row["subjects"]),
            str(row["posts"]),
            str(row["id_types"]),
            f"{row['confidence']:.2f}",
            "yes" if row["awareness_at"] else "not yet",
            deadline.strftime("%Y-%m-%d %H:%M") if deadline else "-",  # type: ignore[attr-defined]
            str(row["time_left"]),
            f"REQUIRED ({row['report_reasons']})" if row["report_required"] else "no",
            style="bold red" if overdue else None,
        )
    console.print(table)
    _warn_overdue(rows)


def _warn_overdue(rows: list[dict[str, object]]) -> None:
    overdue_ids = [str(r["incident_id"]) for r in rows if str(r["time_left"]).startswith("OVERDUE")]
    if overdue_ids:
        err_console.print(
            f"OVERDUE: incident(s) {', '.join(overdue_ids)} passed the 72-hour deadline", style="bold red"
        )


@incidents_app.command("show")
def show(incident_id: Annotated[int, typer.Argument(help="Incident id.")]) -> None:
    """Show an incident: counts, types, clock, report reasons, venues and permalinks."""
    app = open_app()
    with app.sessions() as session:
        incident = get_incident(session, incident_id)
        row = _row(incident)
        row["awareness_basis"] = incident.awareness_basis
        row["intrusion"] = incident.intrusion
        posts = [(p.source, p.venue, p.url, p.removed_at) for p in incident_posts(session, incident.id)]
    app.close()
    for key, value in row.items():
        console.print(f"{key:>16}: {'-' if value is None else value}", markup=False)
    console.print("           posts:", markup=False)
    for source, venue, url, removed in posts:
        gone = f" (removed {removed:%Y-%m-%d %H:%M} UTC)" if removed else ""
        console.print(f"                  {venue} {source} {url or '-'}{gone}", markup=False)


@incidents_app.command("set")
def set_(
    incident_id: Annotated[int, typer.Argument(help="Incident id.")],
    intrusion: Annotated[
        bool | None, typer.Option("--intrusion/--no-intrusion", help="Evidence of unlawful access (forces a report).")
    ] = None,
    close: Annotated[bool | None, typer.Option("--close/--reopen", help="Close or reopen the incident.")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Who is acting (default: the OS user).")] = None,
) -> None:
    """Set the intrusion flag or close/reopen an incident; the legal clock is recomputed."""
    status = None if close is None else ("closed" if close else "open")
    app = open_app()
    with app.sessions.begin() as session:
        incident = set_flags(session, incident_id, intrusion=intrusion, status=status, rules=app.settings.incidents)
        details = {"intrusion": str(intrusion), "status": str(status)}
        audit.record(session, "set_incident", f"incident {incident.id}", rows=1, actor=actor, details=details)
        reasons = incident.report_reasons or "none"
    app.close()
    console.print(f"incident {incident_id}: report reasons: {reasons}", markup=False)


@incidents_app.command("alert")
def alert() -> None:
    """Deliver queued alerts (new incidents, confidence jumps) to the configured webhooks and e-mail.

    Failed alerts are retried once their backoff has passed, to the channels that did not take them,
    up to [alerts] max_attempts; exits 1 when an alert was not delivered.
    """
    app = open_app()
    deliveries = deliver_pending(app.sessions, alert_settings(app.settings))
    app.close()
    for delivery in deliveries:
        (console if delivery.status == "sent" else err_console).print(describe(delivery), markup=False)
    sent = sum(d.status == "sent" for d in deliveries)
    console.print(f"{len(deliveries)} alert(s) tried, {sent} sent", markup=False)
    if sent < len(deliveries):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(incidents_app, name="incidents")
