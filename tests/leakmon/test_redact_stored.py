"""`leakmon purge --redact-stored`: rows stored before the redaction rule are rewritten once, in batches.

Posts are stored the way the sink stored them before the rule (raw author, post id, URL, title,
attachment names); after the command no plaintext form is in any table, a second run changes
nothing, and the next crawl of the same posts finds them (unchanged) instead of storing them again,
on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawlers.redact import Redactor
from leakmon.app import App
from leakmon.runtime import build_sink
from leakmon.workflows import redact_stored
from storage.models.core import Post
from tests.leakmon.cli import run_cli
from tests.leakmon.test_privacy_sweep import PEOPLE, PLAINTEXTS, _seller_post
from tests.leakmon.test_protect_and_scan import _database_text


@pytest.fixture
def workspace(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEAKMON_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("LEAKMON_DATABASE_URL", db_url)
    monkeypatch.delenv("LEAKMON_CONFIG", raising=False)
    monkeypatch.delenv("LEAKMON_HMAC_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "ws"


def _stored_text(db_url: str, workspace: Path) -> bytes:
    return _database_text(db_url, workspace)


def _posts(app: App) -> int:
    with app.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Post)) or 0)


def test_rows_stored_before_the_rule_are_rewritten_once_and_still_dedupe(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    assert run_cli(capsys, "init").code == 0
    assert run_cli(capsys, "protect", "import", str(tmp_path / "people.csv")).code == 0
    (tmp_path / "people.csv").unlink()
    second = replace(_seller_post(), external_id="post-01031415926", title="샘플 seoyeon.kim@naver.com")

    app = App()
    with monkeypatch.context() as before_the_rule:  # the sink stored post fields as crawled
        before_the_rule.setattr(Redactor, "ref", lambda self, value: value)
        before_the_rule.setattr(Redactor, "post", lambda self, post: post)
        old = build_sink(app)
        assert old.ingest(_seller_post()).status == "new"
        assert old.ingest(second).status == "new"
    assert build_sink(app).ingest(second).status == "new"  # a crawl after the rule stored it again
    app.close()
    assert "940309-2761951" in _stored_text(db_url, workspace).decode("utf-8", "replace")  # the raw rows

    monkeypatch.setattr(redact_stored, "BATCH_ROWS", 2)  # several batches even on this small database
    dry = run_cli(capsys, "purge", "--redact-stored", "--dry-run")
    assert dry.code == 0, dry.err
    assert "would rewrite" in dry.out
    assert "posts.external_id=2" in dry.out
    assert "940309-2761951" in _stored_text(db_url, workspace).decode("utf-8", "replace")  # nothing written

    done = run_cli(capsys, "purge", "--redact-stored")
    assert done.code == 0, done.err
    assert "posts.external_id=2" in done.out
    assert "posts.stored_twice=1" in done.out
    assert "posts.author=" in done.out
    assert "attachments.name=" in done.out
    haystack = _stored_text(db_url, workspace)
    assert [value for value in PLAINTEXTS if value.encode() in haystack] == []
    again = run_cli(capsys, "purge", "--redact-stored")
    assert again.code == 0, again.err
    assert "redact stored rewrote: nothing" in again.out  # idempotent

    app = App()
    posts = _posts(app)
    sink = build_sink(app)
    assert sink.ingest(_seller_post()).status == "unchanged"  # found by its keyed reference
    assert sink.ingest(second).status == "unchanged"
    assert sink.record_removed("forum", "post-940309-2761951")
    assert _posts(app) == posts == 3
    app.close()
    listed = run_cli(capsys, "audit", "list", "--limit", "100").out
    assert listed.count("redact_stored ") + listed.count("redact_stored\n") >= 1


def test_crawl_state_stored_before_the_rule_is_rewritten_and_still_found(
    workspace: Path, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    from crawlers.web.state import PageStates
    from storage.repositories import crawl as crawl_repo

    assert run_cli(capsys, "init").code == 0
    thread = "http://forum.test/t/view?phone=01031415926"
    profile = "http://forum.test/u/seoyeon.kim@naver.com"
    listing = crawl_repo.PageState(
        "http://forum.test/", content_hash="a" * 64, etag='"v1"', links=(thread, profile, "http://forum.test/t/2")
    )
    legacy = crawl_repo.PageState(thread, content_hash="b" * 64, etag='"v2"', post_ids=("forum.test#01031415926",))
    app = App()
    with app.sessions.begin() as session:  # the crawler before the rule stored raw state
        for state in (listing, legacy, crawl_repo.PageState(profile, content_hash="c" * 64)):
            crawl_repo.save_page(session, "forum", state)
    redactor = Redactor(app.keyring.active_key("redaction")[1])
    with app.sessions.begin() as session:  # ... and the page at `profile` was crawled again since
        newer = PageStates({}, redactor).stored_state(crawl_repo.PageState(profile, content_hash="d" * 64))
        crawl_repo.save_page(session, "forum", newer, redacted=True)
    app.close()
    assert b"01031415926" in _stored_text(db_url, workspace)

    done = run_cli(capsys, "purge", "--redact-stored")
    assert done.code == 0, done.err
    for count in ("seen_pages.url=2", "seen_pages.links=1", "seen_pages.post_ids=1", "seen_pages.superseded=1"):
        assert count in done.out
    haystack = _stored_text(db_url, workspace)
    assert [value for value in ("01031415926", "seoyeon.kim") if value.encode() in haystack] == []
    assert "redact stored rewrote: nothing" in run_cli(capsys, "purge", "--redact-stored").out

    app = App()
    with app.sessions() as session:
        pages = PageStates(crawl_repo.load_pages(session, "forum"), redactor)
    app.close()
    assert pages[thread].content_hash == "b" * 64  # found by its real URL
    assert pages[thread].etag == '"v2"'  # its own links were clean: it may still answer 304
    assert pages.post_refs(pages[thread].post_ids) == pages.post_refs(["forum.test#01031415926"])
    assert pages[profile].content_hash == "d" * 64  # the newer row won
    assert pages["http://forum.test/"].links == ("http://forum.test/t/2",)  # only followable links
    assert pages["http://forum.test/"].etag is None  # read in full next time, to get the real links
    assert sorted(pages) == ["http://forum.test/"]  # a masked URL cannot be requested from the state
