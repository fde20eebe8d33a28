"""Which incident a post belongs to: reposts of one leak across venues form ONE incident.

A post joins every open incident it is linked to, and linked incidents merge into the oldest:

* **attachment** - it carried (or matched inside) a file with the same SHA-256;
* **subjects** - it shares at least ``SUBJECT_SHARED_MIN`` matched subjects with the incident, and
  the shared ones are at least ``SUBJECT_OVERLAP_MIN`` of the smaller set (overlap coefficient);
* **text** - its fingerprint is rapidfuzz-similar (``ratio`` >= ``TEXT_SIMILARITY_MIN``) to one of
  the incident's posts seen within ``TEXT_WINDOW``; with at least one shared subject the bar is
  ``TEXT_WITH_SUBJECT_MIN``.

The fingerprint is ``post.extra["text_fingerprint"]`` when the sink provides one (normalized text
with identifier candidates replaced by their type), else the stored (redacted) title; fingerprints
shorter than ``FINGERPRINT_MIN_CHARS`` letters are not compared at all (``샘플`` says nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchers.trade import normalize
from storage.models.cases import Incident
from storage.models.core import AttachmentRecord, HitRecord, Post
from storage.repositories.cases import incidents_by_attachment, incidents_by_subjects, recent_fingerprints

SUBJECT_SHARED_MIN = 2
SUBJECT_OVERLAP_MIN = 0.5
TEXT_SIMILARITY_MIN = 90.0
TEXT_WITH_SUBJECT_MIN = 75.0
TEXT_WINDOW = timedelta(days=30)
FINGERPRINT_MIN_CHARS = 12
FINGERPRINT_MAX_CHARS = 2000


def fingerprint(post: Post) -> str:
    """A normalized text to compare reposts by, or "" when there is too little to go on."""
    extra = post.extra if isinstance(post.extra, dict) else {}
    given = extra.get("text_fingerprint")
    basis = given if isinstance(given, str) and given else (post.title or "")
    text = normalize(basis)[:FINGERPRINT_MAX_CHARS]
    return text if len(text.replace(" ", "")) >= FINGERPRINT_MIN_CHARS else ""


def linked_incidents(
    session: Session, post: Post, hits: Sequence[HitRecord], fingerprint_text: str, now: datetime
) -> dict[int, str]:
    """Open incidents this post is linked to, each with the first reason found."""
    links: dict[int, str] = {}
    files = {h.attachment_sha256 for h in hits if h.attachment_sha256}
    files.update(session.scalars(select(AttachmentRecord.sha256).where(AttachmentRecord.post_id == post.id)))
    if hits and files:
        for incident_id in incidents_by_attachment(session, files):
            links.setdefault(incident_id, "attachment")
    subjects = {h.subject_id for h in hits if h.subject_id is not None}
    weak: set[int] = set()
    if subjects:
        for incident_id, shared in incidents_by_subjects(session, subjects).items():
            incident = session.get(Incident, incident_id)
            theirs = max(incident.subject_count if incident is not None else 0, shared)
            overlap = shared / min(len(subjects), theirs)
            if shared >= SUBJECT_SHARED_MIN and overlap >= SUBJECT_OVERLAP_MIN:
                links.setdefault(incident_id, "subjects")
            else:
                weak.add(incident_id)
    if hits and fingerprint_text:
        for incident_id, other in recent_fingerprints(session, now - TEXT_WINDOW):
            if incident_id in links:
                continue
            need = TEXT_WITH_SUBJECT_MIN if incident_id in weak else TEXT_SIMILARITY_MIN
            if fuzz.ratio(fingerprint_text, other, score_cutoff=need):
                links[incident_id] = "text"
    return links
