"""What every leakmon spider shares: requests with the source's limits, errors as findings,
capped attachment downloads, and the incremental state loaded before the crawl."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import scrapy
from scrapy import Request
from scrapy.http import Response
from sqlalchemy.orm import Session, sessionmaker
from twisted.python.failure import Failure
from w3lib.url import canonicalize_url

from crawlers import spool
from crawlers.interface import PostSink
from crawlers.model import Attachment, Finding
from crawlers.web.config import SourceConfig
from crawlers.web.failures import finding_for
from crawlers.web.state import PageStates
from crawlers.web.summary import CrawlSummary

ProgressCallback = Callable[[CrawlSummary], None]

_UNSAFE_NAME = re.compile(r"[^\w.\-가-힣 ]+")


def canonical(url: str) -> str:
    """The URL the incremental state is keyed by (sorted query, no fragment)."""
    return canonicalize_url(url)


def file_name(url: str, response: Response | None = None) -> str:
    """A display name for a downloaded file (metadata only, never a path)."""
    if response is not None:
        disposition = (response.headers.get(b"Content-Disposition") or b"").decode("latin-1")
        match = re.search(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)", disposition, re.IGNORECASE)
        if match:
            return _UNSAFE_NAME.sub("_", unquote(match.group(1)))[:200] or "attachment"
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return _UNSAFE_NAME.sub("_", name)[:200] or "attachment"


def extension(url: str) -> str:
    name = urlsplit(url).path.rsplit("/", 1)[-1].lower()
    return name.rsplit(".", 1)[-1] if "." in name else ""


class WebSpider(scrapy.Spider):
    """Base spider; constructed by the runner with the job, the sink and the loaded state."""

    name = "leakmon_web"

    def __init__(
        self,
        *,
        source: str,
        config: SourceConfig,
        sink: PostSink,
        sessions: sessionmaker[Session],
        pages: PageStates,
        checkpoints: Mapping[str, str] | None = None,
        run_id: int | None = None,
        progress: ProgressCallback | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=f"leakmon.{source}", **kwargs)
        self.source = source
        self.config = config
        self.sink = sink
        self.sessions = sessions
        self.pages = pages
        self.checkpoints = dict(checkpoints or {})
        self.progress = progress
        self.allowed_domains = list(config.allowed_domains)
        self.start_urls = list(config.start_urls)
        self.secret_headers, self.secret_cookies = config.resolve_secrets()
        self.summary = CrawlSummary(source=source, run_id=run_id)
        self.findings: list[Finding] = []
        self.present_posts: set[str] = set()
        self.missing_posts: set[str] = set()
        self.tmpdir = spool.create("crawl")  # inside the workspace; a killed crawl's is removed next time

    # -- requests -------------------------------------------------------------------------------

    def page_request(
        self,
        url: str,
        *,
        depth: int,
        role: str = "document",
        callback: Callable[..., Any] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Request:
        """A page request carrying the source's cap, secrets, state key and error handling."""
        return Request(
            url,
            callback=callback or self.parse,
            errback=self.on_error,
            headers=self.secret_headers or None,
            cookies=cast(Any, self.secret_cookies or None),
            priority=-depth,
            meta={
                "lm_key": canonical(url),
                "lm_depth": depth,
                "lm_role": role,
                "lm_conditional": self.config.effective_revisit == "conditional",
                "handle_httpstatus_list": [304, 404, 410],
                "download_maxsize": self.config.max_page_bytes,
                **(meta or {}),
            },
        )

    def on_error(self, failure: Failure) -> None:
        """A request failed after retries: record a finding for this run."""
        request: Request = failure.request  # type: ignore[attr-defined]
        url = request.meta.get("redirect_urls", [request.url])[0]
        self.record(finding_for(failure, url, meta=request.meta))

    def record(self, finding: Finding) -> None:
        self.findings.append(finding)
        self.summary.errors += 1
        self.summary.add_finding(finding.kind)
        self.logger.warning("finding %s at %s: %s", finding.kind, finding.locator, finding.reason)

    # -- attachments ----------------------------------------------------------------------------

    async def fetch_attachment(self, url: str, name: str | None = None) -> tuple[Attachment, tuple[Finding, ...]]:
        """Download one linked file under the byte cap (checked on Content-Length and while reading)."""
        cap = self.config.max_attachment_bytes
        request = Request(
            url,
            headers=self.secret_headers or None,
            cookies=cast(Any, self.secret_cookies or None),
            dont_filter=True,
            meta={"download_maxsize": cap, "download_warnsize": 0, "lm_role": "attachment"},
        )
        engine = self.crawler.engine
        if engine is None:
            raise RuntimeError("attachment download before the engine started")
        try:
            response = await engine.download_async(request)
        except Exception as exc:
            finding = finding_for(exc, url, meta=request.meta)
            if finding.kind == "cap_bytes":
                finding = Finding(url, "cap_bytes", f"attachment larger than {cap} bytes: not downloaded")
            return Attachment(name=name or file_name(url), url=url, skipped_reason=finding.reason), (finding,)
        if response.status != 200:
            finding = Finding(url, "http_error", f"HTTP {response.status}")
            return Attachment(name=name or file_name(url), url=url, skipped_reason=finding.reason), (finding,)
        data = response.body
        mime = (response.headers.get(b"Content-Type") or b"").decode("latin-1").split(";")[0].strip() or None
        display = name or file_name(url, response)
        self.summary.attachments += 1
        self.summary.attachment_bytes += len(data)
        if len(data) <= self.config.memory_attachment_bytes:
            return Attachment(name=display, data=data, declared_size=len(data), mime_type=mime, url=url), ()
        handle = tempfile.NamedTemporaryFile(dir=self.tmpdir, delete=False, suffix=".bin")  # noqa: SIM115
        with handle:
            handle.write(data)
        path = Path(handle.name)
        return Attachment(name=display, path=path, declared_size=len(data), mime_type=mime, url=url), ()

    def closed(self, reason: str) -> None:
        self.summary.finish_reason = reason
        spool.remove(self.tmpdir)
