"""Which incident a post belongs to: reposts of one leak across venues form ONE incident.

A post joins every open incident it is linked to, and linked incidents merge into the oldest:

* **attachment** - it carried (or matched inside) a file with the same SHA-256;
* **subjects** - it shares at least ``subject_shared_min`` matched subjects with the incident, and
  the shared ones are at least ``subject_overlap_min`` of the smaller set (overlap coefficient);
* **text** - its fingerprint is rapidfuzz-similar (``ratio`` >= ``text_similarity_min``) to one of
  the incident's posts seen within ``text_window_days``; with at least one shared subject the bar is
  ``text_with_subject_min``.

  The fingerprint is the stored (redacted) title; fingerprints shorter than
  ``FINGERPRINT_MIN_CHARS`` letters are not compared at all (``샘플`` says nothing);
* **signature** - Telegram messages have no title, so the sink may store ``text_signature(text, key)``
  in ``post.extra["text_signature"]``: a bottom-k MinHash sketch of 5-character shingles, each
  hashed with HMAC-SHA256 under the key file's dedicated ``signature`` key, of the text after
  de-obfuscation (Hangul digit words, circled and full-width digits, "(at)"/"(dot)" ... undone) with
  every identifier-shaped run masked (e-mail addresses, every token holding a digit, runs of
  Hangul digit words). Without the key no shingle can be tested; with it, no shingle holds an
  identifier. Sketches whose estimated Jaccard similarity is >= ``signature_similarity_min`` link
  (with one shared subject, ``signature_with_subject_min``). Sketches made before the key (unkeyed
  BLAKE2b) simply stop matching new ones.

The thresholds are the ``[incidents]`` settings (:class:`leakmon.settings.IncidentSettings`).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

import re2
from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from leakmon.settings import IncidentSettings
from matchers.deobfuscate import HANGUL_DIGITS
from matchers.deobfuscate import normalize as deobfuscate
from matchers.trade import normalize
from storage.models.cases import EXCLUDING_LABELS, Incident
from storage.models.core import AttachmentRecord, Post
from storage.repositories.cases import incidents_by_attachment, recent_fingerprints, recent_signatures
from storage.repositories.hits import PostHits, post_files, shared_subjects

FINGERPRINT_MIN_CHARS = 12
FINGERPRINT_MAX_CHARS = 2000
SIGNATURE_SIZE = 64
SHINGLE = 5
#: Only the start of a very long post is sketched (its ad text; the rest is usually the dump).
SIGNATURE_MAX_CHARS = 64 * 1024
# RE2 (linear time): post text is hostile, and these run on all of it.
_EMAILISH = re2.compile(r"[^\s@]*@[^\s@]*")
_DIGIT_TOKEN = re2.compile(r"\w*\d\w*")
#: Masked tokens joined by the separators of digit groups ("010 3141-5926" is one run).
_MASK_RUN = re2.compile(r"#(?:[\s().+\-/]{0,3}#)+")
#: Hangul digit words the de-obfuscation left (runs of four or more digit syllables).
_HANGUL_DIGIT_RUN = re2.compile(
    "[" + "".join(HANGUL_DIGITS) + "](?:[\\s.\\-/]{0,2}[" + "".join(HANGUL_DIGITS) + "]){3,}"
)


def mask_identifiers(text: str) -> str:
    """``text`` de-obfuscated, with every identifier-shaped run replaced by one mask character."""
    plain = deobfuscate(text[:SIGNATURE_MAX_CHARS]).text
    plain = "".join("0" if ch.isnumeric() else ch for ch in plain)  # circled, superscript, CJK numerals
    plain = _EMAILISH.sub("@", plain)
    plain = _HANGUL_DIGIT_RUN.sub("#", plain)
    masked: str = _MASK_RUN.sub("#", _DIGIT_TOKEN.sub("#", plain))
    return masked


def text_signature(text: str, key: bytes) -> str:
    """A keyed bottom-k MinHash sketch of the text (space-separated hex), or "" for very short texts.

    Identifier-shaped runs are masked after de-obfuscation (:func:`mask_identifiers`); each
    5-character shingle is hashed with HMAC-SHA256 under ``key`` (the key file's ``signature`` key)
    and only the 64 smallest 64-bit prefixes are kept.
    """
    squashed = normalize(mask_identifiers(text)).replace(" ", "")
    shingles = {squashed[i : i + SHINGLE] for i in range(len(squashed) - SHINGLE + 1)}
    if len(shingles) < SHINGLE:
        return ""
    keyed = hmac.new(key, digestmod=hashlib.sha256)
    hashes = sorted({_prefix(keyed, shingle) for shingle in shingles})
    return " ".join(f"{h:016x}" for h in hashes[:SIGNATURE_SIZE])


def _prefix(keyed: hmac.HMAC, shingle: str) -> int:
    mac = keyed.copy()
    mac.update(shingle.encode())
    return int.from_bytes(mac.digest()[:8], "big")


def signature_similarity(first: str, second: str) -> float:
    """Estimated Jaccard similarity of two sketches (bottom-k of the union, share present in both)."""
    a, b = set(first.split()), set(second.split())
    if not a or not b:
        return 0.0
    union = sorted(a | b)[: min(SIGNATURE_SIZE, len(a | b))]
    return sum(1 for h in union if h in a and h in b) / len(union)


def fingerprint(post: Post) -> str:
    """The normalized title to compare reposts by, or "" when there is too little to go on."""
    text = normalize(post.title or "")[:FINGERPRINT_MAX_CHARS]
    return text if len(text.replace(" ", "")) >= FINGERPRINT_MIN_CHARS else ""


def signature(post: Post) -> str:
    """The sink-provided text signature, if any."""
    extra = post.extra if isinstance(post.extra, dict) else {}
    value = extra.get("text_signature")
    return value if isinstance(value, str) else ""


def linked_incidents(
    session: Session,
    post: Post,
    hits: PostHits,
    fingerprint_text: str,
    now: datetime,
    rules: IncidentSettings | None = None,
) -> dict[int, str]:
    """Open incidents this post is linked to, each with the first reason found (``hits``: the post's
    effective hits, summed up in SQL)."""
    rules = rules or IncidentSettings()
    window_start = now - timedelta(days=rules.text_window_days)
    links: dict[int, str] = {}
    files = set(hits.files) if hits.files is not None else post_files(session, post.id)
    files.update(session.scalars(select(AttachmentRecord.sha256).where(AttachmentRecord.post_id == post.id)))
    if hits.hits and files:
        for incident_id in incidents_by_attachment(session, files):
            links.setdefault(incident_id, "attachment")
    weak: set[int] = set()
    if hits.subjects:
        for incident_id, shared in shared_subjects(session, post.id, EXCLUDING_LABELS, hits.subjects).items():
            incident = session.get(Incident, incident_id)
            theirs = max(incident.subject_count if incident is not None else 0, shared)
            overlap = shared / min(hits.subjects, theirs)
            if shared >= rules.subject_shared_min and overlap >= rules.subject_overlap_min:
                links.setdefault(incident_id, "subjects")
            else:
                weak.add(incident_id)
    if hits.hits and fingerprint_text:
        for incident_id, other in recent_fingerprints(session, window_start):
            if incident_id in links:
                continue
            need = rules.text_with_subject_min if incident_id in weak else rules.text_similarity_min
            if fuzz.ratio(fingerprint_text, other, score_cutoff=need):
                links[incident_id] = "text"
    sketch = signature(post)
    if hits.hits and sketch:
        for incident_id, other in recent_signatures(session, window_start, exclude_post=post.id):
            if incident_id in links:
                continue
            need = rules.signature_with_subject_min if incident_id in weak else rules.signature_similarity_min
            if signature_similarity(sketch, other) >= need:
                links[incident_id] = "signature"
    return links
