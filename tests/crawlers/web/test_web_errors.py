"""Misbehaving servers become findings of the run: slow, 500, truncated, huge, redirect loops, DNS."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Crawl
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from web_fakes import read_events
from web_sites import FixtureSite

from storage.repositories.crawl import crawl_runs, run_findings

pytestmark = pytest.mark.slow


def test_each_failure_becomes_a_finding_of_the_run(
    site: FixtureSite, crawl: Crawl, crawl_db: str, events_path: Path
) -> None:
    links = ["/slow", "/boom", "/cut", "/huge", "/huge-chunked", "/loop-a", "/ok"]
    site.add(
        "/",
        "<html><body>"
        + "".join(f'<a href="{p}">{p}</a>' for p in links)
        + '<a href="http://no-such-host.example/">dns</a></body></html>',
    )
    site.add("/slow", "<html>late</html>", delay=3)
    site.add("/boom", "oops", status=500)
    site.add("/cut", "<html><body>" + "x" * 5000 + "</body></html>", truncate=True)
    site.add("/huge", "<html>" + "y" * 300_000 + "</html>")
    site.add("/huge-chunked", chunked_bytes=400_000)
    site.add("/loop-a", redirect="/loop-b")
    site.add("/loop-b", redirect="/loop-a")
    site.add("/ok", "<html><body>fine</body></html>")
    summary = crawl(
        kind="site",
        start_urls=[site.url("/")],
        allowed_domains=["127.0.0.1", "no-such-host.example"],
        depth=1,
        timeout=1,
        max_page_bytes=100_000,
    )
    assert summary.status == "ok"
    assert summary.findings == {
        "timeout": 1,
        "http_error": 1,
        "truncated": 1,
        "cap_bytes": 2,
        "redirect_loop": 1,
        "dns_error": 1,
    }
    assert summary.errors == 7
    assert summary.pages == 2
    engine = create_engine(crawl_db)
    with Session(engine) as session:
        [run] = crawl_runs(session, "src")
        stored = {(f.locator.removeprefix(site.base), f.kind) for f in run_findings(session, run.id)}
        assert run.status == "ok"
        assert run.stats["errors"] == 7
    engine.dispose()
    assert stored == {
        ("/slow", "timeout"),
        ("/boom", "http_error"),
        ("/cut", "truncated"),
        ("/huge", "cap_bytes"),
        ("/huge-chunked", "cap_bytes"),
        ("/loop-a", "redirect_loop"),
        ("http://no-such-host.example/", "dns_error"),
    }
    assert sorted(e["external_id"].removeprefix(site.base) for e in read_events(events_path, "ingest")) == ["/", "/ok"]


def test_attachment_caps_before_and_during_download(site: FixtureSite, crawl: Crawl, events_path: Path) -> None:
    site.add(
        "/",
        '<html><body>files <a href="/big.zip">big</a> <a href="/stream.csv">s</a>'
        ' <a href="/mid.csv">m</a> <a href="/small.csv">s</a></body></html>',
    )
    site.add("/big.zip", b"z" * 200_000, content_type="application/zip")  # Content-Length over the cap
    site.add("/stream.csv", chunked_bytes=300_000, content_type="text/csv")  # no length: cut while reading
    site.add("/mid.csv", b"m" * 50_000, content_type="text/csv")  # under the cap, over the memory limit
    site.add("/small.csv", b"a,b\n", content_type="text/csv")
    summary = crawl(
        kind="site", start_urls=[site.url("/")], depth=0, max_attachment_bytes=100_000, memory_attachment_bytes=10_000
    )
    [post] = read_events(events_path, "ingest")
    files = {a["name"]: a for a in post["attachments"]}
    assert files["big.zip"]["skipped"] == "attachment larger than 100000 bytes: not downloaded"
    assert files["stream.csv"]["skipped"] == "attachment larger than 100000 bytes: not downloaded"
    assert files["mid.csv"]["on_disk"]
    assert files["mid.csv"]["size"] == 50_000
    assert not files["small.csv"]["on_disk"]
    assert files["small.csv"]["size"] == 4
    assert post["findings"] == ["cap_bytes", "cap_bytes"]
    assert summary.attachments == 2


def test_robots_txt_is_obeyed_unless_overridden_with_a_reason(site: FixtureSite, crawl: Crawl) -> None:
    site.add("/robots.txt", "User-agent: *\nDisallow: /private\n", content_type="text/plain")
    site.add("/", '<html><body><a href="/private/x">x</a></body></html>')
    site.add("/private/x", "<html><body>secret</body></html>")
    obeyed = crawl(kind="site", start_urls=[site.url("/")], depth=1)
    assert obeyed.findings == {"robots_denied": 1}
    assert "/private/x" not in site.fetched()
    overridden = crawl(
        kind="site",
        start_urls=[site.url("/")],
        depth=1,
        obey_robots=False,
        robots_override_reason="court order 2026-17",
    )
    assert overridden.findings == {}
    assert "/private/x" in site.fetched()


def test_onion_sites_go_through_the_proxy(site: FixtureSite, crawl: Crawl, events_path: Path) -> None:
    # The fixture server doubles as the HTTP proxy: it sees absolute-URI requests for the .onion host.
    site.add("/", '<html><body>market LEAKTOKEN <a href="/t/1">t</a></body></html>')
    site.add("/t/1", "<html><body>thread</body></html>")
    onion = "http://exampleonionaddressxyz.onion"
    summary = crawl(
        kind="site",
        start_urls=[onion + "/"],
        depth=1,
        proxy=site.base,
        obey_robots=False,
        robots_override_reason="test",
    )
    assert summary.errors == 0, summary
    assert {h.host for h in site.log} == {"exampleonionaddressxyz.onion"}
    assert sorted(e["external_id"] for e in read_events(events_path, "ingest")) == [onion + "/", onion + "/t/1"]
