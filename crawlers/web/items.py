"""What spiders yield to the pipeline: a post to ingest, or a page's new incremental state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crawlers.interface import CheckpointUpdate
from crawlers.model import CrawledPost, Finding
from storage.repositories.crawl import PageState


@dataclass(frozen=True, slots=True)
class PostItem:
    """A post for the sink, with the passwords its text offers and findings about its files."""

    post: CrawledPost
    passwords: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    checkpoint: CheckpointUpdate | None = None
    temp_paths: tuple[Path, ...] = ()
    page_key: str | None = None  # the page it came from: that page's state waits for its posts

    def __repr__(self) -> str:  # Scrapy logs items: never their text
        return f"PostItem({self.post.source!r}, {self.post.external_id!r})"


@dataclass(frozen=True, slots=True)
class PageItem:
    """A fetched page's state, written after the posts it held were ingested.

    ``outcome`` is ``changed`` (new or different content), ``unchanged`` (same content hash),
    ``not_modified`` (304) or ``removed`` (404/410 for a page seen before).
    """

    state: PageState
    outcome: str
