"""Paste sites, generic sites, Korean encodings and files found by content type."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Crawl
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from web_fakes import read_events
from web_sites import FixtureSite

from storage.repositories.crawl import crawl_runs, run_findings

pytestmark = pytest.mark.slow  # each crawl is a child process (~2-5 s)


def test_paste_site_skips_seen_pastes_on_the_next_run(site: FixtureSite, crawl: Crawl, events_path: Path) -> None:
    listing = '<html><body><a href="/p/aaa">a</a> <a href="/p/bbb">b</a> <a href="/raw/ddd">raw</a></body></html>'
    site.add("/raw/ddd", "plain paste LEAKTOKEN\npw: rawpass", content_type="text/plain; charset=utf-8")
    site.add("/archive", listing)
    site.add("/p/aaa", '<html><body><pre class="paste">LEAKTOKEN one\n비번: 1234</pre></body></html>')
    site.add("/p/bbb", '<html><body><pre class="paste">nothing here</pre></body></html>')
    config = {"kind": "paste", "start_urls": [site.url("/archive")], "depth": 1, "selectors": {"post": "pre.paste"}}
    first = crawl(**config)
    pastes = {e["external_id"]: e for e in read_events(events_path, "ingest")}
    assert sorted(pastes) == [site.url("/p/aaa"), site.url("/p/bbb"), site.url("/raw/ddd")]
    assert pastes[site.url("/p/aaa")]["passwords"] == ["1234"]
    assert pastes[site.url("/raw/ddd")]["text"] == "plain paste LEAKTOKEN\npw: rawpass"  # text/plain: the text
    assert pastes[site.url("/raw/ddd")]["passwords"] == ["rawpass"]
    assert first.new_posts == 3
    assert first.hits == 2

    site.reset_log()
    site.add("/archive", listing.replace("</body>", '<a href="/p/ccc">c</a></body>'))
    site.add("/p/ccc", '<html><body><pre class="paste">new LEAKTOKEN</pre></body></html>')
    second = crawl(**config)
    assert sorted(site.fetched()) == ["/archive", "/p/ccc"]  # pastes are immutable: not re-requested
    assert second.skipped_seen == 3
    assert second.new_posts == 1
    assert read_events(events_path, "removed") == []


def test_generic_site_with_only_a_start_url(site: FixtureSite, crawl: Crawl, events_path: Path) -> None:
    site.add(
        "/",
        '<html><body>home <a href="/a">a</a> <a href="http://elsewhere.test/x">off</a>'
        ' <a href="/dump">dump</a></body></html>',
    )
    site.add("/a", '<html><body>page a LEAKTOKEN <a href="/b">b</a> <a href="/list.csv">csv</a></body></html>')
    site.add("/b", '<html><body>page b, too deep to follow <a href="/c">c</a></body></html>')
    site.add("/list.csv", b"id,LEAKTOKEN\n", content_type="text/csv")
    site.add("/dump", b"PK\x03\x04 not really a zip LEAKTOKEN", content_type="application/zip")
    summary = crawl(kind="site", start_urls=[site.url("/")], depth=2)
    posts = {e["external_id"]: e for e in read_events(events_path, "ingest")}
    assert sorted(posts) == sorted(site.url(p) for p in ("/", "/a", "/b", "/dump"))
    assert [a["name"] for a in posts[site.url("/a")]["attachments"]] == ["list.csv"]
    assert posts[site.url("/dump")]["attachments"][0]["name"] == "dump"  # by content type
    assert "/c" not in site.fetched()
    assert summary.hits == 3
    assert summary.errors == 0


CHARSET_CASES = {
    "/header-says-utf8": ("text/html; charset=utf-8", ""),
    "/meta-says-utf8": ("text/html", '<meta charset="utf-8">'),
    "/no-charset": ("text/html", ""),
    "/euc-kr-label": ("text/html; charset=euc-kr", ""),
}


def test_cp949_pages_decode_whatever_they_declare(site: FixtureSite, crawl: Crawl, events_path: Path) -> None:
    text = "똠방각하 쿠팡 회원 DB 팝니다"  # 똠 exists in CP949 only, not in EUC-KR
    site.add("/", "<html><body>" + "".join(f'<a href="{p}">{p}</a>' for p in CHARSET_CASES) + "</body></html>")
    for path, (content_type, meta) in CHARSET_CASES.items():
        body = f"<html><head>{meta}</head><body>{text}</body></html>".encode("cp949")
        site.add(path, body, content_type=content_type)
    crawl(kind="site", start_urls=[site.url("/")], depth=1)
    texts = {e["external_id"].removeprefix(site.base): e["text"] for e in read_events(events_path, "ingest")}
    assert {path: texts[path] for path in CHARSET_CASES} == dict.fromkeys(CHARSET_CASES, text)


def test_a_post_the_sink_could_not_store_is_read_again_next_run(
    site: FixtureSite, crawl: Crawl, events_path: Path, crawl_db: str
) -> None:
    site.add("/", '<html><body><a href="/t/1">1</a> <a href="/t/2">2</a></body></html>', etag=True)
    site.add("/t/1", "<html><body>SINKFAIL LEAKTOKEN</body></html>", etag=True)
    site.add("/t/2", "<html><body>fine</body></html>", etag=True)
    failed = crawl(kind="site", start_urls=[site.url("/")], depth=1, fail_marker="SINKFAIL")
    assert failed.findings == {"ingest_error": 1}
    engine = create_engine(crawl_db)
    with Session(engine) as session:
        [finding] = run_findings(session, crawl_runs(session, "src")[0].id)
    engine.dispose()
    assert finding.kind == "ingest_error"
    assert "LEAKTOKEN" not in finding.reason  # the sink's message quoted the post: it is not stored
    site.reset_log()
    healed = crawl(kind="site", start_urls=[site.url("/")], depth=1)
    assert site.fetched(status=200) == ["/t/1"]  # its state was not saved: no 304 for it
    assert sorted(site.fetched(status=304)) == ["/", "/t/2"]
    assert healed.new_posts == 1
    assert healed.hits == 1
    assert [e["external_id"] for e in read_events(events_path, "ingest")][-1] == site.url("/t/1")


def test_login_headers_and_cookies_come_from_the_environment(
    site: FixtureSite, crawl: Crawl, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TEST_FORUM_TOKEN", "Bearer s3cr3t-token")
    monkeypatch.setenv("TEST_FORUM_SID", "sid-value-42")
    site.add("/", "<html><body>members only</body></html>")
    summary = crawl(
        kind="site",
        start_urls=[site.url("/")],
        depth=0,
        headers={"Authorization": "TEST_FORUM_TOKEN"},
        cookies={"sid": "TEST_FORUM_SID"},
    )
    assert summary.errors == 0
    [page] = [h for h in site.log if h.path == "/"]
    assert page.headers["Authorization"] == "Bearer s3cr3t-token"
    assert "sid=sid-value-42" in page.headers["Cookie"]
    assert "s3cr3t" not in (tmp_path / "events.jsonl").read_text(encoding="utf-8")


def test_a_page_removed_on_purpose_is_not_an_error_on_every_later_run(
    site: FixtureSite, crawl: Crawl, events_path: Path
) -> None:
    """Issue 16 item 9: a page seen, then gone (404), is a removal once, not an error every run."""
    site.add("/", '<html><body>home <a href="/gone">gone</a></body></html>')
    site.add("/gone", "<html><body>sale post LEAKTOKEN</body></html>")
    config = {"kind": "site", "start_urls": [site.url("/")], "depth": 1}
    assert crawl(**config).errors == 0
    site.remove("/gone")
    second = crawl(**config)
    assert (second.removed, second.errors) == (1, 0)
    third = crawl(**config)  # the listing still links it: it answers 404 again
    assert third.errors == 0
    assert len(read_events(events_path, "removed")) == 1
