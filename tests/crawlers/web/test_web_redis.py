"""Scale-out: two crawler processes share one scrapy-redis frontier and never fetch a page twice.

Needs a real Redis (LEAKMON_TEST_REDIS, default redis://127.0.0.1:6379/15): skipped when none is
reachable, except under CI=true where that is a failure.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import Crawl
from web_fakes import read_events
from web_sites import FixtureSite

from crawlers.web.config import SourceConfig
from crawlers.web.scrapy_settings import build_settings
from crawlers.web.summary import CrawlSummary

REDIS_URL = os.environ.get("LEAKMON_TEST_REDIS", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"CI=true but Redis is not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL} (runs in CI)")
    finally:
        client.close()
    return REDIS_URL


def test_redis_settings_share_a_frontier_only_when_named() -> None:
    config = SourceConfig.model_validate({"kind": "site", "start_urls": ["http://a.test/"]})
    shared = build_settings(config, redis_url="redis://r:6379/0", frontier="forum:tick-1")
    private = build_settings(config, redis_url="redis://r:6379/0", run_key="forum:7")
    assert shared["SCHEDULER"] == "scrapy_redis.scheduler.Scheduler"
    assert shared["SCHEDULER_QUEUE_KEY"] == "leakmon:forum:tick-1:requests"
    assert shared["SCHEDULER_PERSIST"] is True
    assert private["SCHEDULER_DUPEFILTER_KEY"] == "leakmon:run:forum:7:dupefilter"
    assert private["SCHEDULER_PERSIST"] is False
    assert "SCHEDULER" not in build_settings(config)


@pytest.mark.redis
@pytest.mark.slow
def test_two_processes_share_one_frontier(site: FixtureSite, crawl: Crawl, redis_url: str, tmp_path: Path) -> None:
    pages = 24
    for n in range(pages):
        children = "".join(f'<a href="/p/{c}">{c}</a>' for c in (2 * n + 1, 2 * n + 2) if c < pages)
        site.add(f"/p/{n}", f"<html><body>page {n} {children}</body></html>", delay=0.3)
    frontier = f"test-{uuid.uuid4().hex[:8]}"
    summaries: dict[str, CrawlSummary] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            summaries[name] = crawl(
                sink_path=tmp_path / f"{name}.jsonl",
                redis_url=redis_url,
                frontier=frontier,
                kind="site",
                start_urls=[site.url("/p/0")],
                depth=10,
                concurrency=1,
            )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("host-a", "host-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    fetched = Counter(site.fetched())
    assert sorted(fetched) == sorted(f"/p/{n}" for n in range(pages))
    assert max(fetched.values()) == 1, [p for p, c in fetched.items() if c > 1]
    ingested: list[Any] = []
    for name in ("host-a", "host-b"):
        ingested += [e["external_id"] for e in read_events(tmp_path / f"{name}.jsonl", "ingest")]
    assert len(ingested) == len(set(ingested)) == pages
    assert sum(s.pages for s in summaries.values()) == pages
    assert all(s.pages > 0 for s in summaries.values()), {n: s.pages for n, s in summaries.items()}
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        assert 0 < client.ttl(f"leakmon:{frontier}:dupefilter") <= 6 * 3600
        client.delete(f"leakmon:{frontier}:requests", f"leakmon:{frontier}:dupefilter")
    finally:
        client.close()
