"""``seen_pages`` and crawl runs through the repository, on SQLite and PostgreSQL (migrated schema)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect

from storage.db import make_engine, make_sessionmaker, transaction
from storage.migrate import upgrade
from storage.repositories import crawl as repo
from storage.repositories.runs import add_findings, finish_run, start_run


def test_page_state_round_trip_and_removal(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    assert "seen_pages" in inspect(engine).get_table_names()
    sessions = make_sessionmaker(engine)
    url = "https://forum.example.kr/thread?id=1"
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    state = repo.PageState(
        url=url, depth=1, content_hash="a" * 64, etag='"e1"', links=("https://x/2",), post_ids=("forum#1", "forum#2")
    )
    with transaction(sessions) as session:
        assert repo.save_page(session, "forum", state, now=t0) is True
        assert repo.save_page(session, "other", state, now=t0) is True  # same URL, other source
    with transaction(sessions) as session:
        assert repo.save_page(session, "forum", state, now=t0 + timedelta(hours=1)) is False  # unchanged
        repo.touch_page(session, "forum", url, now=t0 + timedelta(hours=2))
    with sessions() as session:
        loaded = repo.load_pages(session, "forum")
    assert loaded[url] == state
    assert loaded[url].last_seen == t0 + timedelta(hours=2)
    with transaction(sessions) as session:
        assert repo.mark_page_removed(session, "forum", url, 404) is True
        assert repo.mark_page_removed(session, "forum", url, 404) is False
        assert repo.mark_page_removed(session, "forum", "https://never/seen", 404) is False
    with sessions() as session:
        gone = repo.load_pages(session, "forum")[url]
        assert gone.removed
        assert gone.status == 404
        assert not repo.load_pages(session, "other")[url].removed
    engine.dispose()


def test_runs_and_their_findings(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        first = start_run(session, "forum", "crawl").id
        second = start_run(session, "forum", "crawl").id
        start_run(session, "forum", "telegram")
        add_findings(session, "forum", [("https://x/a", "timeout", "slow")], run_id=second)
        finish_run(session, second, status="ok", stats={"pages": 3, "errors": 1})
    with sessions() as session:
        runs = repo.crawl_runs(session, "forum")
        assert [r.id for r in runs] == [second, first]
        assert repo.run_stats(session, second) == {"pages": 3, "errors": 1}
        assert [(f.locator, f.kind) for f in repo.run_findings(session, second)] == [("https://x/a", "timeout")]
        assert len(repo.crawl_runs(session, limit=1)) == 1
    engine.dispose()
