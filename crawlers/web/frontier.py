"""Keep a host of a shared scrapy-redis frontier alive while the frontier still has work.

A plain spider closes as soon as its own scheduler looks empty, so a second host that starts
while the first is mid-crawl would quit at once and never share the load. On ``spider_idle``
this extension looks at the shared queue in Redis: work waiting means "stay"; an empty queue
is tolerated for ``LEAKMON_FRONTIER_IDLE_ROUNDS`` engine heartbeats (5 s each) because other
hosts may still be parsing pages that add links.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class SharedFrontierLinger:
    def __init__(self, server: Any, queue_key: str, rounds: int) -> None:
        self.server = server
        self.queue_key = queue_key
        self.rounds = rounds
        self.empty_rounds = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        rounds = crawler.settings.getint("LEAKMON_FRONTIER_IDLE_ROUNDS")
        if rounds <= 0:
            raise NotConfigured("not a shared frontier")
        from scrapy_redis.connection import from_settings

        queue_key = crawler.settings.get("SCHEDULER_QUEUE_KEY")
        extension = cls(from_settings(crawler.settings), queue_key, rounds)
        crawler.signals.connect(extension.spider_idle, signal=signals.spider_idle)
        return extension

    def pending(self) -> int:
        kind = self.server.type(self.queue_key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "zset":
            return int(self.server.zcard(self.queue_key))
        if kind == "list":
            return int(self.server.llen(self.queue_key))
        return 0

    def spider_idle(self) -> None:
        if self.pending() > 0:
            self.empty_rounds = 0
            raise DontCloseSpider("the shared frontier has work")
        self.empty_rounds += 1
        if self.empty_rounds <= self.rounds:
            raise DontCloseSpider("other hosts may still add work")
