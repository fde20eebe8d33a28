"""`leakmon scan PATH...`: find protected subjects in leaked files."""

from __future__ import annotations

import gc
from pathlib import Path, PurePosixPath
from typing import Annotated

import typer

from leakmon.choices import Format, FormatOption, LogFormatOption, ProgressFormat
from leakmon.settings import MAX_JOBS

#: :data:`leakmon.scan.SCAN_SOURCE` (that module loads SQLAlchemy: imported once the workers run).
SCAN_SOURCE = "scan"


def scan(
    paths: Annotated[list[Path], typer.Argument(help="Files and directories to scan.")],
    fmt: FormatOption = Format.TABLE,
    output: Annotated[str | None, typer.Option("--output", help="Write hits here instead of stdout.")] = None,
    password: Annotated[
        list[str] | None, typer.Option("--password", help="Archive password to try (repeatable).")
    ] = None,
    store: Annotated[bool, typer.Option("--store/--no-store", help="Store hits in the database.")] = True,
    min_confidence: Annotated[
        float, typer.Option("--min-confidence", min=0, max=1, help="Report hits at or above this.")
    ] = 0.0,
    fail_on_hit: Annotated[bool, typer.Option("--fail-on-hit", help="Exit 1 when any hit is found.")] = False,
    log_format: LogFormatOption = ProgressFormat.TEXT,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            min=1,
            max=MAX_JOBS,
            help="Worker processes for big files, at most the CPU count (default: the scan.jobs setting).",
        ),
    ] = None,
    max_seconds: Annotated[
        float,
        typer.Option(
            "--max-seconds",
            min=0,
            help="Stop reading a file after this many wall-clock seconds (0, the default: no time cap; "
            "the [files] max_seconds setting is for crawled attachments only).",
        ),
    ] = 0,
) -> None:
    """Scan files and directories; print every protected subject found (masked, never the value).

    Exit code 0 whether or not hits were found (1 with --fail-on-hit and hits). Findings
    (skipped, capped or unreadable parts) go to stderr and to the database. A file a cap stopped
    before its end (time, bytes, members) gets a WARNING naming it and how to rerun, and exit code 1.
    """
    from crawlers.analyzer import PARALLEL_MIN_BYTES
    from leakmon.app import App, is_read_only
    from leakmon.runtime import build_match_context, build_scanner, read_limits

    app = App()
    # Output naming subjects is audited; a read-only workspace cannot take the audit entry, so
    # there a scan names nobody (subject references withheld) rather than name them unaudited.
    audited = not (app.settings.home.is_dir() and is_read_only(app.settings.home))
    limits = read_limits(app).with_time_cap(max_seconds)  # an explicit scan: no crawl time cap
    context = build_match_context(app)
    scanner = build_scanner(app, context, jobs)
    # What start-up built (modules, the matcher, the index) lives as long as the command: the
    # garbage collector stops walking it (in the forked workers too, whose walks would also
    # copy those shared pages). About 0.25 CPU s of a 100 MB `--jobs 2` scan.
    gc.freeze()
    try:
        # With --jobs N the workers start on a big first file now: the rest of start-up (the sink,
        # the output and their imports) runs beside them instead of before them.
        first = paths[0] if paths and paths[0].is_file() else None
        ahead = False
        if first is not None and first.stat().st_size >= PARALLEL_MIN_BYTES:
            ahead = scanner.prefetch(first, attachment_name(first.name), limits, SCAN_SOURCE)

        from leakmon.output import RecordWriter, err_console  # rich loads beside the workers
        from leakmon.progress import scan_progress
        from leakmon.runtime import build_sink
        from leakmon.scan import HIT_COLUMNS, scan_paths

        if ahead:  # the ORM's first query (the audit entry, after the file) would configure its mappers alone
            from sqlalchemy.orm import configure_mappers

            configure_mappers()

        with (
            RecordWriter(fmt=fmt, columns=HIT_COLUMNS, output=output, title="hits") as writer,
            scan_progress(paths, log_json=log_format is ProgressFormat.JSON) as progress,
        ):
            sink = build_sink(app, context=context, parallel=scanner, on_block=progress.block, limits=limits)
            outcome = scan_paths(
                sink,
                paths,
                writer,
                passwords=tuple(password or ()),
                store=store,
                min_confidence=min_confidence,
                withhold_refs=not audited,
                on_file=progress.file,
            )
    finally:
        scanner.close()  # a scan started ahead and not taken over (an error before the file)
        if app.driver is not None:  # the matcher's reads are done (a later read reconnects)
            app.driver.close()
        gc.unfreeze()  # a caller that goes on (tests run commands in-process) collects it again
    if not audited and outcome.hits:
        err_console.print("subject references withheld: the workspace is read-only, so this output cannot be audited")
    elif outcome.hits:  # the output names subjects: audited like every other such output
        from leakmon.workflows import audit

        with app.sessions.begin() as session:
            audit.record(session, "scan_output", output or "stdout", rows=outcome.hits, details={"format": fmt})
    for path, finding in outcome.findings:
        err_console.print(f"finding: {finding.locator}: {finding.kind}: {finding.reason}  ({path})")
    err_console.print(f"scanned {outcome.files} file(s): {outcome.hits} hit(s), {len(outcome.findings)} finding(s)")
    cut_short = progress.cut_short(outcome.findings)
    for warning in cut_short:
        err_console.print(warning, style="bold red", markup=False)
    app.close()
    if (fail_on_hit and outcome.hits) or cut_short:
        raise typer.Exit(1)


def attachment_name(name: str) -> str:
    """The name a scanned file's locators start with: redacted as a stored post's file names are
    (:meth:`crawlers.redact.Redactor.post`), then its last path component (:mod:`crawlers.analyzer`)."""
    from crawlers.redact import is_redacted, redact

    shown = name if is_redacted(name) else redact(name)
    return PurePosixPath(shown.replace("\\", "/")).name or "attachment"


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)
