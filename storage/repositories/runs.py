"""Runs of sources and the findings they recorded."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models.core import FindingRecord, Run


def start_run(session: Session, source: str, kind: str) -> Run:
    run = Run(source=source, kind=kind, started_at=datetime.now(UTC), status="running", stats={})
    session.add(run)
    session.flush()
    return run


def finish_run(
    session: Session,
    run_id: int,
    *,
    status: str,
    stats: dict[str, Any],
    error: str | None = None,
    retry_after: datetime | None = None,
) -> None:
    run = session.get(Run, run_id)
    if run is None:
        raise LookupError(f"run {run_id} does not exist")
    run.status = status
    run.stats = dict(stats)
    run.error = error
    run.retry_after = retry_after
    run.finished_at = datetime.now(UTC)


def add_findings(
    session: Session,
    source: str,
    findings: Iterable[tuple[str, str, str]],
    *,
    post_id: int | None = None,
    run_id: int | None = None,
) -> int:
    """Store (locator, kind, reason) findings; returns how many."""
    now = datetime.now(UTC)
    rows = [
        FindingRecord(
            source=source,
            post_id=post_id,
            run_id=run_id,
            locator=loc,
            kind=kind,
            reason=reason,
            created_at=now,
        )
        for loc, kind, reason in findings
    ]
    session.add_all(rows)
    return len(rows)


def last_runs(session: Session) -> dict[str, Run]:
    """The latest run per source."""
    latest: dict[str, Run] = {}
    for run in session.scalars(select(Run).order_by(Run.started_at)):
        latest[run.source] = run
    return latest


#: Finding kinds that are not errors of the source: skips, caps and removals the crawler expected.
NOT_ERRORS = frozenset(
    {
        "cap_bytes",
        "decode_guess",
        "evidence_not_kept",
        "format_fallback",
        "robots_denied",
        "skipped_binary",
        "unsupported_format",
    }
)


def last_error_finding(session: Session, run_id: int) -> FindingRecord | None:
    """The last finding of a run that reports an error (not an expected skip or cap)."""
    return session.scalars(
        select(FindingRecord)
        .where(FindingRecord.run_id == run_id, FindingRecord.kind.not_in(NOT_ERRORS))
        .order_by(FindingRecord.id.desc())
        .limit(1)
    ).first()


def list_findings(
    session: Session,
    *,
    source: str | None = None,
    kind: str | None = None,
    run_id: int | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[FindingRecord]:
    """Findings, newest first, filtered by source, kind, run and time."""
    statement = select(FindingRecord)
    if source is not None:
        statement = statement.where(FindingRecord.source == source)
    if kind is not None:
        statement = statement.where(FindingRecord.kind == kind)
    if run_id is not None:
        statement = statement.where(FindingRecord.run_id == run_id)
    if since is not None:
        statement = statement.where(FindingRecord.created_at >= since)
    statement = statement.order_by(FindingRecord.id.desc())
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.scalars(statement))


def error_findings(session: Session, run_id: int, *, limit: int = 20) -> list[FindingRecord]:
    """The run's findings that report errors (not expected skips or caps), newest first."""
    return list(
        session.scalars(
            select(FindingRecord)
            .where(FindingRecord.run_id == run_id, FindingRecord.kind.not_in(NOT_ERRORS))
            .order_by(FindingRecord.id.desc())
            .limit(limit)
        )
    )
