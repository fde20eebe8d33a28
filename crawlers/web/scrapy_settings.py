"""Scrapy settings for one source's crawl: politeness, caps, our components, optional scrapy-redis."""

from __future__ import annotations

from typing import Any

from crawlers.web.config import SourceConfig

_MW = "crawlers.web.middlewares"


def build_settings(
    config: SourceConfig,
    *,
    redis_url: str | None = None,
    frontier: str | None = None,
    log_level: str = "WARNING",
    run_key: str = "local",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Settings for a crawl of one source. ``extra`` overrides (tests: a loopback-only resolver).

    With ``redis_url`` the scheduler queue and dupefilter live in Redis under
    ``leakmon:{frontier}:...``: hosts crawling with the same ``frontier`` (one per scheduled run,
    e.g. ``forum:2026-11-23T18:30``) share it and never fetch a page twice. Without ``frontier``
    the keys are private to this run (``leakmon:run:{run_key}``).
    """
    settings: dict[str, Any] = {
        "BOT_NAME": "leakmon",
        "USER_AGENT": config.user_agent,
        "ROBOTSTXT_OBEY": config.obey_robots,
        "CONCURRENT_REQUESTS": config.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": config.concurrency,
        "DOWNLOAD_DELAY": config.download_delay,
        "AUTOTHROTTLE_ENABLED": config.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(config.download_delay, 1.0),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "DOWNLOAD_TIMEOUT": config.timeout,
        "RETRY_TIMES": config.retries,
        "DOWNLOAD_MAXSIZE": config.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "CLOSESPIDER_PAGECOUNT": config.max_pages,
        "DEPTH_LIMIT": 0,  # depth is the spider's (pagination does not count as a hop)
        "REDIRECT_MAX_TIMES": 10,
        "HTTPCACHE_ENABLED": False,  # would write leaked pages to disk in clear
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": log_level,
        "ITEM_PIPELINES": {"crawlers.web.pipelines.SinkPipeline": 300},
        "DOWNLOADER_MIDDLEWARES": {
            f"{_MW}.OriginGuardMiddleware": 40,  # first: nothing is sent to another origin
            f"{_MW}.ConditionalRequestMiddleware": 560,
            f"{_MW}.RedirectLoopMiddleware": 650,
            f"{_MW}.ProxyEnforcementMiddleware": 740,  # before HttpProxyMiddleware (750)
            f"{_MW}.CharsetFixMiddleware": 960,
        },
        "SPIDER_MIDDLEWARES": {
            f"{_MW}.ParseErrorMiddleware": 940,
            f"{_MW}.SkipSeenDocumentsMiddleware": 950,
        },
    }
    if redis_url:
        key = f"leakmon:{frontier}" if frontier else f"leakmon:run:{run_key}"
        settings.update(
            {
                "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
                "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
                "REDIS_URL": redis_url,
                # A shared frontier must outlive the first host to finish (the runner sets an expiry);
                # a private one is flushed on close so the next run starts clean.
                "SCHEDULER_PERSIST": frontier is not None,
                "SCHEDULER_QUEUE_KEY": f"{key}:requests",
                "SCHEDULER_DUPEFILTER_KEY": f"{key}:dupefilter",
                "DUPEFILTER_KEY": f"{key}:dupefilter",
            }
        )
        if frontier:
            settings["EXTENSIONS"] = {"crawlers.web.frontier.SharedFrontierLinger": 500}
            settings["LEAKMON_FRONTIER_IDLE_ROUNDS"] = 2
    settings.update(extra or {})
    return settings
