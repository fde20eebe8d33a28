"""Counters of one crawl run and the summary returned to the CLI and the scheduler."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class CrawlSummary:
    """What one run of one source did (stored as the run's ``stats``)."""

    source: str
    run_id: int | None = None
    status: str = "running"  # running | ok | failed
    pages: int = 0  # pages fetched with content (2xx)
    not_modified: int = 0  # pages answered 304
    unchanged_pages: int = 0  # fetched, same content hash as last time
    skipped_seen: int = 0  # immutable pages not requested again
    posts: int = 0
    new_posts: int = 0
    changed_posts: int = 0
    unchanged_posts: int = 0
    removed: int = 0
    attachments: int = 0
    attachment_bytes: int = 0
    hits: int = 0
    new_hits: int = 0
    errors: int = 0
    findings: dict[str, int] = field(default_factory=dict)
    finish_reason: str | None = None
    error: str | None = None

    def add_finding(self, kind: str) -> None:
        counts = Counter(self.findings)
        counts[kind] += 1
        self.findings = dict(counts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CrawlSummary:
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})

    def line(self) -> str:
        """One human line, e.g. for logs and the CLI."""
        return (
            f"{self.source}: {self.status}, {self.pages} pages ({self.not_modified} not modified), "
            f"{self.posts} posts ({self.new_posts} new, {self.changed_posts} changed), "
            f"{self.attachments} attachments, {self.hits} hits ({self.new_hits} new), "
            f"{self.removed} removed, {self.errors} errors"
        )
