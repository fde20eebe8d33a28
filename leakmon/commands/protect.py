"""`leakmon protect import|hash|stats`: manage the protected identifier set (digests only)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from leakmon.app import App
from leakmon.choices import Format, FormatOption
from leakmon.output import LogFormatOption, ProgressFormat, console, err_console, write_records
from leakmon.progress import Ticker, byte_progress
from leakmon.protect import ImportReport, hash_rows, open_planned, read_hashed, write_hashed
from leakmon.settings import MAX_JOBS
from storage.repositories.keys import record_key
from storage.repositories.protected import DigestBatch, ProtectedLoader, StagedRow, set_stats, subject_count

protect_app = typer.Typer(help="Manage the protected identifier set (stored as keyed digests only).")

SubjectColumn = Annotated[str, typer.Option("--subject-column", help="Column holding the opaque subject reference.")]
Jobs = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        min=1,
        max=MAX_JOBS,
        help="Worker processes that normalize and hash, at most the CPU count (default: the scan.jobs setting).",
    ),
]
ColumnMap = Annotated[
    list[str] | None,
    typer.Option("--column", help="Map a header to a type: HEADER=TYPE (TYPE '-' ignores the column). Repeatable."),
]


@protect_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV, TSV or XLSX with a header row.")],
    subject_column: SubjectColumn = "subject_ref",
    column: ColumnMap = None,
    replace: Annotated[bool, typer.Option("--replace", help="Swap the whole set for this file, atomically.")] = False,
    hashed: Annotated[bool, typer.Option("--hashed", help="FILE is the output of `leakmon protect hash`.")] = False,
    jobs: Jobs = None,
    log_format: LogFormatOption = ProgressFormat.TEXT,
) -> None:
    """Import protected identifiers: normalized and hashed in memory, only digests are stored."""
    from leakmon.keycheck import require_set_key
    from leakmon.runtime import build_hasher, build_registry, forms_for

    app = App()
    app.require_schema()
    if not replace:  # a set under two keys could never match whole: refuse before hashing anything
        require_set_key(app)
    hasher = build_hasher(app)
    report = ImportReport()
    batches: Iterator[DigestBatch] | Iterator[list[StagedRow]]
    with contextlib.ExitStack() as stack:
        if hashed:
            batches = read_hashed(file, expected_key_id=hasher.key_id, report=report)
        else:
            registry = build_registry(app)
            table, plan = open_planned(
                file, subject_column=subject_column, columns=column or [], known_types=registry.types
            )
            report.columns = {table.header[i]: t for i, t in plan.typed}
            progress = stack.enter_context(
                byte_progress(table.size, table.position, "hashing", log_json=log_format is ProgressFormat.JSON)
            )
            workers = jobs or app.settings.scan.jobs
            batches = progress.wrap(hash_rows(table, plan, hasher, forms_for(app, registry), report, jobs=workers))
        with app.sessions.begin() as session:
            loader = ProtectedLoader(session)
            for batch in batches:
                loader.stage(batch)
            stack.close()  # the hashing bar ends here; the set-based insert is a phase of its own
            with Ticker("storing", None, "steps", log_json=log_format is ProgressFormat.JSON):
                result = loader.finish(replace=replace)
            record_key(session, hasher.key_id, "hmac")
    _print_report(report)
    console.print(
        f"stored: {result.inserted} new digests, {result.subjects_added} new subjects"
        + (f", {result.removed} replaced" if replace else "")
        + f" (key {hasher.key_id})"
    )
    app.close()


@protect_app.command("hash")
def hash_(
    file: Annotated[Path, typer.Argument(help="CSV, TSV or XLSX with a header row.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the hashed file.")],
    subject_column: SubjectColumn = "subject_ref",
    column: ColumnMap = None,
    jobs: Jobs = None,
) -> None:
    """Hash a protected-set file without a database (for a secure zone); import it with --hashed."""
    from leakmon.runtime import build_hasher, build_registry, forms_for

    app = App()
    hasher = build_hasher(app)
    registry = build_registry(app)
    table, plan = open_planned(file, subject_column=subject_column, columns=column or [], known_types=registry.types)
    report = ImportReport(columns={table.header[i]: t for i, t in plan.typed})
    with (
        output.open("w", encoding="utf-8", newline="") as out,
        byte_progress(table.size, table.position, "hashing") as progress,
    ):
        workers = jobs or app.settings.scan.jobs
        write_hashed(progress.wrap(hash_rows(table, plan, hasher, forms_for(app, registry), report, jobs=workers)), out)
    _print_report(report)
    console.print(f"wrote {report.digests} digests to {output} (key {hasher.key_id})")


@protect_app.command("stats")
def stats(
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Show how many digests the protected set holds, by key, type and form."""
    app = App()
    app.require_schema()
    with app.sessions() as session:
        rows = [
            {"key_id": key_id, "id_type": id_type, "form": form, "digests": count}
            for key_id, id_type, form, count in set_stats(session)
        ]
        subjects = subject_count(session)
    write_records(rows, fmt=fmt, columns=["key_id", "id_type", "form", "digests"], title="protected set")
    if fmt == "table":
        console.print(f"subjects: {subjects}")


def _print_report(report: ImportReport) -> None:
    console.print(f"rows: {report.rows}, values: {report.values}, digests: {report.digests}")
    if report.invalid:
        counts = ", ".join(f"{t}: {n}" for t, n in sorted(report.invalid.items()))
        err_console.print(f"invalid values (not imported): {counts}")
        for row, id_type, reason in report.invalid_rows:
            err_console.print(f"  row {row}: {id_type}: {reason}")
        listed = len(report.invalid_rows)
        total = sum(report.invalid.values())
        if total > listed:
            err_console.print(f"  ... and {total - listed} more")


def register(app: typer.Typer) -> None:
    app.add_typer(protect_app, name="protect")
