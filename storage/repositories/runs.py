"""Runs of sources and the findings they recorded.

A run is ``running`` from :func:`start_run` until :func:`finish_run`. Its row records its owner
(``stats.owner``: host, process id and that process's start time), so a row whose end was never
recorded (the process was killed, or the disk was full when it finished) can be told from a run
still in flight: :func:`mark_interrupted` marks it ``interrupted``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models.core import FindingRecord, Run
from storage.models.vocab import RunStatus

#: A running row whose owner cannot be checked from here (another host, or a row from before owners
#: were recorded) is taken as interrupted once it is this old.
STALE_AFTER = timedelta(hours=24)
INTERRUPTED = "interrupted: the process that ran it ended (or could not record its end) before it finished"


def start_run(session: Session, source: str, kind: str) -> Run:
    run = Run(source=source, kind=kind, started_at=datetime.now(UTC), status="running", stats={"owner": run_owner()})
    session.add(run)
    session.flush()
    return run


def run_owner(pid: int | None = None) -> dict[str, Any]:
    """This host, the process id and that process's start time (so a reused pid is not taken for it)."""
    pid = os.getpid() if pid is None else pid
    return {"host": socket.gethostname(), "pid": pid, "since": _process_start(pid)}


def mark_interrupted(session: Session, *, active: Collection[int] = (), now: datetime | None = None) -> list[Run]:
    """Mark ``interrupted`` every running row whose run is not in flight any more; returns them.

    Not in flight: owned by this process but not in ``active`` (the run ids this process is running:
    its end could not be recorded); owned by a process of this host that is gone; or, when the owner
    cannot be checked from here (another host, no owner recorded), started ``STALE_AFTER`` ago.
    ``active`` is read while deciding, so a caller may pass a set it adds new run ids to.
    """
    now = now or datetime.now(UTC)
    me = run_owner()
    query = select(Run).where(Run.status == RunStatus.RUNNING.value, Run.finished_at.is_(None)).order_by(Run.id)
    marked = []
    for run in session.scalars(query):
        if run.id in active or not _gone(run, me, now):
            continue
        run.status, run.finished_at, run.error = RunStatus.INTERRUPTED.value, now, INTERRUPTED
        marked.append(run)
    return marked


def _gone(run: Run, me: dict[str, Any], now: datetime) -> bool:
    owner = (run.stats or {}).get("owner")
    if not isinstance(owner, dict) or owner.get("host") != me["host"] or not isinstance(owner.get("pid"), int):
        started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
        return bool(started <= now - STALE_AFTER)
    if owner["pid"] == me["pid"] and owner.get("since") == me["since"]:
        return True  # this process's own run that it no longer runs
    if owner.get("since") is not None:
        return bool(_process_start(owner["pid"]) != owner["since"])  # gone, or its pid reused
    return not _alive(owner["pid"])


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux ``/proc``), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
