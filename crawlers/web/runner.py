"""Run one source's crawl: in this process (once: Twisted's reactor cannot restart) or in a child.

:func:`run_in_child` is what the CLI and the scheduler call. It records the run (``runs`` row with
the summary as ``stats``), starts a child (from a forkserver) that loads the incremental state, builds the
sink through ``sink_factory`` and crawls, and relays progress back to the caller.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import queue as queue_module
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawlers import spool
from crawlers.interface import PostSink
from crawlers.redact import Redactor, error_reason
from crawlers.web.config import SourceConfig
from crawlers.web.state import PageStates
from crawlers.web.summary import CrawlSummary
from storage.db import make_engine, make_sessionmaker
from storage.models.core import Checkpoint
from storage.repositories import crawl as crawl_repo
from storage.repositories.runs import finish_run, start_run

SinkFactory = Callable[["CrawlJob"], PostSink]
ProgressCallback = Callable[[CrawlSummary], None]

#: Modules the crawl forkserver imports once, before forking crawl children.
PRELOAD = ("crawlers.web.spiders", "crawlers.web.pipelines", "crawlers.web.middlewares", "scrapy.crawler")

#: Seconds the child gets to stop after SIGINT before it is killed.
STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class CrawlJob:
    """Everything a crawl process needs (picklable: it crosses into the child)."""

    source: str
    config: SourceConfig
    database_url: str
    run_id: int | None = None
    redis_url: str | None = None
    frontier: str | None = None
    log_level: str = "WARNING"
    extra_settings: dict[str, Any] = field(default_factory=dict)
    #: Where attachments too big for memory are spooled: the workspace's ``spool`` folder.
    spool_dir: str | None = None


class CrawlFailed(RuntimeError):
    """The crawl process failed before producing a summary."""


def crawl_here(job: CrawlJob, sink: PostSink, *, progress: ProgressCallback | None = None) -> CrawlSummary:
    """Crawl ``job`` in this process and return its summary (at most once per process)."""
    from scrapy.crawler import CrawlerProcess
    from sqlalchemy import select

    from crawlers.web.scrapy_settings import build_settings
    from crawlers.web.spiders import SPIDERS
    from crawlers.web.suffixes import use_bundled_public_suffixes

    use_bundled_public_suffixes()
    if job.spool_dir is not None:
        spool.configure(Path(job.spool_dir))  # also removes the spools of crawls that were killed

    engine = make_engine(job.database_url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        pages = PageStates(crawl_repo.load_pages(session, job.source), _redactor(sink))
        rows = session.scalars(select(Checkpoint).where(Checkpoint.scope == "crawl"))
        checkpoints = {row.key: row.value for row in rows if row.key.startswith(f"tme:{job.source}:")}
    settings = build_settings(
        job.config,
        redis_url=job.redis_url,
        frontier=job.frontier,
        log_level=job.log_level,
        run_key=f"{job.source}:{job.run_id or os.getpid()}",
        extra=job.extra_settings,
    )
    process = CrawlerProcess(settings)
    spider_cls = SPIDERS[job.config.kind]
    crawler = process.create_crawler(spider_cls)
    process.crawl(
        crawler,
        source=job.source,
        config=job.config,
        sink=sink,
        sessions=sessions,
        pages=pages,
        checkpoints=checkpoints,
        run_id=job.run_id,
        progress=progress,
    )
    process.start()
    engine.dispose()
    if job.redis_url and job.frontier:
        _expire_frontier(job.redis_url, f"leakmon:{job.frontier}")
    spider = crawler.spider
    if spider is None:
        raise CrawlFailed(f"crawl of {job.source} did not start")
    summary: CrawlSummary = spider.summary  # type: ignore[attr-defined]
    summary.finish_reason = summary.finish_reason or str(
        crawler.stats.get_value("finish_reason") if crawler.stats else ""
    )
    nothing = summary.pages + summary.not_modified + summary.unchanged_pages + summary.skipped_seen == 0
    summary.status = "failed" if summary.error or (nothing and summary.errors) else "ok"
    return summary


def _redactor(sink: PostSink) -> Redactor:
    """The sink's redaction rule and key, so stored page state matches its post references.

    A sink without one (a test's recording fake) gets a fresh key: references last one run.
    """
    redactor = getattr(sink, "redactor", None)
    return redactor if isinstance(redactor, Redactor) else Redactor()


#: A shared frontier's Redis keys live this long after a host finishes (the last host's call wins).
FRONTIER_TTL_SECONDS = 6 * 3600


def _expire_frontier(redis_url: str, key: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for suffix in (":requests", ":dupefilter"):
            client.expire(key + suffix, FRONTIER_TTL_SECONDS)
    finally:
        client.close()


def _child_main(job: CrawlJob, sink_factory: SinkFactory, events: Any, environ: dict[str, str]) -> None:
    """Entry point of the crawl child (module-level so it pickles).

    The forkserver's environment is from when it started: take the caller's current one.
    """
    os.environ.clear()
    os.environ.update(environ)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        sink = sink_factory(job)
        summary = crawl_here(job, sink, progress=lambda s: events.put(("progress", s.to_dict())))
        events.put(("done", summary.to_dict()))
    except Exception as exc:  # reported to the parent as one line; the run is marked failed
        events.put(("error", error_reason(exc)))
    except BaseException as exc:
        events.put(("error", error_reason(exc)))
        raise


def run_in_child(
    job: CrawlJob,
    sink_factory: SinkFactory,
    *,
    progress: ProgressCallback | None = None,
    timeout: float | None = None,
) -> CrawlSummary:
    """Record a run, crawl ``job`` in a child process and return (and store) its summary.

    ``sink_factory`` must pickle (a module-level function or a partial of one); it is called in
    the child with the job, whose ``run_id`` is set. A child that dies, errs or outlives
    ``timeout`` gives a ``failed`` summary; nothing is raised for crawl-level errors.
    """
    engine = make_engine(job.database_url)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        run_id = start_run(session, job.source, "crawl").id
    job = dataclasses.replace(job, run_id=run_id)
    summary = CrawlSummary(source=job.source, run_id=run_id)
    # A forkserver child starts from a process that already imported Scrapy (about half the
    # start-up of a spawned one) and, unlike fork, shares no state with this process.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    events = context.Queue()
    child = context.Process(
        target=_child_main, args=(job, sink_factory, events, dict(os.environ)), name=f"crawl-{job.source}"
    )
    child.start()
    deadline = None if timeout is None else _now() + timeout
    try:
        summary = _relay(child, events, summary, progress, deadline)
    except BaseException:
        _stop(child)
        summary.status, summary.error = "failed", "interrupted"
        raise
    finally:
        child.join(STOP_GRACE_SECONDS)
        if child.is_alive():
            _stop(child)
        summary.run_id = run_id
        with sessions.begin() as session:
            finish_run(session, run_id, status=summary.status, stats=summary.to_dict(), error=summary.error)
        engine.dispose()
    return summary


def _relay(
    child: Any, events: Any, summary: CrawlSummary, progress: ProgressCallback | None, deadline: float | None
) -> CrawlSummary:
    while True:
        try:
            kind, payload = events.get(timeout=0.2)
        except queue_module.Empty:
            if deadline is not None and _now() > deadline:
                _stop(child)
                summary.status, summary.error = "failed", "timed out"
                return summary
            if not child.is_alive():
                summary.status = "failed"
                summary.error = f"crawl process exited with code {child.exitcode} before reporting"
                return summary
            continue
        if kind == "progress":
            summary = CrawlSummary.from_dict(payload)
            if progress is not None:
                progress(summary)
        elif kind == "done":
            return CrawlSummary.from_dict(payload)
        else:
            summary.status, summary.error = "failed", str(payload)[:500]
            return summary


def _stop(child: Any) -> None:
    """SIGINT (Scrapy stops cleanly), wait, then SIGKILL."""
    if child.is_alive() and child.pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGINT)
        child.join(STOP_GRACE_SECONDS)
    if child.is_alive():
        child.kill()
        child.join()


def _now() -> float:
    import time

    return time.monotonic()
