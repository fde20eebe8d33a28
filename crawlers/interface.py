"""The ingest port every venue writes to (spiders, Telegram reader, export importer, `scan`).

The real implementation is :class:`crawlers.ingest.IngestSink`; tests of a venue may use a fake
that records what it was given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from crawlers.model import CrawledPost, Finding
from storage.models.vocab import PostChange


@dataclass(frozen=True, slots=True)
class CheckpointUpdate:
    """A resume point advanced in the same transaction as the post's hits.

    ``scope`` names the state family (``telegram``, ``crawl``), ``key`` the unit within it
    (marked chat id, canonical URL) and ``value`` the new position (last message id, content hash).
    """

    scope: str
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What ingesting one post did."""

    post_id: int | None
    status: PostChange
    hits: int = 0
    new_hits: int = 0
    findings: tuple[Finding, ...] = field(default_factory=tuple)


class PostSink(Protocol):
    """Stores a post, its attachments' metadata, its hits and the checkpoint in one transaction."""

    def ingest(
        self,
        post: CrawledPost,
        *,
        checkpoint: CheckpointUpdate | None = None,
        passwords: tuple[str, ...] = (),
        findings: tuple[Finding, ...] = (),
    ) -> IngestResult: ...

    def record_removed(self, source: str, external_id: str) -> bool:
        """Mark a previously seen post as gone from its venue (evidence a takedown worked)."""
        ...

    def record_findings(self, source: str, findings: tuple[Finding, ...]) -> None:
        """Store findings not tied to a post (DNS failure, flood wait, dead source)."""
        ...
