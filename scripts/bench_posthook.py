"""The post hook and `scan`'s output on one mass-breach post, statement by statement (issue 12).

    python scripts/bench_posthook.py [--subjects 300000] [--pg URL] [--backends sqlite,postgresql]
        [--workdir DIR] [--repeat 2] [--code DIR]

One post of N subjects × 4 hits (``bench_incident_views.build``: name composite; phone, e-mail and
address exact), folded once (``note_first_seen``). Then, ``--repeat`` times, in a transaction rolled
back after: the post made fresh again (no incident, no score: the first mass breach) and the ingest
post hook run on it (``on_post_ingested``), each SQL statement's CPU measured (this process's
``time.process_time``; PostgreSQL: also the session backend's CPU from ``/proc``). Then the output
pass (``stored_rows`` rendered by ``jsonl_lines`` into nothing). Measured, never asserted.
``--workdir`` keeps the SQLite file and reuses it (and a PostgreSQL database named after the
subjects) across runs, so two versions of the code (``--code``: the worktree to import leakmon
from) are compared on the same data, alternated.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def backend_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of a local PostgreSQL backend so far, 0.0 without one."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class StatementClock:
    """CPU of each statement run through the engine (client and, on PostgreSQL, backend)."""

    def __init__(self) -> None:
        self.costs: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        self.pid: int | None = None
        self._start: tuple[float, float] = (0.0, 0.0)

    def before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self._start = (time.process_time(), backend_cpu(self.pid))

    def after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        cost = self.costs[" ".join(statement.split())[:150]]
        cost[0] += time.process_time() - self._start[0]
        cost[1] += backend_cpu(self.pid) - self._start[1]
        cost[2] += 1

    def report(self, least: float = 0.01) -> None:
        for statement, (client, server, n) in sorted(self.costs.items(), key=lambda kv: -(kv[1][0] + kv[1][1])):
            if client + server >= least:
                print(f"    {client:6.2f} + {server:6.2f} s  x{int(n)}  {statement}")


def prepare(db_url: str, subjects: int, marker: Path | None) -> int:
    """The seeded post (built and folded once; reused when ``marker`` says it exists)."""
    from bench_incident_views import build  # type: ignore[import-not-found]

    from storage.db import make_engine, make_sessionmaker
    from storage.repositories.first_seen import note_first_seen

    if marker is not None and marker.exists():
        return int(marker.read_text())
    started = time.perf_counter()
    post_id = int(build(db_url, subjects))
    engine = make_engine(db_url)
    with make_sessionmaker(engine).begin() as session:
        note_first_seen(session, post_id, 0)
    engine.dispose()
    print(f"  built and folded in {time.perf_counter() - started:.0f} s wall", flush=True)
    if marker is not None:
        marker.write_text(str(post_id))
    return post_id


@contextmanager
def clocked(engine: Any) -> Iterator[StatementClock]:
    from sqlalchemy import event

    clock = StatementClock()
    event.listen(engine, "before_cursor_execute", clock.before)
    event.listen(engine, "after_cursor_execute", clock.after)
    try:
        yield clock
    finally:
        event.remove(engine, "before_cursor_execute", clock.before)
        event.remove(engine, "after_cursor_execute", clock.after)


def hook_once(db_url: str, post_id: int, subjects: int) -> None:
    """The post hook on the post made fresh again, in a transaction rolled back after."""
    from sqlalchemy import delete, select, text

    from leakmon.settings import Settings
    from leakmon.workflows.incidents import on_post_ingested
    from storage.db import make_engine, make_sessionmaker
    from storage.models.cases import Incident, IncidentPost, PostScore
    from storage.models.core import Post
    from storage.repositories.hits import StoredHits

    engine = make_engine(db_url)
    session = make_sessionmaker(engine)()
    try:
        pid = None
        if engine.dialect.name == "postgresql":
            pid = int(session.scalar(text("SELECT pg_backend_pid()")) or 0)
        incidents = list(session.scalars(select(IncidentPost.incident_id).where(IncidentPost.post_id == post_id)))
        session.execute(delete(IncidentPost).where(IncidentPost.post_id == post_id))
        session.execute(delete(PostScore).where(PostScore.post_id == post_id))
        if incidents:
            session.execute(delete(Incident).where(Incident.id.in_(incidents)))
        total = int(session.scalar(text("SELECT count(*) FROM hits WHERE post_id = :p"), {"p": post_id}) or 0)
        stored = StoredHits(post_id=post_id, before=0, new=total, total=total)
        if "subjects" in StoredHits.__dataclass_fields__:  # the fold's count, as store_hits reports it
            stored = StoredHits(post_id=post_id, before=0, new=total, total=total, subjects=subjects)  # type: ignore[call-arg]
        post = session.get_one(Post, post_id)
        settings = Settings()
        load = os.getloadavg()[0]
        with clocked(engine) as clock:
            clock.pid = pid
            cpu, server = time.process_time(), backend_cpu(pid)
            on_post_ingested(session, post, stored, settings=settings)
            session.flush()
            cpu, server = time.process_time() - cpu, backend_cpu(pid) - server
        incident = session.scalar(select(Incident).join(IncidentPost).where(IncidentPost.post_id == post_id))
        assert incident is not None
        print(
            f"  post hook: CPU {cpu:.2f} s + server {server:.2f} s (load {load:.1f}); incident "
            f"{incident.subject_count} subjects, {incident.hit_count} hits, types {incident.id_types}, "
            f"aware {incident.awareness_basis}",
            flush=True,
        )
        clock.report()
    finally:
        session.rollback()
        session.close()
        engine.dispose()


def output_once(db_url: str, post_id: int) -> None:
    """`scan`'s output pass over the stored post: read back and rendered as JSON lines."""
    from leakmon.scan import jsonl_lines, stored_rows
    from storage.db import make_engine, make_sessionmaker

    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    pid = None
    if engine.dialect.name == "postgresql":
        from sqlalchemy import text

        with sessions() as probe:
            pid = int(probe.scalar(text("SELECT pg_backend_pid()")) or 0)  # the pooled connection reused below
    load = os.getloadavg()[0]
    cpu, server = time.process_time(), backend_cpu(pid)
    read = rendered = 0
    rows = stored_rows(sessions, post_id, None, 0.0)
    for line in jsonl_lines(rows, "dump.csv", post_id, 1):
        read += 1
        rendered += len(line)
    cpu, server = time.process_time() - cpu, backend_cpu(pid) - server
    engine.dispose()
    print(
        f"  output: {read:,} hits, {rendered / 2**20:.0f} MB of JSON lines, CPU {cpu:.2f} s + server {server:.2f} s "
        f"(load {load:.1f}): {1e6 * cpu / max(read, 1):.2f} us a hit",
        flush=True,
    )


def pg_named(admin_url: str, name: str) -> tuple[str, bool]:
    """A database kept for reuse across runs: its URL, and whether it was just made."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        made = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None
        if made:
            conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}", made


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--subjects", type=int, default=300_000)
    parser.add_argument("--pg", default=os.environ.get("LEAKMON_TEST_PG"))
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--skip-output", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_incident_views  # type: ignore[import-not-found]  # noqa: F401 - puts this worktree first
    from bench_massbreach import run  # type: ignore[import-not-found]

    sys.path.insert(0, str(args.code.resolve()))  # then the code measured goes before it

    print(f"code {args.code}, {args.subjects:,} subjects, load {os.getloadavg()[0]:.1f}", flush=True)
    args.workdir.mkdir(parents=True, exist_ok=True)
    urls: list[tuple[str, str, Path]] = []
    if "sqlite" in args.backends:
        database = args.workdir / f"posthook-{args.subjects}.db"
        urls.append(("sqlite", f"sqlite:///{database}", args.workdir / "ws-sqlite"))
    if "postgresql" in args.backends and args.pg:
        url, made = pg_named(args.pg, f"leakmon_posthook_{args.subjects}")
        if made:
            (args.workdir / f"pg-{args.subjects}.post").unlink(missing_ok=True)
        urls.append(("postgresql", url, args.workdir / "ws-pg"))
    for label, url, home in urls:
        marker = args.workdir / f"{'pg' if label == 'postgresql' else 'sqlite'}-{args.subjects}.post"
        if not marker.exists():
            run(home, url, "init")
        post_id = prepare(url, args.subjects, marker)
        print(f"[{label}] post {post_id}", flush=True)
        for _ in range(args.repeat):
            hook_once(url, post_id, args.subjects)
            if not args.skip_output:
                output_once(url, post_id)


if __name__ == "__main__":
    main()
