"""Forums, paste sites and generic sites: follow in-domain links to the configured depth.

Each page is one document, or each element matched by ``selectors.post`` is one post. Linked
files whose extension is listed (or that ``selectors.attachments`` picks) are downloaded under
the byte cap and handed over with their post. A page whose content is not HTML becomes a
document carrying its body as the attachment (or as text, for plain-text pastes).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from parsel import Selector
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS, LinkExtractor

from crawlers.model import Attachment, CrawledPost, Finding
from crawlers.web.items import PageItem, PostItem
from crawlers.web.spiders.base import WebSpider, canonical, extension, file_name
from crawlers.web.text import element_text, first_text, parse_time, passwords_in
from storage.repositories.crawl import PageState

#: Stored links to a listing's next page carry this prefix (a canonical URL has no space): they are
#: followed at the listing's own depth, since pagination is not a hop.
NEXT_PAGE = "next "


class SiteSpider(WebSpider):
    """The spider for kinds ``forum``, ``paste`` and ``site``."""

    name = "leakmon_site"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        exts = set(self.config.attachment_extensions)
        self.file_extensions = exts
        # Domains are checked on the host name below: LinkExtractor's allow_domains compares the
        # netloc, port included.
        self.follow_links = LinkExtractor(
            deny_extensions=sorted(set(IGNORED_EXTENSIONS) | exts),
            restrict_css=self.config.selectors.links or (),
        )

    async def start(self) -> AsyncIterator[Any]:
        for url in self.start_urls:
            yield self.page_request(url, depth=0, role="listing")
        if self.config.effective_revisit == "conditional":
            # Revalidate recently changed pages even if no listing links them any more: a 404 there
            # is a removal, and a thread's later pages get replies while its first page stays the same.
            since = datetime.now(UTC) - timedelta(days=self.config.revisit_days)
            for state in self.pages.values():
                recent = state.last_changed is None or state.last_changed >= since
                if not state.removed and recent and state.depth <= self.config.depth:
                    yield self.page_request(state.url, depth=state.depth)

    async def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        meta = response.meta
        key: str = meta["lm_key"]
        depth: int = meta["lm_depth"]
        previous = self.pages.get(key)
        if response.status == 304 and previous is not None:
            self.summary.not_modified += 1
            self.present_posts.update(previous.post_ids)
            yield PageItem(previous, "not_modified")
            for request in self._follow(previous.links, depth):
                yield request
            return
        if response.status in (404, 410, 304):
            if previous is not None and not previous.removed:
                yield PageItem(
                    PageState(url=key, depth=depth, status=response.status, removed=True, post_ids=previous.post_ids),
                    "removed",
                )
            elif previous is None or response.status == 304:
                self.record(Finding(response.url, "http_error", f"HTTP {response.status}"))
            # else: a page already recorded as removed is still gone; that is no error of the source
            return
        self.summary.pages += 1
        content_hash = hashlib.sha256(response.body).hexdigest()
        is_html = isinstance(response, HtmlResponse)
        links = self._links(response, depth) if is_html else []
        etag = _header(response, b"ETag")
        last_modified = _header(response, b"Last-Modified")
        if previous is not None and previous.content_hash == content_hash and not previous.removed:
            self.summary.unchanged_pages += 1
            self.present_posts.update(previous.post_ids)
            state = PageState(
                url=key,
                depth=depth,
                content_hash=content_hash,
                links=tuple(links),
                post_ids=previous.post_ids,
                etag=etag,
                last_modified=last_modified,
            )
            yield PageItem(state, "unchanged")
        else:
            items = await (self._html_posts(response, key) if is_html else self._file_post(response, key))
            post_ids = tuple(item.post.external_id for item in items)
            self.present_posts.update(post_ids)
            if previous is not None:
                self.missing_posts.update(set(previous.post_ids) - set(post_ids))
            for item in items:
                yield item
            state = PageState(
                url=key,
                depth=depth,
                content_hash=content_hash,
                links=tuple(links),
                post_ids=post_ids,
                etag=etag,
                last_modified=last_modified,
            )
            yield PageItem(state, "changed")
        for request in self._follow(links, depth):
            yield request

    # -- links ----------------------------------------------------------------------------------

    def _links(self, response: Response, depth: int) -> list[str]:
        """In-domain links to follow one hop deeper, then the next pages (marked with NEXT_PAGE)."""
        pages: list[str] = []
        if self.config.selectors.next_page:
            hrefs = response.css(self.config.selectors.next_page).css("::attr(href)").getall()
            pages = [response.urljoin(href) for href in hrefs]
            pages = [url for url in pages if self.config.allows(url)]
        hops: list[str] = []
        if depth < self.config.depth:
            listed = {canonical(url) for url in pages}
            urls = (link.url for link in self.follow_links.extract_links(cast(HtmlResponse, response)))
            hops = [url for url in urls if self.config.allows(url) and canonical(url) not in listed]
        return list(dict.fromkeys([*hops, *(NEXT_PAGE + url for url in pages)]))

    def _follow(self, links: tuple[str, ...] | list[str], depth: int) -> list[Any]:
        """Requests for stored links: a next page at this depth, any other link one hop deeper."""
        requests = []
        for link in links:
            if link.startswith(NEXT_PAGE):
                requests.append(self.page_request(link.removeprefix(NEXT_PAGE), depth=depth, role="listing"))
            elif depth < self.config.depth:
                requests.append(self.page_request(link, depth=depth + 1))
        return requests

    def _file_links(self, selector: Selector, base: Response, *, explicit: bool) -> list[str]:
        css = self.config.selectors.attachments
        anchors = selector.css(css) if css else selector.css("a[href]")
        urls = [base.urljoin(href) for href in anchors.css("::attr(href)").getall()]
        keep = [url for url in urls if (explicit and css) or extension(url) in self.file_extensions]
        keep = [url for url in keep if self.config.allows(url)]
        return list(dict.fromkeys(keep))

    # -- documents ------------------------------------------------------------------------------

    async def _html_posts(self, response: Response, key: str) -> list[PostItem]:
        selectors = self.config.selectors
        title = (
            first_text(cast(HtmlResponse, response).selector, selectors.title)
            or (response.css("title::text").get() or "").strip()
            or None
        )
        elements = (
            response.css(selectors.post) if selectors.post else response.css("body") or [Selector(text=response.text)]
        )
        items: list[PostItem] = []
        for index, element in enumerate(elements):
            external_id, url = self._identify(element, index, len(elements), key, response.url)
            text = element_text(element)
            files = self._file_links(element, response, explicit=bool(selectors.post))
            attachments, findings, temp = await self._attachments(files)
            post = CrawledPost(
                source=self.source,
                external_id=external_id,
                venue=self.config.kind,
                text=text,
                url=url,
                title=title,
                author=first_text(element, selectors.author) if selectors.author else None,
                posted_at=parse_time(first_text(element, selectors.date), self.config.timezone)
                if selectors.date
                else None,
                attachments=attachments,
            )
            items.append(PostItem(post, passwords_in(text), findings, None, temp, key))
        return items

    def _identify(self, element: Selector, index: int, count: int, key: str, page_url: str) -> tuple[str, str]:
        selectors = self.config.selectors
        if not selectors.post:
            return key, page_url
        value = first_text(element, selectors.post_id) if selectors.post_id else None
        attrib = element.attrib if not isinstance(element.root, str) else {}
        value = value or attrib.get("data-post-id") or attrib.get("data-id") or attrib.get("id")
        if value:
            netloc = urlsplit(key).netloc
            return f"{netloc}#{value}", f"{page_url.split('#')[0]}#{value}"
        if count == 1 and self.config.kind != "forum":
            return key, page_url
        return f"{key}#{index}", page_url

    async def _file_post(self, response: Response, key: str) -> list[PostItem]:
        content_type = _header(response, b"Content-Type") or ""
        if isinstance(response, TextResponse) and content_type.startswith("text/plain"):
            text = response.text
            post = CrawledPost(
                self.source, key, self.config.kind, text=text, url=response.url, title=file_name(response.url)
            )
            return [PostItem(post, passwords_in(text), page_key=key)]
        attachment = Attachment(
            name=file_name(response.url, response),
            data=response.body,
            declared_size=len(response.body),
            mime_type=content_type.split(";")[0].strip() or None,
            url=response.url,
        )
        self.summary.attachments += 1
        self.summary.attachment_bytes += len(response.body)
        post = CrawledPost(
            self.source, key, self.config.kind, url=response.url, title=attachment.name, attachments=(attachment,)
        )
        return [PostItem(post, page_key=key)]

    async def _attachments(
        self, urls: list[str]
    ) -> tuple[tuple[Attachment, ...], tuple[Finding, ...], tuple[Path, ...]]:
        attachments: list[Attachment] = []
        findings: list[Finding] = []
        for url in urls:
            attachment, found = await self.fetch_attachment(url)
            attachments.append(attachment)
            findings.extend(found)
            for finding in found:
                self.summary.errors += 1
                self.summary.add_finding(finding.kind)
        temp = tuple(a.path for a in attachments if a.path is not None)
        return tuple(attachments), tuple(findings), temp


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


__all__ = ["SiteSpider", "canonical"]
