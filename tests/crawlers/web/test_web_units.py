"""Pure pieces of the crawler: text extraction, parsers, failure classification, middlewares."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from parsel import Selector
from scrapy import Request
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import HtmlResponse, Response
from scrapy.spidermiddlewares.httperror import HttpError

from crawlers.web.config import SourceConfig
from crawlers.web.failures import finding_for
from crawlers.web.middlewares import (
    CharsetFixMiddleware,
    ConditionalRequestMiddleware,
    ProxyEnforcementMiddleware,
    RedirectLoopMiddleware,
)
from crawlers.web.text import element_text, parse_size, parse_time, passwords_in
from storage.repositories.crawl import PageState


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<div>010-<b>1234</b>-5678</div>", "010-1234-5678"),
        ("<div>line one<br>line two</div>", "line one\nline two"),
        ("<div><p>a</p><p>b</p></div>", "a\nb"),
        ("<div>x<script>var s='LEAK'</script><style>p{}</style>y</div>", "xy"),
        ("<div>  many   \t spaces&nbsp;here </div>", "many spaces here"),
        ("<div>홍<span>길동</span> <!-- c -->님</div>", "홍길동 님"),
    ],
)
def test_element_text(html: str, text: str) -> None:
    assert element_text(Selector(text=html).css("div")[0]) == text


@pytest.mark.parametrize(
    ("text", "passwords"),
    [
        ("zip pw: infected", ("infected",)),
        ("비번: 1234 / 압축 비번 : 5678", ("1234", "5678")),
        ("Password=Secr3t! and PASS: Secr3t!", ("Secr3t!",)),
        ("비밀번호：abc", ("abc",)),
        ("no password here", ()),
    ],
)
def test_passwords_in(text: str, passwords: tuple[str, ...]) -> None:
    assert passwords_in(text) == passwords


def test_parse_time_and_size() -> None:
    assert parse_time("2026-11-20T09:00:00+09:00") == datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    assert parse_time("2026.11.20 09:00") == datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # naive = Asia/Seoul
    assert parse_time("yesterday") is None
    assert parse_size("2.4 MB") == 2_400_000
    assert parse_size("512 KiB") == 524_288
    assert parse_size("big") is None


def _failure_cases() -> list[Any]:
    request = Request("http://a.test/x")
    return [
        pytest.param(CannotResolveHostError("a.test"), "dns_error", id="dns"),
        pytest.param(DownloadTimeoutError("took longer"), "timeout", id="timeout"),
        pytest.param(DownloadCancelledError("expected size larger"), "cap_bytes", id="cap"),
        pytest.param(ResponseDataLossError(), "truncated", id="truncated"),
        pytest.param(HttpError(Response("http://a.test/x", status=503, request=request)), "http_error", id="http"),
        pytest.param(IgnoreRequest("Forbidden by robots.txt"), "robots_denied", id="robots"),
        pytest.param(IgnoreRequest("max redirections reached"), "redirect_loop", id="redirects"),
    ]


@pytest.mark.parametrize(("exc", "kind"), _failure_cases())
def test_failures_become_stable_finding_kinds(exc: BaseException, kind: str) -> None:
    assert finding_for(exc, "http://a.test/x").kind == kind


def test_a_429_finding_carries_retry_after_for_the_scheduler() -> None:
    from crawlers.web.failures import retry_after_seconds

    request = Request("http://a.test/x")
    limited = Response("http://a.test/x", status=429, headers={"Retry-After": "120"}, request=request)
    assert finding_for(HttpError(limited), request.url).reason == "HTTP 429 (Retry-After: 120)"
    bare = Response("http://a.test/x", status=429, request=request)
    assert finding_for(HttpError(bare), request.url).reason == "HTTP 429"
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert retry_after_seconds(b"Mon, 23 Nov 2026 10:05:00 GMT", now) == 300
    assert retry_after_seconds("Mon, 23 Nov 2026 09:00:00 GMT", now) == 0  # already past
    assert retry_after_seconds("99999999", now) == 7 * 24 * 3600  # capped
    assert retry_after_seconds("soon", now) is None


def _crawler(**config: Any) -> Any:
    source = SourceConfig.model_validate({"kind": "site", "start_urls": ["http://a.test/"], **config})
    spider = SimpleNamespace(config=source, pages={}, summary=None, present_posts=set())
    return SimpleNamespace(spider=spider)


def test_onion_requests_without_a_proxy_are_refused() -> None:
    middleware = ProxyEnforcementMiddleware(_crawler())
    request = Request("http://marketxyz.onion/item/1")
    with pytest.raises(IgnoreRequest):
        middleware.process_request(request)
    assert finding_for(IgnoreRequest("x"), request.url, meta=request.meta).kind == "proxy_required"
    clearnet = Request("http://a.test/")
    middleware.process_request(clearnet)
    assert "proxy" not in clearnet.meta


def test_a_proxied_source_sends_every_request_through_its_proxy() -> None:
    middleware = ProxyEnforcementMiddleware(_crawler(proxy="http://127.0.0.1:8118"))
    request = Request("http://marketxyz.onion/item/1")
    middleware.process_request(request)
    assert request.meta["proxy"] == "http://127.0.0.1:8118"


def test_conditional_headers_come_from_the_stored_state() -> None:
    crawler = _crawler()
    crawler.spider.pages["http://a.test/t"] = PageState(
        url="http://a.test/t", etag='"v1"', last_modified="Mon, 23 Nov 2026 10:00:00 GMT"
    )
    request = Request("http://a.test/t", meta={"lm_key": "http://a.test/t", "lm_conditional": True})
    ConditionalRequestMiddleware(crawler).process_request(request)
    assert request.headers[b"If-None-Match"] == b'"v1"'
    assert request.headers[b"If-Modified-Since"] == b"Mon, 23 Nov 2026 10:00:00 GMT"
    fresh = Request("http://a.test/new", meta={"lm_key": "http://a.test/new", "lm_conditional": True})
    ConditionalRequestMiddleware(crawler).process_request(fresh)
    assert b"If-None-Match" not in fresh.headers


def test_redirect_back_onto_the_chain_is_a_loop() -> None:
    request = Request("http://a.test/b", meta={"redirect_urls": ["http://a.test/a"]})
    response = Response("http://a.test/b", status=302, headers={"Location": "/a"}, request=request)
    with pytest.raises(IgnoreRequest):
        RedirectLoopMiddleware().process_response(request, response)
    assert finding_for(IgnoreRequest("x"), "http://a.test/a", meta=request.meta).kind == "redirect_loop"
    onward = Response("http://a.test/b", status=302, headers={"Location": "/c"}, request=request)
    assert RedirectLoopMiddleware().process_response(request, onward) is onward


@pytest.mark.parametrize(
    ("headers", "body_prefix", "expected"),
    [
        ({"Content-Type": "text/html; charset=utf-8"}, b"", "cp949"),  # declared wrong
        ({"Content-Type": "text/html"}, b'<meta charset="utf-8">', "cp949"),  # meta wrong
        ({"Content-Type": "text/html; charset=iso-8859-1"}, b"", "cp1252"),  # other charsets are trusted
    ],
)
def test_charset_fix(headers: dict[str, str], body_prefix: bytes, expected: str) -> None:
    body = body_prefix + "<p>똠방각하 쌰 샾</p>".encode("cp949")
    request = Request("http://a.test/")
    response = HtmlResponse("http://a.test/", body=body, headers=headers, request=request)
    fixed = CharsetFixMiddleware().process_response(request, response)
    assert isinstance(fixed, HtmlResponse)
    assert fixed.encoding == expected
    if expected == "cp949":
        assert "똠방각하 쌰 샾" in fixed.text


def test_valid_utf8_is_left_alone() -> None:
    request = Request("http://a.test/")
    response = HtmlResponse("http://a.test/", body="<p>쿠팡</p>".encode(), request=request)
    assert CharsetFixMiddleware().process_response(request, response) is response


def test_a_callback_exception_becomes_a_parse_error_finding() -> None:
    from crawlers.web.middlewares import ParseErrorMiddleware

    recorded: list[Any] = []
    crawler = SimpleNamespace(spider=SimpleNamespace(record=recorded.append))
    response = Response("http://a.test/t/1", request=Request("http://a.test/t/1"))
    error = ValueError("invalid literal for int(): '010-2345-6789'")
    assert ParseErrorMiddleware(crawler).process_spider_exception(response, error) == []
    assert [(f.locator, f.kind) for f in recorded] == [("http://a.test/t/1", "parse_error")]
    assert "2345" not in recorded[0].reason  # page text never reaches a finding


def test_politeness_settings_follow_the_source() -> None:
    from crawlers.web.scrapy_settings import build_settings

    config = SourceConfig.model_validate(
        {
            "kind": "forum",
            "start_urls": ["http://a.test/"],
            "concurrency": 3,
            "download_delay": 4.0,
            "max_page_bytes": 2048,
            "timeout": 12,
            "retries": 1,
            "obey_robots": True,
        }
    )
    settings = build_settings(config)
    assert settings["AUTOTHROTTLE_ENABLED"] is True
    assert settings["DOWNLOAD_DELAY"] == 4.0  # AutoThrottle never goes below it
    assert settings["AUTOTHROTTLE_START_DELAY"] == 4.0
    assert settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == settings["CONCURRENT_REQUESTS"] == 3
    assert settings["DOWNLOAD_MAXSIZE"] == 2048
    assert (settings["DOWNLOAD_TIMEOUT"], settings["RETRY_TIMES"], settings["ROBOTSTXT_OBEY"]) == (12, 1, True)
    assert settings["HTTPCACHE_ENABLED"] is False  # would keep leaked pages on disk in clear
    assert "crawlers.web.middlewares.SkipSeenDocumentsMiddleware" in settings["SPIDER_MIDDLEWARES"]
