"""Retention per table and the purge that applies it.

* ``evidence_days``: encrypted post text and stored attachment files (default: ``[evidence]
  retention_days``); the rows stay, the evidence goes.
* ``hits_days``: hits not seen again for this long are deleted (with their labels).
* ``posts_days``: posts not seen for this long are deleted with their hits and attachments' rows,
  except posts with an open or requested takedown case.

Incidents are not purged: they are the breach record PIPA and GDPR 33(5) expect to be kept, and their
stored aggregates keep the counts after the hits behind them are gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from leakmon.settings import Settings, invalid_section
from storage.models.cases import TakedownCase
from storage.models.core import AttachmentRecord, HitRecord, Post


class RetentionSettings(BaseModel):
    """The ``[retention]`` section (days; unset keeps forever)."""

    model_config = ConfigDict(extra="forbid")

    evidence_days: int | None = Field(
        None, ge=1, description="Days to keep encrypted post text and files; default [evidence] retention_days."
    )
    hits_days: int | None = Field(None, ge=1, description="Delete hits not seen again for this many days.")
    posts_days: int | None = Field(
        None, ge=1, description="Delete posts not seen for this many days (not those with an active takedown case)."
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
    texts = _count(
        session,
        select(func.count())
        .select_from(Post)
        .where(Post.text_ciphertext.is_not(None), Post.last_seen < evidence_cutoff),
    )
    stale_files = list(
        session.scalars(
            select(AttachmentRecord).where(
                AttachmentRecord.evidence_path.is_not(None), AttachmentRecord.stored_at < evidence_cutoff
            )
        )
    )
    hits = posts = 0
    if policy.hits_days is not None:
        hit_cutoff = now - timedelta(days=policy.hits_days)
        hits = _count(session, select(func.count()).select_from(HitRecord).where(HitRecord.last_seen < hit_cutoff))
    post_filter = None
    if policy.posts_days is not None:
        active_case = exists().where(TakedownCase.post_id == Post.id, TakedownCase.state.in_(("open", "requested")))
        post_filter = (Post.last_seen < now - timedelta(days=policy.posts_days)) & ~active_case
        posts = _count(session, select(func.count()).select_from(Post).where(post_filter))
    result = PurgeResult(texts, len(stale_files), hits, posts)
    if dry_run:
        return result
    session.execute(
        update(Post)
        .where(Post.text_ciphertext.is_not(None), Post.last_seen < evidence_cutoff)
        .values(text_ciphertext=None, text_key_id=None)
    )
    for record in stale_files:
        path = Path(record.evidence_path or "")
        (path if path.is_absolute() else home / path).unlink(missing_ok=True)
        record.evidence_path = None
        record.evidence_key_id = None
    if policy.hits_days is not None:
        session.execute(delete(HitRecord).where(HitRecord.last_seen < now - timedelta(days=policy.hits_days)))
    if post_filter is not None:
        session.execute(delete(Post).where(post_filter))
    return result


def _count(session: Session, statement: object) -> int:
    return int(session.scalar(statement) or 0)  # type: ignore[call-overload]
