"""Post-level confidence: one contact in an ad is weak, forty subjects in a sample is a leak.

``confidence = 1 - (1 - base) * (1 - TRADE_WEIGHT * trade_score)`` with
``base = best hit confidence * (FLOOR + (1 - FLOOR) * volume)`` and
``volume = min(1, log(1 + subjects) / log(1 + FULL_VOLUME_SUBJECTS))`` over the distinct protected
subjects the post (text and files) matched after triage. When the seller-contact heuristic fires,
the one identifier is probably the seller's own, so the post keeps only ``SELLER_CONTACT_FACTOR``
of the best hit's confidence and the trade score does not raise it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from matchers.model import EMAIL, PHONE
from storage.models.cases import PostScore
from storage.models.core import Post
from storage.repositories.hits import PostHits

FULL_VOLUME_SUBJECTS = 40
FLOOR = 0.35
TRADE_WEIGHT = 0.3
SELLER_CONTACT_FACTOR = 0.15
#: A post at or above this trade score is an ad, where a lone contact is likely the seller's.
SELLER_AD_TRADE_SCORE = 0.5
CONTACT_TYPES = frozenset({PHONE, EMAIL})


def seller_contact_hit(post: Post, hits: PostHits) -> tuple[int, str] | None:
    """The (id, type) of the hit that is probably the seller's contact: a trade ad whose text matched
    exactly one identifier, a phone or e-mail, of at most one subject, and no file matched anything."""
    if (post.trade_score or 0.0) < SELLER_AD_TRADE_SCORE or not hits.hits or hits.first is None:
        return None
    if hits.in_files or not hits.one_identity or not hits.one_subject:
        return None
    if hits.first[1] not in CONTACT_TYPES:
        return None
    return hits.first


def score_post(session: Session, post: Post, hits: PostHits) -> PostScore:
    """Compute and store the post's score from the summary of its hits that survived triage."""
    best = hits.best
    trade = post.trade_score or 0.0
    volume = min(1.0, math.log1p(hits.subjects) / math.log1p(FULL_VOLUME_SUBJECTS))
    seller = seller_contact_hit(post, hits)
    reasons = [f"{hits.subjects} distinct subject(s)", f"best hit {best:.2f}", f"trade score {trade:.2f}"]
    if seller is not None:
        confidence = best * SELLER_CONTACT_FACTOR
        reasons.append(f"hit {seller[0]} is probably the seller's contact (lone {seller[1]} in an ad)")
    else:
        base = best * (FLOOR + (1.0 - FLOOR) * volume)
        confidence = 1.0 - (1.0 - base) * (1.0 - TRADE_WEIGHT * trade)
    row = session.get(PostScore, post.id) or PostScore(post_id=post.id)
    row.subjects = hits.subjects
    row.hits = hits.hits
    row.max_hit_confidence = best
    row.trade_score = trade
    row.seller_contact_hit_id = seller[0] if seller is not None else None
    row.confidence = round(confidence, 4)
    row.reasons = reasons
    row.computed_at = datetime.now(UTC)
    session.add(row)
    return row
