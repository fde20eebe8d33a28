"""Issue 15 item 4: a redirect (or link) to another origin gets no secret and no match; it is a finding."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Crawl
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from web_fakes import read_events
from web_sites import FixtureSite, serve

from storage.repositories.crawl import crawl_runs, run_findings

pytestmark = pytest.mark.slow

SECRET = "k-3f9a-secret"


@pytest.fixture
def other() -> Iterator[FixtureSite]:
    """A second loopback server: same host (127.0.0.1), another port, so another origin."""
    with serve(FixtureSite()) as running:
        yield running


def test_redirects_to_another_port_get_no_secret_and_are_findings(
    site: FixtureSite,
    other: FixtureSite,
    crawl: Crawl,
    crawl_db: str,
    events_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LM_TEST_API_KEY", SECRET)
    monkeypatch.setenv("LM_TEST_SESSION", "sess-77")
    site.add(
        "/",
        '<html><body><p>dump</p><a href="/files/users.csv">users.csv</a> <a href="/moved">thread</a>'
        f'<a href="{other.url("/direct.csv")}">direct</a></body></html>',
    )
    site.add("/files/users.csv", status=301, redirect=other.url("/files/users.csv"))
    site.add("/moved", status=301, redirect=other.url("/thread"))
    other.add("/files/users.csv", "name,phone\n홍길동,LEAKTOKEN\n", content_type="text/csv")
    other.add("/direct.csv", "LEAKTOKEN\n", content_type="text/csv")
    other.add("/thread", "<html><body>LEAKTOKEN</body></html>")
    summary = crawl(
        kind="site",
        start_urls=[site.url("/")],
        depth=1,
        headers={"X-Api-Key": "LM_TEST_API_KEY"},
        cookies={"session": "LM_TEST_SESSION"},
    )
    assert summary.status == "ok", summary
    # The start server got the secrets; the other origin got no request at all.
    assert any(hit.headers.get("X-Api-Key") == SECRET for hit in site.log)
    assert other.log == []
    assert summary.hits == 0
    assert summary.findings == {"offsite": 2}
    [post] = read_events(events_path, "ingest")
    [attachment] = post["attachments"]
    assert attachment["sha256"] is None
    assert attachment["skipped"]
    assert post["findings"] == ["offsite"]
    engine = create_engine(crawl_db)
    with Session(engine) as session:
        [run] = crawl_runs(session, "src")
        stored = [(f.locator, f.kind) for f in run_findings(session, run.id)]
    engine.dispose()
    assert stored == [(site.url("/moved"), "offsite")]
