"""`leakmon sources list` and `leakmon crawl SOURCE...`: the configured web sources, crawled now.

:func:`run_crawl` is the library entry point (one child process per crawl); the CLI is a thin
layer over it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crawlers.web.config import SourceConfig, SourceConfigError, parse_sources
from crawlers.web.runner import CrawlJob, SinkFactory, run_in_child
from crawlers.web.summary import CrawlSummary
from leakmon.app import App
from leakmon.choices import RunFormat, RunFormatOption
from leakmon.errors import ConfigError, NotFoundError
from leakmon.logs import redact_text
from leakmon.output import err_console, write_records
from leakmon.settings import Settings, load_settings

if TYPE_CHECKING:
    from crawlers.interface import PostSink

SOURCE_COLUMNS = ["name", "kind", "enabled", "schedule", "depth", "start_urls", "proxy", "obey_robots"]
SUMMARY_COLUMNS = [
    "source",
    "status",
    "pages",
    "not_modified",
    "posts",
    "new_posts",
    "changed_posts",
    "removed",
    "attachments",
    "hits",
    "new_hits",
    "errors",
    "run_id",
]


def source_configs(settings: Settings) -> dict[str, SourceConfig]:
    """Every ``[sources.NAME]`` validated; an invalid one is a ConfigError sentence."""
    try:
        return parse_sources(settings.sources)
    except SourceConfigError as exc:
        raise ConfigError(str(exc)) from None


def _app_sink(settings: Settings, job: CrawlJob) -> PostSink:
    """The real ingest sink, built in the crawl child (module-level so it pickles).

    The child's logs (Scrapy's warnings and findings name crawled URLs) go through leakmon's
    redacting handler, as the scheduler's crawl children do; Scrapy's own handler is off
    (``LOG_ENABLED = False`` in :func:`run_crawl`).
    """
    from leakmon.logs import configure_logging
    from leakmon.runtime import build_sink

    configure_logging("text", level=logging.WARNING)
    return build_sink(App(settings=settings), run_id=job.run_id)


def run_crawl(
    settings: Settings,
    source_name: str,
    *,
    progress: Callable[[CrawlSummary], None] | None = None,
    timeout: float | None = None,
    sink_factory: SinkFactory | None = None,
    scrapy_settings: dict[str, Any] | None = None,
    frontier: str | None = None,
) -> CrawlSummary:
    """Crawl one configured source now, in a child process; returns the stored run summary.

    With ``settings.redis_url`` and a ``frontier`` name, hosts running the same source with the
    same frontier share one scrapy-redis queue and dupefilter (use a new name per scheduled run).
    """
    configs = source_configs(settings)
    config = configs.get(source_name)
    if config is None:
        known = ", ".join(configs) or "none configured"
        raise NotFoundError(f"no web source named {source_name!r} (known: {known})")
    if not config.enabled:
        raise ConfigError(f"source {source_name!r} is disabled (enabled = false)")
    try:
        config.resolve_secrets()
    except SourceConfigError as exc:
        raise ConfigError(f"source {source_name!r}: {exc}") from None
    if settings.redis_url:
        try:
            import scrapy_redis  # noqa: F401
        except ImportError:
            raise ConfigError(
                "LEAKMON_REDIS_URL is set but scrapy-redis is not installed (extra: leakmon[redis])"
            ) from None
    from leakmon.keycheck import require_set_key

    app = App(settings=settings)
    try:
        require_set_key(app)
    finally:
        app.close()
    job = CrawlJob(
        source=source_name,
        config=config,
        database_url=settings.resolved_database_url,
        redis_url=settings.redis_url,
        frontier=frontier,
        # The app's sink routes the child's logs through the redacting handler instead of Scrapy's.
        extra_settings={**({"LOG_ENABLED": False} if sink_factory is None else {}), **(scrapy_settings or {})},
        spool_dir=str(settings.home / "spool"),
    )
    factory = sink_factory or functools.partial(_app_sink, settings)
    return run_in_child(job, factory, progress=progress, timeout=timeout)


#: Extra Scrapy settings for CLI crawls (tests install a loopback-only DNS resolver here).
EXTRA_SCRAPY_SETTINGS: dict[str, Any] = {}

sources_app = typer.Typer(help="Web sources declared in the configuration.", no_args_is_help=True)


@sources_app.command("list")
def list_sources(fmt: RunFormatOption = RunFormat.TABLE) -> None:
    """List the configured web sources (sources.NAME tables) with their kind and schedule."""
    records: list[dict[str, object]] = []
    for name, config in source_configs(load_settings()).items():
        records.append(
            {
                "name": name,
                "kind": config.kind,
                "enabled": config.enabled,
                "schedule": config.schedule,
                "depth": config.depth,
                "start_urls": config.start_urls if fmt == "jsonl" else " ".join(config.start_urls),
                "proxy": config.proxy is not None,
                "obey_robots": config.obey_robots,
            }
        )
    write_records(records, fmt=fmt, columns=SOURCE_COLUMNS, title="sources")


def crawl(
    sources: Annotated[list[str], typer.Argument(help="Source names (the NAME of each sources.NAME table).")],
    fmt: RunFormatOption = RunFormat.TABLE,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Stop a source's crawl after this many seconds.")
    ] = None,
    frontier: Annotated[
        str | None,
        typer.Option("--frontier", help="Share this Redis frontier with other hosts (needs LEAKMON_REDIS_URL)."),
    ] = None,
) -> None:
    """Crawl web sources now, one child process each, and print each run's summary.

    Findings (errors, caps, removed pages) go to stderr and to the database. Exit code 1 when a
    crawl failed.
    """
    settings = load_settings()
    configs = source_configs(settings)
    for name in sources:
        if name not in configs:
            raise NotFoundError(f"no web source named {name!r} (known: {', '.join(configs) or 'none configured'})")
    if frontier and not settings.redis_url:
        raise ConfigError("--frontier needs a Redis frontier: set LEAKMON_REDIS_URL")
    summaries = [_crawl_with_progress(settings, name, timeout, frontier) for name in sources]
    write_records(
        [{c: s.to_dict().get(c) for c in SUMMARY_COLUMNS} for s in summaries],
        fmt=fmt,
        columns=SUMMARY_COLUMNS,
        title="crawl runs",
    )
    for summary in summaries:
        for kind, count in sorted(summary.findings.items()):
            err_console.print(f"finding: {summary.source}: {kind} x{count}")
        if summary.error:
            err_console.print(f"{summary.source}: failed: {redact_text(summary.error)}", markup=False)
    if any(s.status != "ok" for s in summaries):
        raise typer.Exit(1)


def _crawl_with_progress(settings: Settings, name: str, timeout: float | None, frontier: str | None) -> CrawlSummary:
    options: dict[str, Any] = {"timeout": timeout, "scrapy_settings": EXTRA_SCRAPY_SETTINGS, "frontier": frontier}
    if not err_console.is_terminal:
        return run_crawl(settings, name, **options)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console, transient=True
    ) as bar:
        task = bar.add_task(f"{name}: starting")

        def show(summary: CrawlSummary) -> None:
            bar.update(
                task,
                description=f"{name}: {summary.pages + summary.not_modified} pages, {summary.posts} posts, "
                f"{summary.attachments} files, {summary.hits} hits, {summary.errors} errors",
            )

        return run_crawl(settings, name, progress=show, **options)


def register(app: typer.Typer) -> None:
    app.add_typer(sources_app, name="sources")
    app.command("crawl")(crawl)
