"""`leakmon run --once`, `leakmon schedule`, `leakmon status`: the scheduled job and its state."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from typing import Annotated, Any

import typer

from leakmon.app import App
from leakmon.choices import RunFormat, RunFormatOption
from leakmon.logs import LogFormat, configure_logging
from leakmon.output import ProgressFormat, console, err_console, write_records

LogFormatOption = Annotated[
    ProgressFormat, typer.Option("--log-format", help="Logs on stderr as json (one object a line) or text.")
]
MetricsPort = Annotated[
    int | None,
    typer.Option("--metrics-port", min=1, max=65535, help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics."),
]
CrawlTimeout = Annotated[
    float, typer.Option("--crawl-timeout", help="Seconds a crawl may run before it is stopped.", min=1)
]
Parallel = Annotated[int, typer.Option("--parallel", help="Crawl children running at the same time.", min=1)]

RESULT_COLUMNS = ["job", "outcome", "status", "posts", "hits", "errors"]


def _setup(log_format: str, metrics_port: int | None) -> LogFormat:
    fmt: LogFormat = "json" if log_format == "json" else "text"
    configure_logging(fmt)
    if metrics_port is not None:
        from leakmon.metrics import serve

        serve(metrics_port)
    return fmt


async def _main(app: App, options: Any, *, once: bool, every: bool, log_json: bool = False) -> list[Any]:
    from leakmon.scheduler import SchedulerService

    service = SchedulerService(app, options)
    context = service.context
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()

    def on_signal() -> None:
        if stop.is_set() and current is not None:
            current.cancel()  # second signal: stop now (children are killed)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    try:
        await service.open()
        if once:
            runner = asyncio.ensure_future(service.run_once(every=every))
            stopper = asyncio.ensure_future(stop.wait())
            async with _progress(service, log_json=log_json):
                await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if runner.done():
                runner.result()  # what made the run itself fail (a full disk): raised, never "nothing due"
            else:
                await service.drain(context.options.stop_grace)
                runner.cancel()
                return list(service.results)
            return list(runner.result())
        await service.run_forever(stop)
        return list(service.results)
    finally:
        await service.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


#: Seconds between two looks at how far ``run --once`` is.
PROGRESS_EVERY = 0.5


@contextlib.asynccontextmanager
async def _progress(service: Any, *, log_json: bool) -> AsyncIterator[None]:
    """``run --once``'s progress in jobs: a bar naming the running jobs on a terminal, periodic JSON
    lines with ``--log-format json``, nothing otherwise (cron, CI, pipes)."""
    from leakmon.progress import Ticker

    running = service.context.running
    with Ticker("run --once", None, "jobs", log_json=log_json) as ticker:

        def look() -> None:
            ticker.set_total(len(service.cycle_jobs) or None)
            ticker.describe(f"run --once: {', '.join(sorted(running)) or '-'}")
            ticker.update(service.cycle_done)

        async def refresh() -> None:
            while True:
                look()
                await asyncio.sleep(PROGRESS_EVERY)

        task = asyncio.ensure_future(refresh())
        try:
            yield
        finally:
            task.cancel()
            look()


def _options(log_format: LogFormat, crawl_timeout: float, parallel: int) -> Any:
    from leakmon.scheduler import JobOptions

    return JobOptions(log_format=log_format, crawl_timeout=crawl_timeout, parallel_crawls=parallel)


def _require_set_key(app: App) -> None:
    """Stop before any job runs when the protected set's key is not available (exit 3)."""
    from leakmon.keycheck import require_set_key

    try:
        require_set_key(app)
    except BaseException:
        app.close()
        raise


def run(
    once: Annotated[bool, typer.Option("--once", help="Run every due source once, then exit (for cron/CI).")] = False,
    every: Annotated[bool, typer.Option("--all", help="With --once: run every source, due or not.")] = False,
    fmt: Annotated[RunFormat, typer.Option("--format", help="Result of --once: table or jsonl.")] = RunFormat.TABLE,
    output: Annotated[str | None, typer.Option("--output", help="Write the --once result here.")] = None,
    log_format: LogFormatOption = ProgressFormat.TEXT,
    metrics_port: MetricsPort = None,
    crawl_timeout: CrawlTimeout = 3600.0,
    parallel: Parallel = 2,
) -> None:
    """Run the scheduled job. With --once: every due source once, then exit (non-zero if a run failed).

    Without --once it is `leakmon schedule`. Sources in retry-after (HTTP 429, flood wait) are deferred.
    """
    options = _options(_setup(log_format, metrics_port), crawl_timeout, parallel)
    app = App()
    _require_set_key(app)
    try:
        results = asyncio.run(_main(app, options, once=once, every=every, log_json=log_format == "json"))
    finally:
        app.close()
    if not once:
        return
    records = [{"job": r.job, "outcome": r.outcome, **r.detail} for r in results]
    if not records:
        err_console.print("nothing due: every source ran recently or is deferred (see `leakmon status`)")
    write_records(records, fmt=fmt, columns=RESULT_COLUMNS, output=output, title="runs")
    failed = [r for r in results if r.outcome == "error" or r.detail.get("status") == "failed"]
    for result in failed:
        err_console.print(f"{result.job}: failed: {result.detail.get('error') or 'see `leakmon status`'}", markup=False)
    if failed:
        raise typer.Exit(1)


def schedule(
    log_format: LogFormatOption = ProgressFormat.TEXT,
    metrics_port: MetricsPort = None,
    crawl_timeout: CrawlTimeout = 3600.0,
    parallel: Parallel = 2,
) -> None:
    """Run sources on their schedules until SIGINT/SIGTERM, then finish the post in flight and exit.

    One scheduler per database: a second one is refused. Run it under systemd (Restart=on-failure).
    """
    options = _options(_setup(log_format, metrics_port), crawl_timeout, parallel)
    app = App()
    _require_set_key(app)
    try:
        asyncio.run(_main(app, options, once=False, every=False))
    finally:
        app.close()


def status(
    fmt: RunFormatOption = RunFormat.TABLE,
    output: Annotated[str | None, typer.Option("--output", help="Write here instead of stdout.")] = None,
) -> None:
    """A summary (failed runs, undelivered alerts, overdue incidents), then per source: last run, result,
    posts and hits found, errors, the last error's reason, next run, and any deferral.

    The summary heads the table format (on stderr with --output); jsonl prints the per-source rows only.
    """
    from leakmon.scheduler import STATUS_COLUMNS, status_rows, status_summary

    app = App()
    try:
        rows = status_rows(app)
        summary = status_summary(app, rows) if fmt == "table" else None
    finally:
        app.close()
    if summary is not None:
        target = err_console if output else console  # --output FILE keeps just the table
        for line in summary.lines():
            target.print(line, style=None if summary.ok else "bold red", markup=False)
    write_records(rows, fmt=fmt, columns=STATUS_COLUMNS, output=output, title="sources")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("schedule")(schedule)
    app.command("status")(status)
