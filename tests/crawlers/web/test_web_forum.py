"""A multi-board forum with pagination and attachments: first crawl, then an incremental re-crawl."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from conftest import Crawl
from web_fakes import read_events
from web_sites import FixtureSite

from storage.db import make_engine
from storage.migrate import upgrade

pytestmark = pytest.mark.slow  # each crawl is a child process (~2-5 s)

CSV = "name,phone\n홍길동,LEAKTOKEN-0001\n".encode("cp949")


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("users.csv", "LEAKTOKEN,a@example.test\n")
    return buffer.getvalue()


def _page(title: str, body: str) -> str:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>"


def _post(pid: int, author: str, text: str, extra: str = "") -> str:
    return (
        f'<div class="post" data-post-id="{pid}"><span class="author">{author}</span>'
        f'<time datetime="2026-11-0{pid % 9 + 1}T10:00:00+09:00">t</time>'
        f'<div class="body">{text}</div>{extra}</div>'
    )


def build_forum(site: FixtureSite) -> None:
    site.add("/", _page("Forum", '<a href="/board/db">DB</a> <a href="/board/misc">Misc</a>'), etag=True)
    site.add("/board/db", _page("DB", '<a href="/thread/1">sale</a> <a href="/thread/2">combo</a>'), etag=True)
    site.add("/board/misc", _page("Misc", '<a href="/thread/3">hello</a>'), etag=True)
    site.add(
        "/thread/1",
        _page(
            "Selling DB",
            _post(
                11,
                "seller",
                "fresh db pw: s3cret LEAKTOKEN",
                '<a href="/files/users.csv">users.csv</a> <a href="/files/dump.zip">zip</a>',
            )
            + '<a class="next" href="/thread/1?page=2">next</a>',
        ),
        etag=True,
    )
    site.add("/thread/1?page=2", _page("Selling DB", _post(12, "buyer", "interested")), etag=True)
    site.add("/thread/2", _page("Combo", _post(21, "x", "combo list 010-<b>1234</b>-5678")), etag=True)
    site.add("/thread/3", _page("Hello", _post(31, "y", "hi all")), etag=True)
    site.add("/files/users.csv", CSV, content_type="text/csv")
    site.add("/files/dump.zip", _zip(), content_type="application/zip")


FORUM = {
    "kind": "forum",
    "depth": 2,
    "selectors": {
        "post": "div.post",
        "author": ".author",
        "date": "time::attr(datetime)",
        "next_page": "a.next",
    },
}


def test_forum_crawl_then_incremental_recrawl(site: FixtureSite, crawl: Crawl, events_path: Path, db_url: str) -> None:
    """On SQLite and PostgreSQL: the incremental state lives in the database."""
    engine = make_engine(db_url)
    upgrade(engine)
    engine.dispose()
    build_forum(site)
    first = crawl(start_urls=[site.url("/")], database_url=db_url, **FORUM)
    assert first.status == "ok", first
    posts = {e["external_id"]: e for e in read_events(events_path, "ingest")}
    host = site.base.removeprefix("http://")
    assert set(posts) == {f"{host}#{n}" for n in (11, 12, 21, 31)}
    sale = posts[f"{host}#11"]
    assert sale["author"] == "seller"
    assert sale["posted_at"] == "2026-11-03T10:00:00+09:00"
    assert sale["passwords"] == ["s3cret"]
    assert sorted(a["name"] for a in sale["attachments"]) == ["dump.zip", "users.csv"]
    assert all(a["sha256"] for a in sale["attachments"])
    assert "combo list 010-1234-5678" in posts[f"{host}#21"]["text"].splitlines()  # inline tags kept whole
    assert first.posts == 4
    assert first.new_posts == 4
    assert first.attachments == 2
    assert first.hits == 3  # post text + csv + zip bytes contain the token (fake sink's notion of a hit)

    # Second crawl: a reply on thread 2, an edit on thread 3, thread 1 page 2 deleted.
    site.reset_log()
    site.add(
        "/thread/2",
        _page("Combo", _post(21, "x", "combo list 010-<b>1234</b>-5678") + _post(22, "z", "still available?")),
        etag=True,
    )
    site.add("/thread/3", _page("Hello", _post(31, "y", "hi all (edited)")), etag=True)
    site.remove("/thread/1?page=2")
    site.add(
        "/thread/1",
        _page(
            "Selling DB",
            _post(
                11,
                "seller",
                "fresh db pw: s3cret LEAKTOKEN",
                '<a href="/files/users.csv">users.csv</a> <a href="/files/dump.zip">zip</a>',
            ),
        ),
        etag=True,
    )
    events_before = len(read_events(events_path))
    second = crawl(start_urls=[site.url("/")], database_url=db_url, **FORUM)
    assert second.status == "ok", second
    fetched = sorted(site.fetched(status=200))
    # Only changed pages come back with a body (the rest answer 304), plus thread 1's files.
    assert fetched == ["/files/dump.zip", "/files/users.csv", "/thread/1", "/thread/2", "/thread/3"]
    assert sorted(site.fetched(status=304)) == ["/", "/board/db", "/board/misc"]
    later = read_events(events_path)[events_before:]
    statuses = {e["external_id"]: e["status"] for e in later if e["op"] == "ingest"}
    assert statuses == {
        f"{host}#11": "unchanged",
        f"{host}#21": "unchanged",
        f"{host}#22": "new",
        f"{host}#31": "changed",
    }
    assert [e["external_id"] for e in later if e["op"] == "removed"] == [f"{host}#12"]
    assert second.removed == 1
    assert second.not_modified == 3


def test_reply_on_a_later_page_is_found_while_the_first_page_is_unchanged(
    site: FixtureSite, crawl: Crawl, events_path: Path
) -> None:
    site.add("/", _page("Board", '<a href="/thread/1">t</a>'), etag=True)
    site.add(
        "/thread/1", _page("T", _post(1, "a", "first") + '<a class="next" href="/thread/1?page=2">2</a>'), etag=True
    )
    site.add("/thread/1?page=2", _page("T", _post(2, "b", "second")), etag=True)
    crawl(start_urls=[site.url("/")], **FORUM)
    site.reset_log()
    site.add("/thread/1?page=2", _page("T", _post(2, "b", "second") + _post(3, "c", "third LEAKTOKEN")), etag=True)
    again = crawl(start_urls=[site.url("/")], **FORUM)
    assert site.fetched(status=200) == ["/thread/1?page=2"]
    assert again.new_posts == 1
    assert again.hits == 1
    assert read_events(events_path, "ingest")[-1]["external_id"].endswith("#3")


def test_next_pages_of_a_board_keep_the_boards_depth(site: FixtureSite, crawl: Crawl, events_path: Path) -> None:
    """depth = 2 from the index: board pages 2..5 are the board (depth 1), so their threads are depth 2."""
    site.add("/", _page("Forum", '<a href="/board">board</a>'))
    for page in range(1, 6):
        threads = " ".join(f'<a href="/thread/{page * 10 + n}">t</a>' for n in range(4))
        more = f'<a class="next" href="/board?page={page + 1}">next</a>' if page < 5 else ""
        site.add("/board" if page == 1 else f"/board?page={page}", _page("Board", threads + more))
        for n in range(4):
            pid = page * 10 + n
            site.add(f"/thread/{pid}", _page("T", _post(pid, "a", f"post {pid}")))
    summary = crawl(start_urls=[site.url("/")], **FORUM)
    assert summary.status == "ok", summary
    threads = {path for path in site.fetched() if path.startswith("/thread/")}
    assert len(threads) == 20
    assert summary.posts == 20
