"""`leakmon hits`: list hits with filters, show a hit's evidence trail, label hits in triage."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from leakmon.choices import MAX_ID, Format, FormatOption, MatchKind, TextFormat
from leakmon.hitout import HIT_FIELDS, HitOut
from leakmon.output import console, write_records

hits_app = typer.Typer(help="Hits: list with filters, show the evidence trail, label in triage.")

ActorOption = Annotated[str | None, typer.Option("--actor", help="Who is acting (default: the OS user).")]


@hits_app.callback(invoke_without_command=True)
def hits(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", help="First seen since: 7d, 24h or an ISO date.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only this source (channel, forum).")] = None,
    id_type: Annotated[str | None, typer.Option("--id-type", help="Only this identifier type.")] = None,
    match_kind: Annotated[MatchKind | None, typer.Option("--match-kind", help="How the hit matched.")] = None,
    min_confidence: Annotated[
        float | None, typer.Option("--min-confidence", min=0, max=1, help="Hit confidence at least.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", "--label", help="confirmed, false_positive, seller_contact, test_data, unlabelled."),
    ] = None,
    incident: Annotated[
        int | None, typer.Option("--incident", min=1, max=MAX_ID, help="Only hits of this incident.")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, max=MAX_ID, help="At most this many hits.")] = None,
    fmt: FormatOption = Format.TABLE,
    output: Annotated[Path | None, typer.Option("--output", help="Write here instead of stdout.")] = None,
    actor: ActorOption = None,
) -> None:
    """List hits (masked values only); every listing is written to the audit log."""
    from leakmon.filters import check_id_type, check_source
    from leakmon.workflows import audit
    from leakmon.workflows.cli_support import open_app, parse_since
    from leakmon.workflows.hitviews import COLUMNS, HitFilters, iter_hits

    if ctx.invoked_subcommand is not None:
        return
    filters = HitFilters(
        since=parse_since(since) if since else None,
        source=source,
        id_type=id_type,
        match_kind=match_kind,
        min_confidence=min_confidence,
        status=status,
        incident=incident,
        limit=limit,
    )
    app = open_app()
    with app.sessions.begin() as session:
        check_source(app, session, source)
        check_id_type(app, session, id_type)
        if incident is not None:
            from leakmon.workflows.incidents import get_incident  # rapidfuzz and re2: for this filter only

            get_incident(session, incident)  # a missing incident is "not found", not 0 rows
        count = write_records(
            map(listed_record, iter_hits(session, filters)),
            fmt=fmt,
            columns=list(COLUMNS),
            output=str(output) if output else None,
            title="hits",
        )
        details = {k: str(v) for k, v in asdict(filters).items() if v is not None}
        details["format"] = fmt
        audit.record(session, "list_hits", str(output or "stdout"), rows=count, actor=actor, details=details)
    app.close()


@hits_app.command("show")
def show(
    hit_id: Annotated[int, typer.Argument(help="Hit id.")],
    fmt: Annotated[TextFormat, typer.Option("--format", help="text or json.")] = TextFormat.TEXT,
    with_text: Annotated[
        bool, typer.Option("--text", help="Also decrypt and print the post's stored (sealed) text (audited).")
    ] = False,
    actor: ActorOption = None,
) -> None:
    """Show a hit's evidence trail: extractor, obfuscation, context, why this confidence (audited).

    With --text the post's sealed text is decrypted for the analyst; that view is audited on its own.
    """
    from leakmon.workflows import audit
    from leakmon.workflows.cli_support import open_app
    from leakmon.workflows.evidence import hit_post_text
    from leakmon.workflows.hitviews import evidence_trail

    app = open_app()
    with app.sessions.begin() as session:
        trail = evidence_trail(session, hit_id)
        audit.record(session, "view_evidence", f"hit {hit_id}", rows=1, actor=actor)
        if with_text:
            post_id, trail["post_text"] = hit_post_text(session, app.keyring, hit_id)
            audit.record(session, "view_post_text", f"post {post_id}", rows=1, actor=actor, details={"hit": hit_id})
    app.close()
    if fmt == "json":
        typer.echo(json.dumps(trail, ensure_ascii=False, default=str, indent=2))
        return
    text = trail.pop("post_text", None)
    for key, value in trail.items():
        console.print(f"{key:>20}: {_text(value)}", markup=False)
    if text is not None:
        console.print(f"{'post_text':>20}:", markup=False)
        typer.echo(text)


@hits_app.command("label")
def label(
    hit_id: Annotated[int, typer.Argument(help="Hit id.")],
    as_: Annotated[str, typer.Option("--as", help="confirmed, false_positive, seller_contact or test_data.")],
    note: Annotated[str, typer.Option("--note", help="Why (kept with the label).")] = "",
    everywhere: Annotated[
        bool, typer.Option("--everywhere", help="A false positive is suppressed in every source, not just this one.")
    ] = False,
    actor: ActorOption = None,
) -> None:
    """Label a hit; a false positive also suppresses the same identifier in the same source later,
    any other label lifts the suppression rules that cover the hit."""
    from leakmon.workflows import audit
    from leakmon.workflows.cli_support import open_app
    from leakmon.workflows.incidents import refresh_for_hit
    from leakmon.workflows.triage import label_hit

    app = open_app()
    with app.sessions.begin() as session:
        done = label_hit(session, hit_id, as_, actor=audit.resolve_actor(actor), note=note, everywhere=everywhere)
        incident = refresh_for_hit(session, hit_id, app.settings.incidents)
        details: dict[str, Any] = {"label": as_}
        if done.lifted:
            details["lifted_rules"] = list(done.lifted)
        audit.record(session, "label_hit", f"hit {hit_id}", rows=1, actor=actor, details=details)
        incident_id = incident.id if incident else None
    app.close()
    extra = f" (suppressed from now on by rule {done.rule_id})" if done.rule_id is not None else ""
    if done.lifted:
        extra = f" (suppression rule {', '.join(map(str, done.lifted))} lifted)"
    console.print(f"hit {hit_id} labelled {as_}{extra}; incident: {incident_id or '-'}", markup=False)


@hits_app.command("unlabel")
def unlabel(
    hit_id: Annotated[int, typer.Argument(help="Hit id.")],
    actor: ActorOption = None,
) -> None:
    """Undo a hit's current label (the console's undo): the previous label, or none, is current again.

    Undoing a false positive also removes the suppression rule it made and the labels that rule gave
    other hits (if they still carry them); rules the undone label lifted are not restored. The
    incidents of the hits concerned are refreshed; audited as unlabel_hit.
    """
    from leakmon.workflows.cli_support import open_app
    from leakmon.workflows.triage import unlabel as unlabel_hit

    app = open_app()
    with app.sessions.begin() as session:
        undone = unlabel_hit(session, hit_id, actor=actor, rules=app.settings.incidents)
    app.close()
    extra = ""
    if undone.rule_removed is not None:
        extra = f"; rule {undone.rule_removed} removed, {len(undone.unlabelled)} other hit(s) unlabelled"
    now = undone.now or "unlabelled"
    console.print(f"hit {hit_id}: {undone.removed} (by {undone.removed_actor}) undone; now {now}{extra}", markup=False)


rules_app = typer.Typer(help="False-positive suppression rules: list them, remove one.")
hits_app.add_typer(rules_app, name="rules")


@rules_app.callback(invoke_without_command=True)
def rules(
    ctx: typer.Context,
    fmt: FormatOption = Format.TABLE,
    output: Annotated[Path | None, typer.Option("--output", help="Write here instead of stdout.")] = None,
) -> None:
    """List suppression rules: type, source, masked value, who made it, when and why."""
    from leakmon.workflows.cli_support import open_app
    from leakmon.workflows.triage import RULE_COLUMNS, rule_rows

    if ctx.invoked_subcommand is not None:
        return
    app = open_app()
    with app.sessions() as session:
        rows = rule_rows(session)
    app.close()
    write_records(rows, fmt=fmt, columns=RULE_COLUMNS, output=str(output) if output else None, title="rules")


@rules_app.command("remove")
def remove(
    rule_id: Annotated[int, typer.Argument(help="Rule id (see `leakmon hits rules`).")],
    note: Annotated[str, typer.Option("--note", help="Why (kept in the audit log).")] = "",
    keep_labels: Annotated[
        bool,
        typer.Option("--keep-labels", help="Leave the hits the rule labelled automatically labelled false positive."),
    ] = False,
    actor: ActorOption = None,
) -> None:
    """Remove one suppression rule (audited); later sightings are no longer labelled false positive.

    As in the console, the hits the rule labelled automatically (and that still carry that label)
    return to unlabelled and their incidents are refreshed, unless --keep-labels.
    """
    from leakmon.workflows.cli_support import open_app
    from leakmon.workflows.triage import drop_rule

    app = open_app()
    with app.sessions.begin() as session:
        row, returned = drop_rule(
            session, rule_id, keep_labels=keep_labels, actor=actor, rules=app.settings.incidents, note=note
        )
    app.close()
    kept = "its labels kept" if keep_labels else f"{len(returned)} hit(s) it labelled unlabelled"
    console.print(f"rule {rule_id} removed ({row['id_type']} {row['masked']} in {row['source']}); {kept}", markup=False)


def listed_record(row: dict[str, Any]) -> dict[str, object]:
    """A listed hit: the one hit rendering (:class:`leakmon.hitout.HitOut`), then the listing's columns."""
    return {**HitOut.from_mapping(row).json(), **{k: v for k, v in row.items() if k not in HIT_FIELDS}}


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or "-"
    if isinstance(value, dict):
        return " ".join(f"{k}={_text(v)}" for k, v in value.items())
    return "-" if value is None else str(value)


def register(app: typer.Typer) -> None:
    app.add_typer(hits_app, name="hits")
