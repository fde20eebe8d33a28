"""Benchmark `protect import`: identifiers per second into SQLite and PostgreSQL, side by side.

Builds a synthetic protected-set CSV (phones and e-mails, nobody real), then runs the real import
path (read -> bulk normalize -> native keyed hash -> resolve subjects -> sort by prefix -> SQLite
executemany / PostgreSQL binary COPY and primary key) and prints rates by wall clock and by CPU
time (this process, its hashing workers and, for PostgreSQL, the server backend that ran the load and
the parallel workers of its index build), with the load average: on a busy machine the CPU rate is
the comparable figure.

``--input PATH`` keeps the set file between runs (written there when missing): a CSV this script
writes, or a ``gen_dump.py N --kind=ids`` file of plain phones (``*.txt``, one a line), which is
turned once into ``PATH.csv`` with a subject per phone.

PostgreSQL: ``--pg URL`` (default ``LEAKMON_TEST_PG``; ``--pg none`` skips it) names a server; the
benchmark creates a database of its own there and drops it at the end.
Targets from the issue (10M identifiers, ``--full``): SQLite >= 250k/s and PostgreSQL >= 300k/s
with full forms, >= 120k/s on both with mask forms.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import resource
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import make_url, text
from sqlalchemy.exc import SQLAlchemyError

from leakmon.protect import ImportReport, hash_rows, plan_columns
from leakmon.tables import open_table
from matchers.keyed_hash import KeyedHasher
from matchers.protect import ProtectedForms
from matchers.registry import IdentifierRegistry
from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.repositories.protected import ProtectedLoader, index_arrays


def write_set(path: Path, identifiers: int) -> None:
    rng = random.Random(5)
    subjects = identifiers // 2
    with path.open("w", encoding="utf-8") as out:
        out.write("subject_ref,phone,email\n")
        for i in range(subjects):
            out.write(f"s{i:09d},010{rng.randrange(10**8):08d},user{i}.{rng.randrange(999)}@naver.com\n")


def prepare_input(path: Path, identifiers: int) -> Path:
    """The set file to import: ``path`` itself (written first when missing), or for a plain-phone
    ``*.txt`` file from ``gen_dump.py --kind=ids`` a CSV beside it with one subject per phone."""
    if path.suffix != ".txt":
        if not path.exists():
            write_set(path, identifiers)
        return path
    converted = path.with_suffix(".csv")
    if not converted.exists():
        with path.open(encoding="utf-8") as phones, converted.open("w", encoding="utf-8") as out:
            out.write("subject_ref,phone\n")
            out.writelines(f"p{i:09d},{line}" for i, line in enumerate(phones))
    return converted


@contextlib.contextmanager
def _bench_database(server_url: str) -> Iterator[str | None]:
    """A database of its own on the PostgreSQL server (dropped at the end), or None when unreachable."""
    name = f"leakmon_bench_import_{os.getpid()}"
    admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except SQLAlchemyError as exc:  # a benchmark reports and goes on without PostgreSQL
        print(f"  postgresql: skipped ({type(exc).__name__})", flush=True)
        admin.dispose()
        yield None
        return
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _empty_postgres(url: str) -> None:
    """Drop what an earlier run left, so every run loads an empty set (a first import)."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def run(url: str, path: Path, *, partial: bool, jobs: int) -> dict[str, float]:
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    registry = IdentifierRegistry.default()
    hasher = KeyedHasher(os.urandom(32), "bench")
    report = ImportReport()

    forms = ProtectedForms(registry, partial=partial)

    started = time.perf_counter()
    cpu_started = _own_cpu()
    hashing = staging = finishing = 0.0
    with sessions.begin() as session:
        backend = _backend_pid(session)
        server_started = _pid_cpu(backend)
        loader = ProtectedLoader(session)
        table = open_table(path)
        plan = plan_columns(table.header, subject_column="subject_ref", mapping={}, known_types=registry.types)
        batches = hash_rows(table, plan, hasher, forms, report, jobs=jobs)
        while True:
            t0 = time.process_time()
            batch = next(batches, None)
            hashing += time.process_time() - t0
            if batch is None:
                break
            t0 = time.process_time()
            loader.stage(batch)
            staging += time.process_time() - t0
        server_staged = _pid_cpu(backend) - server_started
        t0 = time.process_time()
        with _ParallelWorkers(backend) as workers:
            result = loader.finish(replace=False)
        finishing = time.process_time() - t0 - workers.own_cpu
        server_cpu = _pid_cpu(backend) - server_started + workers.cpu
    elapsed = time.perf_counter() - started
    cpu = _own_cpu() - cpu_started - workers.own_cpu + server_cpu
    t0 = time.process_time()  # what the first scan after an import does: the index arrays from the set
    with sessions() as session:
        index_size = len(index_arrays(session, hasher.key_id)[0])
    index_seconds = time.process_time() - t0
    engine.dispose()
    return {
        "cpu_seconds": cpu,
        "server_cpu_seconds": server_cpu,
        "server_stage_seconds": server_staged,
        "parallel_cpu_seconds": workers.cpu,
        "ids_per_cpu_s": report.values / cpu,
        "identifiers": report.values,
        "digests": result.inserted,
        "seconds": elapsed,
        "hash_seconds": hashing,
        "stage_seconds": staging,
        "finish_seconds": finishing,
        "ids_per_s": report.values / elapsed,
        "index_seconds": index_seconds,
        "index_pairs": index_size,
    }


def _own_cpu() -> float:
    """CPU seconds of this process and its reaped children (the hashing workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _backend_pid(session: object) -> int | None:
    """The PostgreSQL server process serving ``session`` (None on SQLite: it runs in this process)."""
    if session.get_bind().dialect.name != "postgresql":  # type: ignore[attr-defined]
        return None
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())  # type: ignore[attr-defined]


def _pid_cpu(pid: int | None) -> float:
    """CPU seconds of a local process from /proc (0 when unknown or unreadable)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _ParallelWorkers:
    """The CPU of the server's parallel workers for ``leader`` (an index build's sort), which /proc of
    the backend does not count: their processes are sampled while they live (every 50 ms, so a
    worker's last 50 ms may be missed). ``own_cpu`` is the sampling thread's own CPU, to subtract."""

    def __init__(self, leader: int | None) -> None:
        self._title = f"parallel worker for PID {leader}".encode()
        self._leader = leader
        self._seen: dict[int, float] = {}
        self._other: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.own_cpu = 0.0

    @property
    def cpu(self) -> float:
        return sum(self._seen.values())

    def __enter__(self) -> _ParallelWorkers:
        if self._leader is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._leader is not None:
            self._stop.set()
            self._thread.join()

    def _run(self) -> None:
        while True:
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit() or (pid := int(entry.name)) in self._other:
                    continue
                if pid not in self._seen:
                    try:
                        title = Path(entry.path, "cmdline").read_bytes()
                    except OSError:
                        continue
                    if self._title not in title:
                        if title.startswith(b"postgres: ") or b"postgres" not in title:
                            self._other.add(pid)  # a fresh child still has the server's command line
                        continue
                cpu = _pid_cpu(pid)
                if cpu:
                    self._seen[pid] = max(cpu, self._seen.get(pid, 0.0))
            self.own_cpu = time.thread_time()
            if self._stop.wait(0.05):
                return


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--identifiers", type=int, default=1_000_000, help="identifiers in the set (10M for the target)"
    )
    parser.add_argument("--jobs", type=int, nargs="+", default=[1], help="hashing worker counts to compare")
    parser.add_argument(
        "--pg",
        default=os.environ.get("LEAKMON_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
        help="PostgreSQL server URL (a database of its own is created there); 'none' skips PostgreSQL",
    )
    parser.add_argument("--full", action="store_true", help="the issue-size run: 10M identifiers")
    parser.add_argument("--forms", choices=["full", "mask", "both"], default="both", help="which form sets to run")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None, help="one backend only")
    parser.add_argument(
        "--input",
        type=Path,
        default=None,
        help="keep the set file here (written when missing; a gen_dump.py --kind=ids *.txt file is converted once)",
    )
    args = parser.parse_args()
    if args.full:
        args.identifiers = 10_000_000
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        csv_path = prepare_input(args.input or Path(tmp) / "set.csv", args.identifiers)
        what = (
            f"{csv_path} ({args.input.name})"
            if args.input is not None and args.input.suffix == ".txt"
            else f"phones + e-mails, {args.identifiers // 2:,} subjects"
        )
        print(
            f"protect import, {args.identifiers:,} identifiers ({what}), {os.cpu_count()} cores, load {_load()}",
            flush=True,
        )
        targets: list[tuple[str, str]] = []
        if args.only != "postgresql":
            targets.append(("sqlite", f"sqlite:///{tmp}/bench.db"))
        if args.only != "sqlite" and args.pg.lower() != "none":
            pg_url = stack.enter_context(_bench_database(args.pg))
            if pg_url is not None:
                targets.append(("postgresql", pg_url))
        partials = {"full": (False,), "mask": (True,), "both": (False, True)}[args.forms]
        for partial in partials:
            for jobs in args.jobs:
                for name, url in targets:
                    if name == "sqlite":
                        for suffix in ("", "-wal", "-shm"):
                            Path(f"{tmp}/bench.db{suffix}").unlink(missing_ok=True)
                    else:
                        _empty_postgres(url)
                    r = run(url, csv_path, partial=partial, jobs=jobs)
                    label = "full + mask forms" if partial else "full forms only"
                    print(
                        f"  {name:10s} {label:17s} --jobs {jobs}  {r['ids_per_s']:>9,.0f} ids/s wall, "
                        f"{r['ids_per_cpu_s']:>9,.0f} ids/s CPU, load {_load()}  ({r['digests']:,} digests in "
                        f"{r['seconds']:.1f} s, CPU {r['cpu_seconds']:.1f} s of which server "
                        f"{r['server_cpu_seconds']:.1f} s ({r['server_stage_seconds']:.1f} s while staging, "
                        f"{r['parallel_cpu_seconds']:.1f} s in parallel workers); "
                        f"this process: hashing {r['hash_seconds']:.1f} s, "
                        f"staging {r['stage_seconds']:.1f} s, sorted insert {r['finish_seconds']:.1f} s; "
                        f"then index arrays {r['index_pairs']:,} pairs {r['index_seconds']:.1f} s CPU, not counted)",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
