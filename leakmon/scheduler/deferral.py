"""Sources that asked us to come back later (HTTP 429, Telegram flood wait) are deferred, not hammered.

The "retry after" lives where the venue recorded it: the ``retry_after`` of the source's latest
finished run (``runs`` table), and for a Telegram chat also ``telegram_chats.not_before``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leakmon.scheduler.specs import JobSpec
from storage.models.core import Run
from storage.models.telegram import TelegramChat


def latest_finished_run(session: Session, source: str) -> Run | None:
    return session.scalars(
        select(Run)
        .where(Run.source == source, Run.finished_at.is_not(None))
        .order_by(Run.started_at.desc(), Run.id.desc())
        .limit(1)
    ).first()


def deferred_until(session: Session, spec: JobSpec, now: datetime | None = None) -> datetime | None:
    """The time before which ``spec``'s source must not run, or None when it may run now."""
    now = now or datetime.now(UTC)
    times: list[datetime] = []
    run = latest_finished_run(session, spec.run_source)
    if run is not None and run.retry_after is not None:
        times.append(run.retry_after)
    if spec.kind == "telegram":
        chat = session.scalars(select(TelegramChat).where(TelegramChat.name == spec.name)).first()
        if chat is not None and chat.not_before is not None:
            times.append(chat.not_before)
    later = [t for t in times if t > now]
    return max(later) if later else None
