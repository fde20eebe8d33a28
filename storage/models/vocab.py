"""The stored vocabularies storage owns: post, attachment, run and incident statuses, triage labels.

Each value is a stored string (API): a ``StrEnum`` member *is* its string, so rows written before
these enums existed read back unchanged. Change a value only with a migration and a changelog line.
"""

from __future__ import annotations

from enum import StrEnum


class PostStatus(StrEnum):
    """``posts.status``: whether every file of the post was read whole."""

    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"


class AttachmentStatus(StrEnum):
    """``attachments.status``: what reading one file came to."""

    OK = "ok"
    PARTIAL = "partial"
    SKIPPED = "skipped"
    FAILED = "failed"


class PostChange(StrEnum):
    """What writing a crawled post did to the stored one (an ingest result, not stored)."""

    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


class RunStatus(StrEnum):
    """``runs.status``."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    DEFERRED = "deferred"
    INTERRUPTED = "interrupted"  # its end was never recorded (storage.repositories.runs.mark_interrupted)


class IncidentStatus(StrEnum):
    """``incidents.status``."""

    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


class HitLabelValue(StrEnum):
    """``hit_labels.label``: a triage decision on a hit."""

    CONFIRMED = "confirmed"
    FALSE_POSITIVE = "false_positive"
    SELLER_CONTACT = "seller_contact"
    TEST_DATA = "test_data"


__all__ = ["AttachmentStatus", "HitLabelValue", "IncidentStatus", "PostChange", "PostStatus", "RunStatus"]
