"""Fixtures for web crawler tests: a fixture server, a migrated database and a crawl helper."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from web_fakes import TEST_SETTINGS, RecordingSinkFactory
from web_sites import FixtureSite, serve

from crawlers.web.config import SourceConfig
from crawlers.web.runner import CrawlJob, run_in_child
from crawlers.web.summary import CrawlSummary
from storage.db import make_engine
from storage.migrate import upgrade

FAST = {"download_delay": 0, "autothrottle": False, "retries": 0, "timeout": 5, "concurrency": 4}


@pytest.fixture
def site() -> Iterator[FixtureSite]:
    with serve(FixtureSite()) as running:
        yield running


@pytest.fixture
def crawl_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'crawl.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


Crawl = Callable[..., CrawlSummary]


@pytest.fixture
def crawl(crawl_db: str, tmp_path: Path) -> Crawl:
    """Run one crawl of a source in a child process, recording into tmp_path/events.jsonl."""

    def run(
        name: str = "src",
        *,
        sink_path: Path | None = None,
        database_url: str | None = None,
        redis_url: str | None = None,
        frontier: str | None = None,
        fail_marker: str | None = None,
        **config: Any,
    ) -> CrawlSummary:
        source = SourceConfig.model_validate({**FAST, **config})
        job = CrawlJob(
            source=name,
            config=source,
            database_url=database_url or crawl_db,
            redis_url=redis_url,
            frontier=frontier,
            extra_settings=dict(TEST_SETTINGS),
            spool_dir=str(tmp_path / "workspace" / "spool"),
        )
        factory = RecordingSinkFactory(sink_path or tmp_path / "events.jsonl", fail_marker)
        return run_in_child(job, factory, timeout=60)

    return run


@pytest.fixture
def events_path(tmp_path: Path) -> Path:
    return tmp_path / "events.jsonl"
