"""`leakmon purge`: apply the [retention] policy and log what was removed."""

from __future__ import annotations

from typing import Annotated

import typer

from leakmon.app import App
from leakmon.output import console
from leakmon.workflows import audit
from leakmon.workflows.cli_support import open_app
from leakmon.workflows.retention import purge as apply_policy
from leakmon.workflows.retention import retention_settings


def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be removed.")] = False,
    actor: Annotated[str | None, typer.Option("--actor", help="Who is acting (default: the OS user).")] = None,
    redact_stored: Annotated[
        bool,
        typer.Option(
            "--redact-stored",
            help="Instead of the retention policy: re-apply the current redaction rule to every stored "
            "crawled string (author, URL, title, post id, file names, locators); one-off, idempotent.",
        ),
    ] = False,
) -> None:
    """Remove evidence, hits and posts older than the retention policy; counts go to the audit log.

    With --redact-stored, rewrite rows stored before the redaction rule instead (in batches; run it
    again at any time: it changes only what the rule would)."""
    app = open_app()
    if redact_stored:
        _redact_stored(app, dry_run=dry_run, actor=actor)
        return
    policy = retention_settings(app.settings)
    with app.sessions.begin() as session:
        result = apply_policy(
            session,
            policy,
            default_evidence_days=app.settings.evidence.retention_days,
            home=app.settings.home,
            dry_run=dry_run,
        )
        action = "purge_dry_run" if dry_run else "purge"
        audit.record(session, action, "retention", rows=result.total, actor=actor, details=result.as_dict())
    app.close()
    verb = "would remove" if dry_run else "removed"
    counts = ", ".join(f"{k}={v}" for k, v in result.as_dict().items())
    console.print(f"purge {verb}: {counts}", markup=False)


def _redact_stored(app: App, *, dry_run: bool, actor: str | None) -> None:
    from crawlers.redact import Redactor
    from leakmon.workflows.redact_stored import redact_stored

    changed = redact_stored(app.sessions, Redactor(app.keyring.active_key("redaction")[1]), dry_run=dry_run)
    action = "redact_stored_dry_run" if dry_run else "redact_stored"
    with app.sessions.begin() as session:
        audit.record(session, action, "stored rows", rows=sum(changed.values()), actor=actor, details=dict(changed))
    app.close()
    verb = "would rewrite" if dry_run else "rewrote"
    counts = ", ".join(f"{k}={v}" for k, v in sorted(changed.items())) or "nothing"
    console.print(f"redact stored {verb}: {counts}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("purge")(purge)
