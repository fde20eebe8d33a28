"""Takedown request drafts with the evidence bundle (DOMAIN.md section 4), never identifier values.

The bundle: permalink and numeric chat id; post and capture times in UTC; channel title/username at
capture when the crawler recorded them; the sale wording (the stored, redacted title and the trade
vocabulary that matched); the seller contact (the post's author handle); SHA-256 of captured files;
matched identifier categories with hit and subject counts. The reporter fills in their contact and
attaches a screenshot with victims' data masked.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leakmon.errors import InputError
from leakmon.workflows.takedown import get_case
from leakmon.workflows.triage import is_excluded
from storage.models.cases import TakedownCase
from storage.models.core import AttachmentRecord, HitRecord, Post
from storage.repositories.cases import current_labels, hits_of_posts

RECIPIENTS = {
    "telegram": "abuse@telegram.org (or in-app Report > Personal details)",
    "kisa": "jebo@pirst.kr (KISA 불법유해정보 신고)",
    "host": "the hosting provider's abuse contact or form",
}
_INTROS = {
    "telegram": "The message below offers personal data of our customers for sale. We ask you to remove it "
    "and to review the channel.",
    "kisa": "개인정보 불법 유통 게시물 신고: 아래 게시물은 당사 고객의 개인정보를 판매하는 글입니다. "
    "삭제 조치를 요청합니다. (Report of a post trading personal data; removal requested.)",
    "host": "A page on your service offers personal data of our customers for sale. We ask you to remove it "
    "under your acceptable-use policy.",
}


def render(session: Session, case_id: int, to: str) -> str:
    """The request text for ``to`` (telegram | kisa | host)."""
    if to not in RECIPIENTS:
        raise InputError(f"unknown recipient {to!r}; use one of {', '.join(RECIPIENTS)}")
    case = get_case(session, case_id)
    posts = _case_posts(session, case)
    if not posts:
        raise InputError(f"takedown case {case.id} has no stored post left to describe")
    lead = posts[0]
    lines = [f"To: {RECIPIENTS[to]}", f"Subject: takedown request (case {case.id}, {case.scope})", "", _INTROS[to], ""]
    lines += _location(case, lead)
    lines += _times(lead)
    lines += _wording(lead)
    lines += _files(session, posts)
    lines += _categories(session, posts)
    lines += [
        "",
        "Screenshot: attached, with the data subjects' details masked.",
        "Reporter: [name, organisation, e-mail, phone]",
        "We have not downloaded or bought the data set; matching used keyed hashes of our own records.",
    ]
    return "\n".join(lines) + "\n"


def _case_posts(session: Session, case: TakedownCase) -> list[Post]:
    if case.scope == "channel":
        return list(session.scalars(select(Post).where(Post.source == case.source).order_by(Post.id)))
    post = session.get(Post, case.post_id) if case.post_id is not None else None
    return [post] if post is not None else []


def _location(case: TakedownCase, post: Post) -> list[str]:
    extra = post.extra if isinstance(post.extra, dict) else {}
    lines = ["Where:", f"  permalink: {case.permalink or post.url or '(none recorded)'}"]
    if extra.get("chat_id") is not None:
        lines.append(f"  numeric chat id: {extra['chat_id']}")
    for key, label in (("chat_title", "channel title at capture"), ("chat_username", "channel username at capture")):
        if extra.get(key):
            lines.append(f"  {label}: {extra[key]}")
    lines.append(f"  venue: {post.venue}, source: {post.source}, post id: {post.external_id}")
    return lines


def _times(post: Post) -> list[str]:
    def utc(value: datetime | None) -> str:
        return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "(unknown)"

    lines = ["When:", f"  posted: {utc(post.posted_at)}", f"  captured: {utc(post.first_seen)}"]
    lines.append(f"  last seen: {utc(post.last_seen)}")
    return lines


def _wording(post: Post) -> list[str]:
    terms = ", ".join(post.trade_terms or []) or "(none matched)"
    return [
        "Sale intent:",
        f'  title as captured: "{post.title or "(no title)"}"',
        f"  trade wording found: {terms}",
        f"Seller contact: {post.author or '(not recorded)'}",
    ]


def _files(session: Session, posts: list[Post]) -> list[str]:
    files = session.execute(
        select(AttachmentRecord.name, AttachmentRecord.sha256, AttachmentRecord.size)
        .where(AttachmentRecord.post_id.in_([p.id for p in posts]))
        .order_by(AttachmentRecord.id)
    ).all()
    if not files:
        return ["Captured files: none"]
    return ["Captured files (SHA-256):"] + [f"  {sha} {size or '?'} bytes {name}" for name, sha, size in files]


def _categories(session: Session, posts: list[Post]) -> list[str]:
    hits: list[HitRecord] = hits_of_posts(session, [p.id for p in posts])
    labels = current_labels(session, [h.id for h in hits])
    effective = [h for h in hits if not is_excluded(labels.get(h.id))]
    counts = Counter(h.id_type for h in effective)
    subjects: dict[str, set[int]] = defaultdict(set)
    for hit in effective:
        if hit.subject_id is not None:
            subjects[hit.id_type].add(hit.subject_id)
    every = {h.subject_id for h in effective if h.subject_id is not None}
    lines = [f"Matched personal data of our customers (categories and counts only): {len(every)} people"]
    lines += [f"  {t}: {counts[t]} items, {len(subjects[t])} people" for t in sorted(counts)]
    return lines
