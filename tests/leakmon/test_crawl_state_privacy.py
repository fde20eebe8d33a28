"""The incremental crawl state (``seen_pages``) follows the redaction rule (session 12, privacy item 1).

A leak site's URLs carry a protected phone (``?phone=...``) and e-mail (in a path and, percent-encoded,
in a query), and one of its links is gone (a finding names its URL). After crawling it three times
through the real sink (a first crawl, a re-crawl that must still revalidate the thread pages with
304, and one after a thread is taken down, which must still be noticed), no plaintext form is in
any table, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from leakmon.app import App
from storage.models.core import Post
from storage.models.crawl import SeenPage
from tests.crawlers.web.web_fakes import TEST_SETTINGS
from tests.crawlers.web.web_sites import FixtureSite, serve
from tests.leakmon.cli import run_cli
from tests.leakmon.test_protect_and_scan import _database_text

PEOPLE = "subject_ref,name,phone,email\ncust-101,김서연,010-3141-5926,seoyeon.kim@naver.com\n"
PLAINTEXTS = ["01031415926", "010-3141-5926", "3141-5926", "31415926", "seoyeon.kim", "seoyeon.kim%40naver"]
THREADS = {
    "/t/view?phone=01031415926": "p1",
    "/u/seoyeon.kim@naver.com/posts": "p2",
    "/t/view?mail=seoyeon.kim%40naver.com": "p3",
}


@pytest.fixture
def workspace(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEAKMON_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("LEAKMON_DATABASE_URL", db_url)
    monkeypatch.delenv("LEAKMON_HMAC_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "ws"


#: Linked but gone: each crawl records an http_error finding whose locator is this URL.
GONE = "/t/gone?mail=seoyeon.kim%40naver.com&tel=010-3141-5926"


def _site(site: FixtureSite) -> None:
    links = "".join(f'<a href="{path}">thread</a>' for path in [*THREADS, GONE])
    site.add("/", f"<html><body>{links}</body></html>", etag=True)
    for path, post_id in THREADS.items():
        site.add(
            path,
            f'<html><body><div class="post" id="{post_id}">회원 DB 샘플 김서연 010-3141-5926</div></body></html>',
            etag=True,
        )


def _crawl(capsys: pytest.CaptureFixture[str]) -> dict[str, int]:
    result = run_cli(capsys, "crawl", "forum", "--format", "jsonl")
    assert result.code == 0, result.err
    [summary] = [json.loads(line) for line in result.out.splitlines()]
    assert summary["status"] == "ok", summary
    return dict(summary)


@pytest.mark.slow
def test_crawl_state_of_urls_with_identifiers_holds_no_plaintext(
    workspace: Path,
    tmp_path: Path,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from leakmon.commands import crawl as crawl_command

    monkeypatch.setattr(crawl_command, "EXTRA_SCRAPY_SETTINGS", TEST_SETTINGS)
    with serve(FixtureSite()) as site:
        _site(site)
        config = tmp_path / "leakmon.toml"
        config.write_text(
            f'[sources.forum]\nkind = "forum"\nstart_urls = ["{site.url("/")}"]\ndepth = 1\n'
            "download_delay = 0\nautothrottle = false\nretries = 0\n"
            '[sources.forum.selectors]\npost = "div.post"\n',
            encoding="utf-8",
        )
        monkeypatch.setenv("LEAKMON_CONFIG", str(config))
        (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
        assert run_cli(capsys, "init").code == 0
        assert run_cli(capsys, "protect", "import", str(tmp_path / "people.csv")).code == 0
        (tmp_path / "people.csv").unlink()

        first = _crawl(capsys)
        assert first["posts"] == 3
        assert first["errors"] == 1  # the gone page: a finding naming its URL
        assert first["new_hits"] >= 3

        site.reset_log()
        second = _crawl(capsys)
        assert second["new_posts"] == 0
        assert second["not_modified"] == 3  # each thread found its state by its real URL: 304
        assert sorted(site.fetched(status=304)) == sorted(THREADS)
        assert site.fetched() == ["/"]  # its links are masked in the state: it is read in full, not 304

        site.remove("/t/view?phone=01031415926")
        third = _crawl(capsys)
        assert third["removed"] == 1  # the taken-down thread's post is noticed through its stored state

    app = App()
    with app.sessions() as session:
        removed = session.scalars(select(Post.removed_at).where(Post.source == "forum")).all()
        assert sum(value is not None for value in removed) == 1
        pages = session.scalars(select(SeenPage)).all()
        assert len(pages) == 4
        assert all(page.redacted for page in pages)
    app.close()

    haystack = _database_text(db_url, workspace)
    assert [value for value in PLAINTEXTS if value.encode() in haystack] == []
