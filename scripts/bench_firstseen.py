"""First-sighting fold of a repeat breach (issue 12): the same N people from a second source.

    python scripts/bench_firstseen.py [--rows 100000] [--backends sqlite,postgresql] [--pg URL]
        [--repeat 2] [--code DIR ...]

Seeds a fresh database per backend once: N subjects, a post from ``first`` with two hits a subject
(phone, e-mail; the fold runs, one row a subject), then a post from ``second`` with the same hits
stored with the fold off. Then each ``--code`` tree (default: this one; another worktree's root to
compare an older fold) folds the second post in a fresh process, alternated ``--repeat`` times: every
subject is known and gains one source, so all N go through the merge. The fold is rolled back after
each run, so every run folds the same rows. Measured, never asserted, per run: the fold's CPU seconds
(user + system, this process) and its wall time, the process's peak RSS before and after the fold
(``VmHWM``; the difference is the fold's), and a local PostgreSQL backend's CPU seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _backend_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fold(db_url: str, post_id: int, after: int) -> dict[str, Any]:
    """Fold the post's hits above ``after`` once (rolled back); the figures as a dict."""
    from sqlalchemy import text

    from storage.db import make_engine, make_sessionmaker
    from storage.repositories.first_seen import note_first_seen

    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        session.begin()
        pid = session.scalar(text("SELECT pg_backend_pid()")) if engine.dialect.name == "postgresql" else None
        session.execute(text("SELECT count(*) FROM subject_first_seen")).scalar_one()  # warm the connection
        server = _backend_cpu(pid) if pid else 0.0
        rss = _hwm_mb()
        wall, cpu = time.perf_counter(), time.process_time()
        note_first_seen(session, post_id, after)
        session.flush()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        server = (_backend_cpu(pid) - server) if pid else 0.0
        rows = session.execute(text("SELECT count(*) FROM subject_first_seen")).scalar_one()
        session.rollback()
    engine.dispose()
    return {"wall": wall, "cpu": cpu, "server": server, "hwm_before": rss, "hwm_after": _hwm_mb(), "rows": rows}


def seed(db_url: str, rows: int) -> tuple[int, int]:
    """N subjects, the first source's post folded, the second's stored unfolded: (post id, floor)."""
    from sqlalchemy import text

    import storage.repositories.hits as hits_module
    from storage.db import make_engine, make_sessionmaker
    from storage.migrate import upgrade
    from storage.models.core import Post
    from storage.repositories.hits import HitRow, store_hits

    engine = make_engine(db_url)
    upgrade(engine)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :rows) "
                "INSERT INTO subjects (subject_ref, created_at) SELECT 'cust-' || i, :now FROM n"
            ),
            {"rows": rows, "now": now},
        )
        first = connection.execute(text("SELECT min(id) FROM subjects")).scalar_one()

    def batches(source: str) -> Iterator[list[HitRow]]:
        for start in range(0, rows, 10_000):
            yield [
                HitRow(
                    None,
                    source,
                    f"dump.csv:row {i + 2}",
                    id_type,
                    "full",
                    hashlib.sha256(f"{source}{i}{id_type}".encode()).digest(),
                    "k",
                    first + i,
                    first + i,
                    1,
                    "exact",
                    "none",
                    0.9,
                    "***",
                    "{}",
                )
                for i in range(start, min(start + 10_000, rows))
                for id_type in ("phone", "email")
            ]

    sessions = make_sessionmaker(engine)
    posts = []
    for n, source in enumerate(("first", "second")):
        with sessions.begin() as session:
            post = Post(source=source, external_id=str(n), venue="forum", first_seen=now, last_seen=now,
                        versions=1, content_hash="", status="ok")  # fmt: skip
            session.add(post)
            session.flush()
            floor = session.scalar(text("SELECT coalesce(max(id), 0) FROM hits")) or 0
            real = hits_module.note_first_seen
            if source == "second":
                hits_module.note_first_seen = lambda *_: None  # type: ignore[assignment]
            try:
                store_hits(session, post.id, batches(source), now)
            finally:
                hits_module.note_first_seen = real
            posts.append((post.id, floor))
    engine.dispose()
    return posts[1]


@contextlib.contextmanager
def database(backend: str, pg: str | None, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'fold.db'}"
        return
    if not pg:
        raise SystemExit("--pg (or LEAKMON_TEST_PG) is needed for postgresql")
    import psycopg

    name = f"leakmon_fold_{os.getpid()}"
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backends", help="default: sqlite, and postgresql when --pg names a server")
    parser.add_argument("--pg", default=os.environ.get("LEAKMON_TEST_PG"))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--code", action="append", help="a source tree whose fold is measured (repeatable)")
    parser.add_argument("--fold", nargs=3, metavar=("URL", "POST", "AFTER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fold:
        print(json.dumps(fold(args.fold[0], int(args.fold[1]), int(args.fold[2]))))
        return
    sys.path.insert(0, str(ROOT))
    trees = [str(Path(c).resolve()) for c in (args.code or [str(ROOT)])]
    backends = args.backends or ("sqlite,postgresql" if args.pg else "sqlite")
    for backend in backends.split(","):
        with tempfile.TemporaryDirectory() as tmp, database(backend, args.pg, Path(tmp)) as url:
            started = time.perf_counter()
            post, after = seed(url, args.rows)
            print(f"[{backend}] seeded {args.rows:,} subjects in {time.perf_counter() - started:.0f} s", flush=True)
            for _ in range(args.repeat):
                for tree in trees:
                    env = {**os.environ, "PYTHONPATH": tree}
                    out = subprocess.run(
                        [sys.executable, __file__, "--fold", url, str(post), str(after)],
                        env=env, capture_output=True, text=True, check=True, cwd=tree,
                    )  # fmt: skip
                    r = json.loads(out.stdout)
                    print(
                        f"[{backend}] {tree}: fold CPU {r['cpu']:.2f} s (wall {r['wall']:.2f}, server "
                        f"{r['server']:.2f}), peak RSS {r['hwm_before']:.0f} -> {r['hwm_after']:.0f} MB, "
                        f"{r['rows']:,} rows; load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
