"""Downloader and spider middlewares of the web crawler, each one job, wired in scrapy_settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urljoin

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.utils.httpobj import urlparse_cached
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding

from crawlers.model import Finding
from crawlers.web.config import is_onion
from crawlers.web.failures import FINDING_META, OffsiteRefused

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawlers.web.spiders.base import WebSpider


class _SpiderAware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @property
    def spider(self) -> WebSpider:
        return self.crawler.spider  # type: ignore[return-value]


class OriginGuardMiddleware(_SpiderAware):
    """Refuse any request, redirect hops included, outside the source's scheme, hosts and ports.

    Attachments are downloaded with ``dont_filter`` (which Scrapy's offsite check honours) and
    Scrapy compares hosts without ports; this check has neither gap, so the source's secret
    headers and cookies are only ever sent to its own origins. A refusal is an ``offsite`` finding.
    """

    def process_request(self, request: Request) -> None:
        if self.spider.config.allows(request.url):
            return
        chain = request.meta.get("redirect_urls") or []
        first = chain[0] if chain else request.url
        what = f"redirected (after {len(chain)} hop(s)) to" if chain else "a request to"
        finding = Finding(first, "offsite", f"{what} another scheme, host or port than the source's: not fetched")
        request.meta[FINDING_META] = finding
        raise OffsiteRefused(finding)


class ProxyEnforcementMiddleware(_SpiderAware):
    """Send every request of a proxied source through its proxy; refuse .onion without one.

    A request without ``meta["proxy"]`` would go to clearnet, so an .onion request that has no
    proxy is dropped here (finding ``proxy_required``) rather than leaked to a DNS resolver.
    """

    def process_request(self, request: Request) -> None:
        proxy = self.spider.config.proxy
        if proxy and "proxy" not in request.meta:
            request.meta["proxy"] = proxy
        if is_onion(urlparse_cached(request).hostname) and not request.meta.get("proxy"):
            request.meta[FINDING_META] = Finding(request.url, "proxy_required", ".onion request without a proxy")
            raise IgnoreRequest(".onion request without a proxy")


class ConditionalRequestMiddleware(_SpiderAware):
    """Revalidate pages seen before with If-None-Match / If-Modified-Since (answer: 304)."""

    def process_request(self, request: Request) -> None:
        key = request.meta.get("lm_key")
        if not key or not request.meta.get("lm_conditional"):
            return
        state = self.spider.pages.get(key)
        if state is None or state.removed:
            return
        if state.etag:
            request.headers.setdefault(b"If-None-Match", state.etag.encode("latin-1"))
        if state.last_modified:
            request.headers.setdefault(b"If-Modified-Since", state.last_modified.encode("latin-1"))


class RedirectLoopMiddleware:
    """Turn a redirect back to a URL already on the chain into a ``redirect_loop`` finding.

    Scrapy's RedirectMiddleware would otherwise let the dupefilter drop the looping request
    silently. Its process_response runs before RedirectMiddleware's (higher order number).
    """

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location")
        if response.status not in (301, 302, 303, 307, 308) or not location:
            return response
        target = urljoin(request.url, location.decode("latin-1"))
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain:
            first = chain[0]
            request.meta[FINDING_META] = Finding(first, "redirect_loop", f"redirect loop after {len(chain)} hops")
            raise IgnoreRequest("redirect loop")
        return response


class CharsetFixMiddleware:
    """Decode Korean pages whose declared charset is wrong or missing.

    Scrapy trusts the HTTP header first, so CP949 bytes served as UTF-8 become mojibake. Here a
    body that is not valid UTF-8 but declared (or guessed) as UTF-8 is re-read as strict CP949;
    EUC-KR labels already map to CP949 in w3lib.
    """

    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, TextResponse):
            return response
        declared = http_content_type_encoding((response.headers.get(b"Content-Type") or b"").decode("latin-1"))
        if declared is None and isinstance(response, HtmlResponse):
            declared = html_body_declared_encoding(response.body)
        if declared not in (None, "utf-8", "utf8"):
            return response
        body = response.body
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            try:
                body.decode("cp949")
            except UnicodeDecodeError:
                return response
            return response.replace(encoding="cp949")
        return response


class ParseErrorMiddleware(_SpiderAware):
    """A callback that raised (a page the selectors did not expect) becomes a ``parse_error`` finding."""

    def process_spider_exception(self, response: Response, exception: Exception) -> list[Any]:
        # Only the type: a parser's message can quote page text, and page text can hold identifiers.
        self.spider.record(
            Finding(response.url, "parse_error", f"the page could not be parsed ({type(exception).__name__})")
        )
        return []


class SkipSeenDocumentsMiddleware(_SpiderAware):
    """For immutable sources (``revisit = "never"``, e.g. pastes) drop requests for documents seen before.

    The async-generator form Scrapy >= 2.16 requires; it replaces scrapy-deltafetch, whose
    sync middleware aborts the crawl and which would never re-read a forum thread anyway.
    """

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        spider = self.spider
        never = spider.config.effective_revisit == "never"
        async for item in result:
            if never and isinstance(item, Request) and item.meta.get("lm_role") == "document":
                seen = spider.pages.get(item.meta.get("lm_key", ""))
                if seen is not None and not seen.removed:
                    spider.summary.skipped_seen += 1
                    spider.present_posts.update(seen.post_ids)
                    continue
            yield item
