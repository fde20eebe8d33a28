"""Mass-breach benchmark (issue 12): a dump of our own users, SQLite and PostgreSQL side by side.

    python scripts/bench_massbreach.py [--rows 1000000] [--json-records 70000] [--pg URL] [--only store|export]
        [--prefill H] [--backends sqlite,postgresql] [--workdir DIR] [--scan-jobs N] [--export-formats csv,xlsx,jsonl]

Each figure is a fresh `leakmon` process as a user runs it; peak RSS and CPU (user + system) are
the child's own (CPU from ``os.wait4``; peak RSS is its main process's ``VmHWM``, pool workers not
included), plus on a local PostgreSQL its backends' CPU; every phase is printed as it ends. Measured, never asserted:
- scan+store of a CSV dump of N protected users (name, phone, e-mail, address): seconds, RSS, hits;
- hits stored per second: ``store_hits`` alone on N*4 generated rows (in this process);
- `export affected` of the dump's incident (N subjects): seconds, RSS (each of ``--export-formats``);
- scan of a one-line JSON array of 70k member records (40 protected): seconds, RSS, composites.
``--only store`` runs the ``store_hits`` figure alone (subjects inserted in SQL, no import or scan);
``--prefill H`` stores H hits of another post first, so the figure is storing into a table that
already holds hits (each figure also gives its quarters' rates: does storing slow as the table grows?).
``--only export`` measures `export affected` of N subjects without a scan: `protect import` of the
N users, then four hits a subject (name composite; phone, e-mail, address exact) stored by
``store_hits`` in this process from generated rows and placed in an incident (``update_post``),
then one fresh `export affected` process per format of ``--export-formats``.
The PostgreSQL column runs when ``--pg`` (or LEAKMON_TEST_PG) names a server: a database is made
for the run and dropped after. ``--backends`` picks the columns (run one process per backend to
measure them side by side); ``--workdir`` keeps the inputs and the SQLite workspace (inputs made
once and reused); ``--scan-jobs N`` runs the scan with ``--jobs N`` (the default is the
``scan.jobs`` setting: one process).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from storage.models.core import Post

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.benchutil import PeakRss, ServerCpu  # noqa: E402

_SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
_GIVEN = "민서지현우준영수진하은도윤호성"


def person(i: int) -> tuple[str, str, str, str, str]:
    name = _SURNAMES[i % 20] + _GIVEN[(i // 20) % 15] + _GIVEN[(i // 300) % 15]
    return (
        f"cust-{i:07d}",
        name,
        f"010-{2000 + i // 10000:04d}-{i % 10000:04d}",
        f"user{i}@example.com",
        f"서울특별시 강남구 테헤란로{i % 500 + 1}길 {i // 500 + 1}",
    )


def run(home: Path, db_url: str, *args: str) -> tuple[float, float, str, float]:
    """One `leakmon` command: wall seconds, peak RSS in MB, stderr tail, CPU seconds (user + system).

    CPU is the child's own; on a local PostgreSQL the server backends' CPU during the command is
    added (sampled, see :class:`ServerCpu`). Bytecode is written and reused as a user's install does.
    """
    env = {**os.environ, "LEAKMON_HOME": str(home), "LEAKMON_DATABASE_URL": db_url}
    for name in ("LEAKMON_CONFIG", "LEAKMON_KEY_FILE", "LEAKMON_HMAC_KEY", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    server = ServerCpu(db_url)
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "leakmon", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = PeakRss(child.pid)
    assert child.stderr is not None
    err = child.stderr.read().decode(errors="replace")
    peak_mb = peak.stop()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime + server.stop()
    if child.returncode != 0:
        raise SystemExit(f"leakmon {' '.join(args)} failed ({child.returncode}): {err[-800:]}")
    return seconds, peak_mb, err.strip().splitlines()[-1] if err.strip() else "", cpu


def pg_database(admin_url: str) -> Iterator[str]:
    import psycopg

    name = f"leakmon_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


EXPORT_FORMATS: tuple[str, ...] = ("csv",)


def bench_backend(
    label: str, db_url: str, root: Path, rows: int, json_records: int, scan_jobs: int | None = None
) -> dict[str, str]:
    out: dict[str, str] = {"load average at start": f"{os.getloadavg()[0]:.1f}"}
    home = root / f"ws-{label}"
    run(home, db_url, "init")
    protected = root / "protected.csv"
    seconds, rss, _, cpu = run(home, db_url, "protect", "import", str(protected), "--jobs", "2")
    out["protect import"] = f"{seconds:.1f} s, CPU {cpu:.1f} s, {rss:.0f} MB"
    _said(label, out)
    jobs = ("--jobs", str(scan_jobs)) if scan_jobs else ()
    seconds, rss, summary, cpu = run(
        home,
        db_url,
        "scan",
        str(root / "dump.csv"),
        "--format",
        "jsonl",
        "--output",
        str(root / f"hits-{label}.jsonl"),
        *jobs,
    )
    hits = summary.split(": ", 1)[-1].split(" hit", 1)[0] if summary else "?"
    scanned = f"scan+store {rows:,} rows" + (f" --jobs {scan_jobs}" if scan_jobs else "")
    out[scanned] = f"{seconds:.1f} s, CPU {cpu:.1f} s, {rss:.0f} MB, {hits} hits"
    _said(label, out)
    for fmt in EXPORT_FORMATS:  # --export-formats
        seconds, rss, said, cpu = run(
            home, db_url, "export", "affected", "--all", "--format", fmt, "--output", str(root / f"aff-{label}.{fmt}")
        )
        exported = int(said.split(" ", 1)[0])  # "N affected subject row(s) from M incident(s)"
        name = f"export affected ({exported:,} subjects)" + ("" if fmt == "csv" else f" {fmt}")
        out[name] = f"{seconds:.1f} s, CPU {cpu:.1f} s, {rss:.0f} MB"
        _said(label, out)
    json_file = root / "members.json"
    seconds, rss, _, cpu = run(
        home, db_url, "scan", str(json_file), "--format", "jsonl", "--output", str(root / f"json-{label}.jsonl")
    )
    found = [json.loads(line) for line in (root / f"json-{label}.jsonl").open(encoding="utf-8")]
    composites = sum(1 for h in found if h["match_kind"] == "composite")
    size = json_file.stat().st_size / 2**20
    out[f"one-line JSON {size:.0f} MB, {json_records:,} records"] = (
        f"{seconds:.1f} s, CPU {cpu:.1f} s, {rss:.0f} MB, {len(found)} hits, {composites} composites"
    )
    _said(label, out)
    out["store_hits alone"] = store_rate(db_url, rows * HITS_PER_ROW)
    if db_url.startswith("postgresql"):
        out["hits on disk"] = pg_sizes(db_url)
    return out


def bench_export_only(label: str, db_url: str, root: Path, rows: int) -> dict[str, str]:
    """`export affected` of ``rows`` imported subjects with four stored hits each, no scan (``--only export``)."""
    out: dict[str, str] = {"load average at start": f"{os.getloadavg()[0]:.1f}"}
    home = root / f"ws-export-{label}"
    run(home, db_url, "init")
    seconds, rss, _, cpu = run(home, db_url, "protect", "import", str(root / "protected.csv"), "--jobs", "2")
    out["protect import"] = f"{seconds:.1f} s, CPU {cpu:.1f} s, {rss:.0f} MB"
    _said(label, out)
    out["seed: store_hits + update_post"] = seed_incident(db_url, rows)
    _said(label, out)
    for fmt in EXPORT_FORMATS:  # --export-formats
        target = root / f"aff-{label}.{fmt}"
        seconds, rss, said, cpu = run(
            home, db_url, "export", "affected", "--all", "--format", fmt, "--output", str(target)
        )
        exported = int(said.split(" ", 1)[0])  # "N affected subject row(s) from M incident(s)"
        size = target.stat().st_size / 2**20
        out[f"export affected {fmt} ({exported:,} subjects)"] = (
            f"{seconds:.1f} s, CPU {cpu:.1f} s, {rss:.0f} MB, {size:.0f} MB file"
        )
        _said(label, out)
    return out


#: A dump row's four hits: (id_type, match_kind, masked).
_SEEDED = (("name", "composite", "김**"), ("phone", "exact", "010-****-0000"),
           ("email", "exact", "u***@example.com"), ("address", "exact", "서울특별시 강남구 ***"))  # fmt: skip


def seed_incident(db_url: str, rows: int) -> str:
    """Four hits for each of the first ``rows`` subjects in one post (``store_hits`` on generated rows,
    as a scan's spool hands them over), then the post hook's incident placement (``update_post``).

    Timed in this process: wall, CPU (and the server backend's on a local PostgreSQL)."""
    import numpy as np
    from sqlalchemy import text

    from crawlers.hitspool import BATCH_ROWS
    from leakmon.workflows.incidents import update_post
    from storage.db import make_engine, make_sessionmaker
    from storage.repositories.hits import HitRow, store_hits

    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    with engine.connect() as connection:
        ids = np.array(connection.execute(text("SELECT id FROM subjects ORDER BY id")).scalars().all())[:rows]
    explanation = '{"extractor": "phone.fast", "validation": null, "context": [], "reasons": ["exact digest"]}'
    per = len(_SEEDED)

    def row(i: int) -> HitRow:
        id_type, kind, masked = _SEEDED[i % per]
        subject = int(ids[i // per])
        digest = hashlib.sha256(i.to_bytes(8, "big")).digest()  # random, as a dump's digests are
        locator = f"users.csv:row {i // per + 2}"
        return HitRow(None, "dump_site", locator, id_type, "full", digest, "k", subject, subject, 1, kind, "none",
                      0.9, masked, explanation)  # fmt: skip

    def batches() -> Iterator[list[HitRow]]:
        for start in range(0, len(ids) * per, BATCH_ROWS):
            yield [row(i) for i in range(start, min(start + BATCH_ROWS, len(ids) * per))]

    with sessions() as session:
        session.begin()
        post = new_post(session, now, source="dump_site", venue="forum", url="https://127.0.0.1/t/1")
        backend = _backend_cpu(session)
        server = backend()
        started, cpu = time.perf_counter(), time.process_time()
        stored = store_hits(session, post.id, batches(), now)
        incident = update_post(session, post, now=now)
        session.commit()
        seconds, cpu, server = time.perf_counter() - started, time.process_time() - cpu, backend() - server
    engine.dispose()
    assert incident is not None
    where = f" + server {server:.1f} s" if server else ""
    return f"{stored.new:,} hits in {seconds:.1f} s, CPU {cpu:.1f} s{where}"


def _said(label: str, out: dict[str, str]) -> None:
    """Print the phase just measured at once (a long run shows its figures as it goes)."""
    key = list(out)[-1]
    print(f"[{label}] {key}: {out[key]} (load {os.getloadavg()[0]:.1f})", flush=True)


def bench_store_only(db_url: str, rows: int, prefill: int = 0) -> dict[str, str]:
    """``store_hits`` alone on a fresh schema with ``rows`` subjects inserted in one statement; with
    ``prefill``, into a table already holding that many hits of another post (committed first)."""
    from sqlalchemy import text

    from storage.db import make_engine
    from storage.migrate import upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :rows) "
                "INSERT INTO subjects (subject_ref, created_at) SELECT 'cust-' || i, :now FROM n"
            ),
            {"rows": rows, "now": datetime.now(UTC)},
        )
    engine.dispose()
    out = {"load average at start": f"{os.getloadavg()[0]:.1f}"}
    if prefill:
        out[f"prefill: store_hits of {prefill:,} hits, another post"] = store_rate(db_url, prefill, offset=1 << 40)
        out[f"store_hits alone, into {prefill:,} hits"] = store_rate(db_url, rows * HITS_PER_ROW)
    else:
        out["store_hits alone"] = store_rate(db_url, rows * HITS_PER_ROW)
    return out


#: Hits a dump row gives in the store-alone figure: name, phone, e-mail and address (as a scan finds).
HITS_PER_ROW = 4


def new_post(session: Session, now: datetime, *, source: str, venue: str, url: str | None = None) -> Post:
    """A fresh post (flushed, so it has its id) for hits stored without a scan."""
    from storage.models.core import Post

    post = Post(source=source, external_id=uuid.uuid4().hex, venue=venue, url=url, first_seen=now, last_seen=now,
                versions=1, content_hash="", status="ok")  # fmt: skip
    session.add(post)
    session.flush()
    return post


def store_rate(db_url: str, count: int, *, offset: int = 0) -> str:
    """Hits per second through ``store_hits`` alone (one post, batches of the spool's size).

    Rows name the imported subjects (four hits each, as a dump's name, phone, e-mail and address
    are found: a scan of N rows stores 4N hits), so both foreign keys are checked as in a real
    scan. Their digests are random, as a scan's are: they land at random places in the identity
    index (sequential digests made SQLite look 2-3x faster). CPU is this process's and, on a local
    PostgreSQL, the server backend's. Making the rows is timed apart and left out (a scan's rows
    come from the spool, whose cost is the analyzer's).
    """
    from sqlalchemy import text

    from crawlers.hitspool import BATCH_ROWS
    from storage.db import make_engine, make_sessionmaker
    from storage.repositories.hits import HitRow, store_hits

    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    with engine.connect() as connection:
        first, subjects = connection.execute(text("SELECT min(id), count(*) FROM subjects")).one()
    kinds = [
        (
            id_type,
            masked,
            f'{{"extractor": "{id_type}.fast", "validation": null, "context": [], "reasons": ["exact digest"]}}',
        )
        for id_type, masked in (
            ("name", "김*수"),
            ("phone", "010-****-0000"),
            ("email", "k***@naver.com"),
            ("address", "서울 ***"),
        )
    ]

    making = [0.0, 0.0]  # wall and CPU seconds spent making rows, not storing them
    marks: list[tuple[int, float]] = []  # (rows handed over, storing seconds so far) at each batch

    def batches() -> Iterator[list[HitRow]]:
        for start in range(0, count, BATCH_ROWS):
            wall, cpu = time.perf_counter(), time.process_time()
            marks.append((start, wall - started - making[0]))
            batch = [
                HitRow(
                    None,
                    "bench",
                    f"dump.csv:row {i // HITS_PER_ROW + 2}",
                    kinds[i % HITS_PER_ROW][0],
                    "full",
                    hashlib.sha256((i + offset).to_bytes(8, "big")).digest(),  # random, as a dump's digests are
                    "k",
                    first + (i // HITS_PER_ROW) % subjects,
                    first + (i // HITS_PER_ROW) % subjects,
                    1,
                    "exact",
                    "none",
                    0.9,
                    kinds[i % HITS_PER_ROW][1],
                    kinds[i % HITS_PER_ROW][2],
                )
                for i in range(start, min(start + BATCH_ROWS, count))
            ]
            making[0] += time.perf_counter() - wall
            making[1] += time.process_time() - cpu
            yield batch

    with sessions() as session:
        session.begin()
        post = new_post(session, now, source="bench", venue="file")
        backend = _backend_cpu(session)
        server = backend()
        started, cpu = time.perf_counter(), time.process_time()
        stored = store_hits(session, post.id, batches(), now)
        session.commit()  # the commit is part of storing
        seconds, cpu, server = time.perf_counter() - started, time.process_time() - cpu, backend() - server
        seconds, cpu = seconds - making[0], cpu - making[1]
    engine.dispose()
    where = f", server {server:.1f} s" if server else ""
    return (
        f"{stored.new / seconds:,.0f} hits/s ({stored.new:,} in {seconds:.1f} s; CPU {cpu:.1f} s{where}; "
        f"load {os.getloadavg()[0]:.1f}); by quarter {_quarters(marks, count)} hits/s"
    )


def _quarters(marks: list[tuple[int, float]], count: int) -> str:
    """Wall hits/s of each quarter of the batches (the last batch's storing is in the commit, left out)."""
    if len(marks) < 8:
        return "-"
    cut = [marks[len(marks) * q // 4] for q in range(4)] + [marks[-1]]
    return " / ".join(f"{(b[0] - a[0]) / max(b[1] - a[1], 1e-9):,.0f}" for a, b in itertools.pairwise(cut))


def _backend_cpu(session: Session) -> Callable[[], float]:
    """CPU seconds of this session's PostgreSQL backend, when the server runs on this machine."""
    from sqlalchemy import text

    if session.get_bind().dialect.name != "postgresql":
        return lambda: 0.0
    stat = Path(f"/proc/{session.scalar(text('SELECT pg_backend_pid()'))}/stat")

    def read() -> float:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    return read


def pg_sizes(db_url: str) -> str:
    """Bytes per stored hit on PostgreSQL: heap (with TOAST), each index, in all."""
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE hits"))
        hits = connection.execute(text("SELECT count(*) FROM hits")).scalar_one()
        total, heap = connection.execute(text("SELECT pg_total_relation_size('hits'), pg_table_size('hits')")).one()
        indexes = connection.execute(
            text(
                "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
                "WHERE indrelid = 'hits'::regclass ORDER BY 1"
            )
        ).all()
    engine.dispose()
    parts = ", ".join(f"{name} {size / hits:.0f}" for name, size in indexes)
    return f"{total / hits:.0f} B/hit in all ({hits:,} hits): heap {heap / hits:.0f}, {parts}"


def build_protected(root: Path, rows: int) -> None:
    """The protected users' CSV, renamed into place once whole (a second bench process on the same
    ``--workdir`` never imports half of it)."""
    partial = root / f"protected.csv.{os.getpid()}"
    with partial.open("w", encoding="utf-8") as out:
        out.write("subject_ref,name,phone,email,address\n")
        out.writelines(",".join(person(i)) + "\n" for i in range(rows))
    partial.replace(root / "protected.csv")


def build_inputs(root: Path, rows: int, json_records: int) -> None:
    build_protected(root, rows)
    with (root / "dump.csv").open("w", encoding="utf-8") as out:
        out.write("이름,전화번호,이메일,주소\n")
        out.writelines(",".join(person(i)[1:]) + "\n" for i in range(rows))
    members = []
    for i in range(json_records):
        if i % (json_records // 40) == 0 and len([m for m in members if m.get("protected")]) < 40:
            p = person(i % rows)
            members.append({"id": i, "name": p[1], "email": p[3], "phone": p[2], "protected": True})
        else:
            members.append(
                {
                    "id": i,
                    "name": f"member{i}",
                    "email": f"m{i}@example.org",
                    "phone": f"02-555-{i % 10000:04d}",
                    "bio": "x" * 200,
                }
            )
    (root / "members.json").write_text(json.dumps(members, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json-records", type=int, default=70_000)
    parser.add_argument("--pg", default=os.environ.get("LEAKMON_TEST_PG"))
    parser.add_argument(
        "--only",
        choices=["store", "export"],
        help="run one phase alone: store = store_hits on generated rows; export = export affected of seeded hits",
    )
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql (one process each)"
    )
    parser.add_argument(
        "--scan-jobs", type=int, help="scan --jobs N (default: the scan.jobs setting, 1 unless configured)"
    )
    parser.add_argument(
        "--prefill",
        type=int,
        default=0,
        help="--only store: first store this many hits of another post (the table already holds hits)",
    )
    parser.add_argument("--workdir", type=Path, help="keep inputs and workspaces here (made if missing; not deleted)")
    parser.add_argument("--export-formats", default="csv", help="comma-separated: csv, xlsx, jsonl (export phase)")
    args = parser.parse_args()
    global EXPORT_FORMATS
    EXPORT_FORMATS = tuple(args.export_formats.split(","))
    backends = set(args.backends.split(","))
    load = os.getloadavg()[0]
    print(f"mass breach: {args.rows:,} users, load average {load:.1f} on {os.cpu_count()} cores", flush=True)
    with contextlib.ExitStack() as stack:
        if args.workdir is not None:
            args.workdir.mkdir(parents=True, exist_ok=True)
            root = args.workdir
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="leakmon-bench-mass-")))

        def bench(label: str, db_url: str) -> dict[str, str]:
            if args.only == "store":
                return bench_store_only(db_url, args.rows, args.prefill)
            if args.only == "export":
                return bench_export_only(label, db_url, root, args.rows)
            return bench_backend(label, db_url, root, args.rows, args.json_records, args.scan_jobs)

        if args.only is None and not (root / "dump.csv").exists():
            build_inputs(root, args.rows, args.json_records)
        if args.only == "export" and not (root / "protected.csv").exists():
            build_protected(root, args.rows)
        results = {}
        if "sqlite" in backends:
            results["sqlite"] = bench("sqlite", f"sqlite:///{root / 'bench.db'}")
        if args.pg and "postgresql" in backends:
            for url in pg_database(args.pg):
                results["postgresql"] = bench("postgresql", url)
    names = list(results)
    keys = list(dict.fromkeys(k for n in names for k in results[n]))
    width = max(len(k) for k in keys)
    print(f"{'':{width}}  " + "  ".join(f"{n:<40}" for n in names))
    for key in keys:
        print(f"{key:{width}}  " + "  ".join(f"{results[n].get(key, '-'):<40}" for n in names))


if __name__ == "__main__":
    main()
