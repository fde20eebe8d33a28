"""`leakmon purge`: apply the [retention] policy and log what was removed."""

from __future__ import annotations

from typing import Annotated

import typer

from leakmon.output import console
from leakmon.workflows import audit
from leakmon.workflows.cli_support import open_app
from leakmon.workflows.retention import purge as apply_policy
from leakmon.workflows.retention import retention_settings


def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be removed.")] = False,
    actor: Annotated[str | None, typer.Option("--actor", help="Who is acting (default: the OS user).")] = None,
) -> None:
    """Remove evidence, hits and posts older than the retention policy; counts go to the audit log."""
    app = open_app()
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


def register(app: typer.Typer) -> None:
    app.command("purge")(purge)
