"""Takedown request drafts with the evidence bundle (DOMAIN.md section 4), never identifier values.

The bundle describes the case's own post: its permalink and numeric chat id, post and capture times
in UTC, channel title/username at capture when the crawler recorded them, the sale wording (the
stored title and the trade vocabulary that matched) and the seller contact (the post's author
handle). A channel case adds how many posts were captured from the channel, and its files and
identifier categories cover the whole channel. Files are listed with SHA-256, categories with hit
and subject counts. KISA and Korean hosts get Korean, Telegram and other hosts English (see
:mod:`leakmon.workflows.draft_phrases`); every statement is true of what leakmon did.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leakmon.errors import InputError
from leakmon.workflows.draft_phrases import RECIPIENTS, Phrases
from leakmon.workflows.takedown import get_case
from leakmon.workflows.triage import is_excluded
from storage.models.cases import TakedownCase
from storage.models.core import AttachmentRecord, HitRecord, Post
from storage.repositories.cases import current_labels, hits_of_posts

#: Attachment outcomes for which the file was actually fetched (and hashed).
FETCHED = ("ok", "partial")


def render(session: Session, case_id: int, to: str) -> str:
    """The request text for ``to`` (telegram | kisa | host-kr | host)."""
    recipient = RECIPIENTS.get(to)
    if recipient is None:
        raise InputError(f"unknown recipient {to!r}; use one of {', '.join(RECIPIENTS)}")
    case = get_case(session, case_id)
    lead = session.get(Post, case.post_id) if case.post_id is not None else None
    if lead is None:
        raise InputError(f"takedown case {case.id} has no stored post left to describe")
    posts = _channel_posts(session, case) if case.scope == "channel" else [lead]
    words = recipient.phrases
    lines = [recipient.address, words.subject.format(case=case.id, scope=case.scope), "", recipient.intro, ""]
    if case.scope == "channel":
        lines.append(words.channel_scope.format(posts=len(posts)))
    lines += _location(words, lead)
    lines += _times(words, lead)
    lines += _wording(words, lead)
    files = _files(session, posts)
    lines += _file_lines(words, files)
    lines += _categories(session, words, posts)
    lines += ["", words.fetched_files if files else words.text_only]
    if files:
        lines.append(words.stored if any(stored for *_, stored in files) else words.not_stored)
    lines += [words.screenshot, words.reporter]
    return "\n".join(lines) + "\n"


def _channel_posts(session: Session, case: TakedownCase) -> list[Post]:
    return list(session.scalars(select(Post).where(Post.source == case.source).order_by(Post.id)))


def _location(words: Phrases, post: Post) -> list[str]:
    extra = post.extra if isinstance(post.extra, dict) else {}
    lines = [words.where, words.permalink.format(post.url or words.none_recorded)]
    if extra.get("chat_id") is not None:
        lines.append(words.chat_id.format(extra["chat_id"]))
    if extra.get("chat_title"):
        lines.append(words.chat_title.format(extra["chat_title"]))
    if extra.get("chat_username"):
        lines.append(words.chat_username.format(extra["chat_username"]))
    lines.append(words.venue.format(venue=post.venue, source=post.source, post=post.external_id))
    return lines


def _times(words: Phrases, post: Post) -> list[str]:
    def utc(value: datetime | None) -> str:
        return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else words.unknown

    return [
        words.when,
        words.posted.format(utc(post.posted_at)),
        words.captured.format(utc(post.first_seen)),
        words.last_seen.format(utc(post.last_seen)),
    ]


def _wording(words: Phrases, post: Post) -> list[str]:
    terms = ", ".join(post.trade_terms or []) or words.none_matched
    return [
        words.sale,
        words.title.format(post.title or words.no_title),
        words.terms.format(terms),
        words.seller.format(post.author or words.none_recorded),
    ]


def _files(session: Session, posts: list[Post]) -> list[tuple[str, str, int | None, bool]]:
    """(name, SHA-256, size, kept encrypted) of each file leakmon fetched from these posts."""
    rows = session.execute(
        select(
            AttachmentRecord.name,
            AttachmentRecord.sha256,
            AttachmentRecord.size,
            func.max(AttachmentRecord.evidence_path),
        )
        .where(AttachmentRecord.post_id.in_([p.id for p in posts]), AttachmentRecord.status.in_(FETCHED))
        .group_by(AttachmentRecord.name, AttachmentRecord.sha256, AttachmentRecord.size)
        .order_by(AttachmentRecord.sha256, AttachmentRecord.name)
    ).all()
    return [(name, sha, size, path is not None) for name, sha, size, path in rows]


def _file_lines(words: Phrases, files: list[tuple[str, str, int | None, bool]]) -> list[str]:
    if not files:
        return [words.no_files]
    return [words.files] + [
        words.file_line.format(sha=sha, size=size if size is not None else "?", name=name)
        for name, sha, size, _ in files
    ]


def _categories(session: Session, words: Phrases, posts: list[Post]) -> list[str]:
    hits: list[HitRecord] = hits_of_posts(session, [p.id for p in posts])
    labels = current_labels(session, [h.id for h in hits])
    effective = [h for h in hits if not is_excluded(labels.get(h.id))]
    counts = Counter(h.id_type for h in effective)
    subjects: dict[str, set[int]] = defaultdict(set)
    for hit in effective:
        if hit.subject_id is not None:
            subjects[hit.id_type].add(hit.subject_id)
    every = {h.subject_id for h in effective if h.subject_id is not None}
    lines = [words.people.format(len(every))]
    lines += [words.category.format(type=t, items=counts[t], people=len(subjects[t])) for t in sorted(counts)]
    return lines
