"""Issue 15 item 5: a proxied crawl connects to its proxy only (no Public Suffix List download)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FAST
from web_fakes import TEST_SETTINGS, EgressGuardSinkFactory, read_events
from web_sites import FixtureSite

from crawlers.web.config import SourceConfig
from crawlers.web.runner import CrawlJob, run_in_child
from crawlers.web.suffixes import offline_extractor

pytestmark = pytest.mark.slow


def test_a_proxied_crawl_with_cookies_connects_only_to_its_proxy(
    site: FixtureSite, crawl_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fixture server plays the proxy: it answers absolute-URI requests for a host that does not resolve."""
    monkeypatch.setenv("LM_TEST_SESSION", "sess-1")
    site.add("/", '<html><body>LEAKTOKEN <a href="/next">next</a></body></html>', headers={"Set-Cookie": "a=b"})
    site.add("/next", "<html><body>page two</body></html>")
    config = SourceConfig.model_validate(
        {**FAST, "kind": "site", "start_urls": ["http://forum.invalid/"], "proxy": site.base, "depth": 1}
        | {"cookies": {"session": "LM_TEST_SESSION"}}
    )
    job = CrawlJob(source="src", config=config, database_url=crawl_db, extra_settings=dict(TEST_SETTINGS))
    log = tmp_path / "egress.jsonl"
    proxy = ("127.0.0.1", int(site.base.rsplit(":", 1)[1]))
    cache = tmp_path / "suffix-cache"
    cache.mkdir()
    summary = run_in_child(job, EgressGuardSinkFactory(tmp_path / "events.jsonl", log, proxy, cache), timeout=60)
    assert summary.status == "ok", summary
    assert summary.errors == 0, summary
    assert [e["external_id"] for e in read_events(tmp_path / "events.jsonl", "ingest")] == [
        "http://forum.invalid/",
        "http://forum.invalid/next",
    ]
    # The proxy saw the configured host only, with the cookie (so the cookie middleware ran).
    assert {hit.host for hit in site.log} == {"forum.invalid"}
    pages = [hit for hit in site.log if hit.path != "/robots.txt"]
    assert [hit.path for hit in pages] == ["/", "/next"]
    assert all("session=sess-1" in hit.headers.get("Cookie", "") for hit in pages)
    events = [json.loads(line) for line in log.read_text().splitlines()]
    connects = {(e["host"], e["port"]) for e in events if e["event"] == "connect"}
    lookups = {e["host"] for e in events if e["event"] == "lookup"}
    print("outbound connections:", sorted(connects), "name lookups:", sorted(lookups))
    assert connects == {proxy}
    assert lookups <= {"127.0.0.1"}
    assert list(cache.iterdir()) == []  # nothing fetched, nothing cached


def test_the_suffix_extractor_is_offline_and_still_knows_suffixes(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the suffix list was fetched")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    extract = offline_extractor()
    assert extract("forum.co.kr").suffix == "co.kr"
    assert extract("x.blogspot.com").domain == "x"
