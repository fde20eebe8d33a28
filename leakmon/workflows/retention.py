"""Retention per table and the purge that applies it.

* ``evidence_days``: encrypted post text and stored attachment files (default: ``[evidence]
  retention_days``); the rows stay, the evidence goes.
* ``hits_days``: hits not seen again for this long are deleted (with their labels).
* ``posts_days``: posts not seen for this long are deleted with their hits and attachments' rows.

Nothing that is still *held* is purged: a post in an open incident, or under an open or requested
takedown case (a post case, or a channel case for its source), keeps its evidence, hits and row,
so the takedown draft and the affected export still say what the incident counts.

Incidents are not purged: they are the breach record PIPA and GDPR 33(5) expect to be kept, and their
stored aggregates keep the counts after the hits behind them are gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from leakmon.settings import Settings, invalid_section
from storage.models.cases import Incident, IncidentPost, TakedownCase
from storage.models.core import AttachmentRecord, HitRecord, Post

ACTIVE_CASE_STATES = ("open", "requested")


def held(post_id: Any, source: Any) -> ColumnElement[bool]:
    """True for a post in an open incident or under an active post or channel takedown case."""
    in_open_incident = (
        select(IncidentPost.post_id)
        .join(Incident, Incident.id == IncidentPost.incident_id)
        .where(IncidentPost.post_id == post_id, Incident.status == "open")
        .exists()
    )
    case_scope = ((TakedownCase.scope == "post") & (TakedownCase.post_id == post_id)) | (
        (TakedownCase.scope == "channel") & (TakedownCase.source == source)
    )
    under_case = select(TakedownCase.id).where(TakedownCase.state.in_(ACTIVE_CASE_STATES), case_scope).exists()
    return in_open_incident | under_case


class RetentionSettings(BaseModel):
    """The ``[retention]`` section (days; unset keeps forever)."""

    model_config = ConfigDict(extra="forbid")

    evidence_days: int | None = Field(
        None, ge=1, description="Days to keep encrypted post text and files; default [evidence] retention_days."
    )
    hits_days: int | None = Field(None, ge=1, description="Delete hits not seen again for this many days.")
    posts_days: int | None = Field(
        None,
        ge=1,
        description="Delete posts not seen for this many days (not those in an open incident or takedown case).",
    )


def retention_settings(settings: Settings) -> RetentionSettings:
    try:
        return RetentionSettings.model_validate(settings.retention)
    except ValidationError as exc:
        raise invalid_section(exc, "retention") from None


@dataclass(frozen=True, slots=True)
class PurgeResult:
    post_texts: int = 0
    evidence_files: int = 0
    hits: int = 0
    posts: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "post_texts": self.post_texts,
            "evidence_files": self.evidence_files,
            "hits": self.hits,
            "posts": self.posts,
        }

    @property
    def total(self) -> int:
        return self.post_texts + self.evidence_files + self.hits + self.posts


def purge(
    session: Session,
    policy: RetentionSettings,
    *,
    default_evidence_days: int,
    home: Path,
    dry_run: bool = False,
    now: datetime | None = None,
) -> PurgeResult:
    """Apply the policy; with ``dry_run`` only count."""
    now = now or datetime.now(UTC)
    evidence_days = policy.evidence_days or default_evidence_days
    evidence_cutoff = now - timedelta(days=evidence_days)
    post_held = held(Post.id, Post.source)
    text_filter = Post.text_ciphertext.is_not(None) & (Post.last_seen < evidence_cutoff) & ~post_held
    texts = _count(session, select(func.count()).select_from(Post).where(text_filter))
    stale_files = list(
        session.scalars(
            select(AttachmentRecord)
            .join(Post, Post.id == AttachmentRecord.post_id)
            .where(
                AttachmentRecord.evidence_path.is_not(None), AttachmentRecord.stored_at < evidence_cutoff, ~post_held
            )
        )
    )
    hit_filter = None
    if policy.hits_days is not None:
        hit_held = held(HitRecord.post_id, HitRecord.source)
        hit_filter = (HitRecord.last_seen < now - timedelta(days=policy.hits_days)) & ~hit_held
    post_filter = None
    if policy.posts_days is not None:
        post_filter = (Post.last_seen < now - timedelta(days=policy.posts_days)) & ~post_held
    hits = (
        _count(session, select(func.count()).select_from(HitRecord).where(hit_filter)) if hit_filter is not None else 0
    )
    posts = _count(session, select(func.count()).select_from(Post).where(post_filter)) if post_filter is not None else 0
    result = PurgeResult(texts, len(stale_files), hits, posts)
    stale_paths = [record.evidence_path for record in stale_files]
    if dry_run:
        return result
    session.execute(update(Post).where(text_filter).values(text_ciphertext=None, text_key_id=None))
    for record in stale_files:
        record.evidence_path = None
        record.evidence_key_id = None
    session.flush()
    # Sealed files are content-addressed: one file may be kept for several posts, some of them
    # younger or held. A file goes only when no attachment row points to it any more.
    for stale_path in _unreferenced(session, {record_path for record_path in stale_paths if record_path}):
        path = Path(stale_path)
        (path if path.is_absolute() else home / path).unlink(missing_ok=True)
    if hit_filter is not None:
        session.execute(delete(HitRecord).where(hit_filter))
    if post_filter is not None:
        session.execute(delete(Post).where(post_filter))
    return result


def _unreferenced(session: Session, paths: set[str], chunk: int = 500) -> set[str]:
    """The ``paths`` no attachment row points to any more (one query per ``chunk`` paths)."""
    ordered = sorted(paths)
    still_used: set[str] = set()
    for start in range(0, len(ordered), chunk):
        part = ordered[start : start + chunk]
        still_used.update(
            path
            for path in session.scalars(
                select(AttachmentRecord.evidence_path).where(AttachmentRecord.evidence_path.in_(part)).distinct()
            )
            if path
        )
    return paths - still_used


def _count(session: Session, statement: object) -> int:
    return int(session.scalar(statement) or 0)  # type: ignore[call-overload]
