"""Prometheus metrics of scheduled runs (optional: served only with ``--metrics-port``).

The series live in a registry of their own, so tests and one-shot commands never collide with
another library's defaults. Crawl children cannot share this registry: the parent records what a
child's summary reports.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

REGISTRY = CollectorRegistry(auto_describe=True)

RUNS = Counter("leakmon_runs", "Scheduled source runs by outcome.", ["source", "kind", "outcome"], registry=REGISTRY)
POSTS = Counter("leakmon_posts", "Posts read (new or changed).", ["source"], registry=REGISTRY)
HITS = Counter("leakmon_hits", "New hits stored.", ["source"], registry=REGISTRY)
ERRORS = Counter("leakmon_errors", "Errors and findings recorded by runs.", ["source"], registry=REGISTRY)
DEFERRED = Counter(
    "leakmon_deferred", "Runs skipped because the source asked to retry later.", ["source"], registry=REGISTRY
)
DURATION = Histogram(
    "leakmon_run_duration_seconds",
    "Duration of one source run.",
    ["source", "kind"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
    registry=REGISTRY,
)
LAST_SUCCESS = Gauge(
    "leakmon_last_success_timestamp_seconds", "When a source last finished a run ok.", ["source"], registry=REGISTRY
)


def record_run(
    source: str, kind: str, outcome: str, *, seconds: float, posts: int = 0, hits: int = 0, errors: int = 0
) -> None:
    """Count one finished run of ``source``."""
    RUNS.labels(source, kind, outcome).inc()
    DURATION.labels(source, kind).observe(max(seconds, 0.0))
    POSTS.labels(source).inc(max(posts, 0))
    HITS.labels(source).inc(max(hits, 0))
    ERRORS.labels(source).inc(max(errors, 0))
    if outcome == "ok":
        LAST_SUCCESS.labels(source).set_to_current_time()


def record_deferred(source: str) -> None:
    DEFERRED.labels(source).inc()


def serve(port: int, addr: str = "127.0.0.1") -> int:
    """Expose /metrics on ``addr:port`` (localhost by default: scrape it through your agent); the bound port."""
    server, _thread = start_http_server(port, addr=addr, registry=REGISTRY)
    return int(server.server_port)
