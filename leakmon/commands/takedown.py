"""`leakmon takedown`: cases per post or channel, their states and request drafts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leakmon.choices import Format, FormatOption
from leakmon.output import console, write_records
from leakmon.workflows import audit, drafts
from leakmon.workflows import takedown as cases
from leakmon.workflows.cli_support import open_app
from storage.repositories.cases_takedown import list_cases

takedown_app = typer.Typer(help="Takedown cases: open -> requested -> removed | refused | expired.")
ActorOption = Annotated[str | None, typer.Option("--actor", help="Who is acting (default: the OS user).")]
COLUMNS = ["case_id", "scope", "state", "post_id", "source", "permalink", "opened_at", "updated_at"]


@takedown_app.command("open")
def open_(
    post_id: Annotated[int, typer.Argument(help="Post id (see `leakmon hits`).")],
    channel: Annotated[bool, typer.Option("--channel", help="A case for the post's whole channel.")] = False,
    note: Annotated[str, typer.Option("--note", help="Free text kept with the case.")] = "",
    actor: ActorOption = None,
) -> None:
    """Open a takedown case for a post (or its channel); an active case is reused."""
    app = open_app()
    with app.sessions.begin() as session:
        case, created = cases.open_case(session, post_id, actor=audit.resolve_actor(actor), channel=channel, note=note)
        case_id, state = case.id, case.state
    app.close()
    console.print(f"case {case_id} ({'opened' if created else 'already ' + state})", markup=False)


@takedown_app.command("list")
def list_(
    state: Annotated[str | None, typer.Option("--state", help="Only cases in this state.")] = None,
    fmt: FormatOption = Format.TABLE,
    output: Annotated[Path | None, typer.Option("--output", help="Write here instead of stdout.")] = None,
) -> None:
    """List takedown cases."""
    app = open_app()
    with app.sessions() as session:
        rows: list[dict[str, object]] = [
            {
                "case_id": c.id,
                "scope": c.scope,
                "state": c.state,
                "post_id": c.post_id,
                "source": c.source,
                "permalink": c.permalink,
                "opened_at": c.opened_at,
                "updated_at": c.updated_at,
            }
            for c in list_cases(session, state=state)
        ]
    app.close()
    write_records(rows, fmt=fmt, columns=COLUMNS, output=str(output) if output else None, title="takedown cases")


@takedown_app.command("set")
def set_(
    case_id: Annotated[int, typer.Argument(help="Case id.")],
    state: Annotated[str, typer.Argument(help="requested, removed, refused or expired.")],
    note: Annotated[str, typer.Option("--note", help="Free text kept in the history.")] = "",
    actor: ActorOption = None,
) -> None:
    """Move a case to a new state; illegal transitions are refused."""
    app = open_app()
    with app.sessions.begin() as session:
        event = cases.set_state(session, case_id, state, actor=audit.resolve_actor(actor), note=note)
        line = f"case {case_id}: {event.from_state} -> {event.to_state}"
    app.close()
    console.print(line, markup=False)


@takedown_app.command("show")
def show(case_id: Annotated[int, typer.Argument(help="Case id.")]) -> None:
    """Show a case's history."""
    app = open_app()
    with app.sessions() as session:
        events = [(e.at, e.from_state, e.to_state, e.actor, e.note) for e in cases.history(session, case_id)]
    app.close()
    for at, before, after, who, note in events:
        console.print(f"{at:%Y-%m-%d %H:%M:%S} UTC  {before or '-'} -> {after}  by {who}  {note}", markup=False)


@takedown_app.command("draft")
def draft(
    case_id: Annotated[int, typer.Argument(help="Case id.")],
    to: Annotated[
        str, typer.Option("--to", help="telegram or host (English), kisa or host-kr (Korean, for Korean hosts).")
    ],
    output: Annotated[Path | None, typer.Option("--output", help="Write here instead of stdout.")] = None,
    actor: ActorOption = None,
) -> None:
    """Render the takedown request with the evidence bundle (categories and counts, never values)."""
    app = open_app()
    with app.sessions.begin() as session:
        text = drafts.render(session, case_id, to)
        audit.record(session, "draft_takedown", f"case {case_id}", rows=1, actor=actor, details={"to": to})
    app.close()
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(takedown_app, name="takedown")
