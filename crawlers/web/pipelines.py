"""The item pipeline: posts go to the sink, page state to ``seen_pages``, run findings to ``findings``.

Page state is stored in its redacted form (:mod:`crawlers.web.state`): URLs and links with an
identifier as keyed references, post ids as the sink's references.

Posts of a page are ingested before the page's state is written, so a crash in between only
makes the next run re-read that page; the sink's content hash makes the repeat harmless.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Self

from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.orm import Session, sessionmaker

from crawlers.model import Finding
from crawlers.redact import redact, redact_url
from crawlers.web.items import PageItem, PostItem
from storage.failures import storage_failure
from storage.repositories import crawl as crawl_repo
from storage.repositories.runs import add_findings

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawlers.web.spiders.base import WebSpider

PROGRESS_EVERY_SECONDS = 0.25


class SinkPipeline:
    """Hands posts to the spider's :class:`~crawlers.interface.PostSink` and keeps the run's books."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._last_progress = 0.0
        self._failed_pages: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @property
    def spider(self) -> WebSpider:
        return self.crawler.spider  # type: ignore[return-value]

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.spider.sessions

    def process_item(self, item: Any) -> Any:
        if isinstance(item, PostItem):
            self._ingest(item)
        elif isinstance(item, PageItem):
            self._save_page(item)
        self._progress()
        return item

    def _ingest(self, item: PostItem) -> None:
        spider = self.spider
        try:
            result = spider.sink.ingest(
                item.post, checkpoint=item.checkpoint, passwords=item.passwords, findings=item.findings
            )
        except Exception as exc:
            # The page's state is not advanced, so the next run reads the page (and this post) again.
            if item.page_key:
                self._failed_pages.add(item.page_key)
            if self._storage_failed(exc):
                return
            # Only the type: a database error's message can quote the row (post text, titles).
            reason = f"the sink failed ({type(exc).__name__}); the page is read again next run"
            spider.record(Finding(item.post.url or item.post.external_id, "ingest_error", reason))
            return
        finally:
            for path in item.temp_paths:
                path.unlink(missing_ok=True)
        summary = spider.summary
        summary.posts += 1
        summary.hits += result.hits
        summary.new_hits += result.new_hits
        if result.status == "new":
            summary.new_posts += 1
        elif result.status == "changed":
            summary.changed_posts += 1
        else:
            summary.unchanged_posts += 1

    def _save_page(self, item: PageItem) -> None:
        source = self.spider.source
        if item.state.url in self._failed_pages or self.spider.summary.error is not None:
            return
        pages = self.spider.pages
        key = pages.stored_url(item.state.url)
        try:
            with self.sessions.begin() as session:
                if item.outcome == "not_modified":
                    crawl_repo.touch_page(session, source, key)
                elif item.outcome == "removed":
                    crawl_repo.mark_page_removed(session, source, key, item.state.status)
                else:
                    crawl_repo.save_page(session, source, pages.stored_state(item.state), redacted=True)
                    if key != item.state.url:  # a row from before the rule, keyed by the raw URL
                        crawl_repo.forget_page(session, source, item.state.url)
        except Exception as exc:
            if self._storage_failed(exc):
                return
            raise
        if item.outcome == "removed":
            for external_id in item.state.post_ids:
                self._removed(external_id)

    def _removed(self, external_id: str) -> None:
        try:
            removed = self.spider.sink.record_removed(self.spider.source, external_id)
        except Exception as exc:
            if self._storage_failed(exc):
                return
            self.spider.record(
                Finding(external_id, "ingest_error", f"recording the removal failed ({type(exc).__name__})")
            )
            return
        if removed:
            self.spider.summary.removed += 1

    def _progress(self, *, force: bool = False) -> None:
        callback = self.spider.progress
        now = time.monotonic()
        if callback is not None and (force or now - self._last_progress >= PROGRESS_EVERY_SECONDS):
            self._last_progress = now
            callback(self.spider.summary)

    def _storage_failed(self, exc: BaseException) -> bool:
        """A full disk or a read-only workspace ends the run with one sentence (``summary.error``).

        Every later write would fail the same way, so the crawl stops instead of recording an
        error per page; the pages not stored are read again by the next run.
        """
        reason = storage_failure(exc)
        if reason is None:
            return False
        summary = self.spider.summary
        if summary.error is None:
            summary.error = reason
            summary.errors += 1
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="storage_failure"))
        return True

    def close_spider(self) -> None:
        spider = self.spider
        if spider.summary.error is not None:  # the storage refused writes: these would fail too
            self._progress(force=True)
            return
        # Posts that left a page and showed up nowhere else in this run are gone from the venue.
        # Stored post ids are references: compare both sides as references.
        pages = spider.pages
        for external_id in sorted(pages.post_refs(spider.missing_posts) - pages.post_refs(spider.present_posts)):
            self._removed(external_id)
        if spider.findings:
            # Under the one redaction rule, as the sink stores its findings; a locator is mostly a
            # URL, judged percent-decoded (?mail=kim%40naver.com).
            rows = [(redact_url(f.locator) or f.locator, f.kind, redact(f.reason)) for f in spider.findings]
            with self.sessions.begin() as session:
                add_findings(session, spider.source, rows, run_id=spider.summary.run_id)
        self._progress(force=True)
