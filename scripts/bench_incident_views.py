"""An incident of N subjects made by bulk SQL (no scan): its views and exports, SQLite and PostgreSQL.

    python scripts/bench_incident_views.py [--subjects 1000000] [--pg URL] [--backends sqlite,postgresql]
        [--workdir DIR] [--formats csv,xlsx,jsonl]

One post holds four hits of each subject (name composite; phone, e-mail, address exact), as a
dump of our own users would. Measured, never asserted (CPU is user + system; on a local
PostgreSQL the server backends' CPU is added, see ``benchutil.ServerCpu``; a command's peak RSS is
its own sampled ``VmHWM``, ``benchutil.PeakRss``, not ``wait4``'s ``ru_maxrss``, which carries this
process's memory at fork: it holds the in-process phases' work):
- the new-subjects fold the store runs after a post's hits (``note_first_seen``), in this process;
- the post-ingest refresh: aggregates, the 72-hour clock and the report-threshold check (``update_post``);
- the incident page's data (``incident_view`` with hits per day), in this process;
- the console's new-subjects counts (``new_subjects_per_day``, both groupings) against the old
  grouping of every hit;
- `leakmon incidents show`, `leakmon hits --incident` (the first page of 100, and 50,000 hits: ten
  pages of 5,000) and `leakmon export affected` in each format: fresh processes, seconds, CPU,
  peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.bench_massbreach import pg_database, run  # noqa: E402
from scripts.benchutil import ServerCpu  # noqa: E402

_SERIES = "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :n) "
_TYPES = (
    "SELECT 'name' AS id_type, 'composite' AS kind, 0 AS n UNION ALL SELECT 'phone', 'exact', 1 "
    "UNION ALL SELECT 'email', 'exact', 2 UNION ALL SELECT 'address', 'exact', 3"
)


def build(db_url: str, subjects: int) -> int:
    """The incident's post, subjects and hits (INSERT ... SELECT); returns the post id."""
    from sqlalchemy import text

    from storage.db import make_engine, make_sessionmaker
    from storage.models.core import Post

    engine = make_engine(db_url)
    now = datetime.now(UTC) - timedelta(hours=1)
    with make_sessionmaker(engine).begin() as session:
        post = Post(
            source="dump_site", external_id="users", venue="forum", url="https://127.0.0.1/t/1", first_seen=now,
            last_seen=now, versions=1, content_hash="", status="ok",
        )  # fmt: skip
        session.add(post)
        session.flush()
        post_id = post.id
        session.execute(
            text(_SERIES + "INSERT INTO subjects (subject_ref, created_at) SELECT 'cust-' || i, :t FROM g"),  # noqa: S608
            {"n": subjects, "t": now},
        )
        session.execute(
            text(
                _SERIES  # noqa: S608 - fixed text
                + "INSERT INTO hits (post_id, attachment_sha256, source, locator, id_type, form, digest, key_id,"
                " subject_id, subject_slot, compatible_subjects, match_kind, obfuscation, confidence, masked,"
                " explanation, first_seen, last_seen, identity_key) SELECT :post, NULL, 'dump_site',"
                " 'users.csv:row ' || (g.i + 1), t.id_type, 'full', :digest, 'k', s.id, s.id, 1, t.kind, 'none', 0.95,"
                " '***', '{}', :t, :t, -(g.i * 4 + t.n)"  # keys outside the store: negative, one per hit
                " FROM g JOIN subjects s ON s.subject_ref = 'cust-' || g.i CROSS JOIN (" + _TYPES + ") t"
            ),
            {"n": subjects, "post": post_id, "digest": b"\x07" * 32, "t": now},
        )
    engine.dispose()
    return post_id


def timed(db_url: str, work: Callable[[Any], Any], *, write: bool = False) -> tuple[str, Any]:
    """``work(session)`` in this process: wall, CPU (and the server's on a local PostgreSQL)."""
    from storage.db import make_engine, make_sessionmaker

    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    server = ServerCpu(db_url)
    started, cpu = time.perf_counter(), time.process_time()
    with sessions.begin() if write else sessions() as session:
        result = work(session)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    backend = server.stop()
    engine.dispose()
    where = f" + server {backend:.1f} s" if backend else ""
    return f"{seconds:.1f} s, CPU {cpu:.1f} s{where} (load {os.getloadavg()[0]:.1f})", result


def old_new_subjects(session: Any, since: datetime, by: str) -> int:
    """The grouping the chart ran before ``subject_first_seen``: every hit, by subject and key."""
    from sqlalchemy import func, select

    from storage.models.cases import EXCLUDING_LABELS
    from storage.models.core import HitRecord
    from storage.repositories.hits import effective_filter

    label, (joined, effective) = effective_filter(EXCLUDING_LABELS)
    key = HitRecord.source if by == "source" else HitRecord.id_type
    first = (
        select(HitRecord.subject_id, key.label("key"), func.min(HitRecord.first_seen).label("first"))
        .select_from(HitRecord)
        .outerjoin(label, joined)
        .where(HitRecord.subject_id.is_not(None), effective)
        .group_by(HitRecord.subject_id, key)
        .having(func.min(HitRecord.first_seen) >= since)
        .subquery()
    )
    return sum(n for _, n in session.execute(select(first.c.key, func.count()).group_by(first.c.key)))


def bench(label: str, db_url: str, root: Path, subjects: int, formats: list[str]) -> dict[str, str]:
    from storage.models.cases import EXCLUDING_LABELS
    from storage.models.core import Post
    from storage.repositories.charts import new_subjects_per_day
    from storage.repositories.first_seen import note_first_seen

    out: dict[str, str] = {"load at start": f"{os.getloadavg()[0]:.1f}"}
    home = root / f"ws-{label}"
    run(home, db_url, "init")
    started = time.perf_counter()
    post_id = build(db_url, subjects)
    out["build (SQL)"] = f"{time.perf_counter() - started:.0f} s wall"
    say(label, out)
    out["store: first-sighting fold"], _ = timed(db_url, lambda s: note_first_seen(s, post_id, 0), write=True)
    say(label, out)

    def refresh(session: Any) -> int:
        from leakmon.workflows.incidents import update_post

        incident = update_post(session, session.get_one(Post, post_id))
        assert incident is not None
        return incident.id

    out["update_post (aggregates, 72-h clock, report check)"], incident_id = timed(db_url, refresh, write=True)
    say(label, out)

    def page(session: Any) -> int:
        from leakmon.workflows.incident_view import incident_view
        from leakmon.workflows.incidents import get_incident

        view = incident_view(session, get_incident(session, incident_id), with_hits=True)
        return sum(n for _, n in view.days)

    out["incident page data (with hits per day)"], _ = timed(db_url, page)
    say(label, out)
    since = datetime.now(UTC) - timedelta(days=30)
    for by in ("source", "id_type"):
        figure, rows = timed(
            db_url, lambda s, by=by: new_subjects_per_day(s, since=since, by=by, excluded=EXCLUDING_LABELS)
        )
        out[f"chart new subjects by {by}"] = f"{figure}, {sum(n for _, _, n in rows):,} counted"
        say(label, out)
        figure, counted = timed(db_url, lambda s, by=by: old_new_subjects(s, since, by))
        out[f"chart new subjects by {by}, old grouping"] = f"{figure}, {counted:,} counted"
        say(label, out)
    seconds, rss, _, cpu = run(home, db_url, "incidents", "show", str(incident_id))
    out["incidents show"] = f"{seconds:.1f} s, CPU {cpu:.1f} s, {rss:.0f} MB"
    say(label, out)
    for limit in (100, 50_000):
        seconds, rss, _, cpu = run(
            home, db_url, "hits", "--incident", str(incident_id), "--limit", str(limit), "--format", "jsonl"
        )
        out[f"hits --incident --limit {limit:,}"] = f"{seconds:.1f} s, CPU {cpu:.1f} s, {rss:.0f} MB"
        say(label, out)
    for fmt in formats:
        target = root / f"aff-{label}.{fmt}"
        seconds, rss, _, cpu = run(
            home, db_url, "export", "affected", str(incident_id), "--format", fmt, "--output", str(target)
        )
        size = target.stat().st_size / 2**20
        out[f"export affected {fmt}"] = f"{seconds:.1f} s, CPU {cpu:.1f} s, {rss:.0f} MB, {size:.0f} MB file"
        say(label, out)
    return out


def say(label: str, out: dict[str, str]) -> None:
    key = list(out)[-1]
    load = "" if "load" in out[key] else f" (load {os.getloadavg()[0]:.1f})"
    print(f"[{label}] {key}: {out[key]}{load}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("LEAKMON_TEST_PG"))
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--formats", default="csv,xlsx,jsonl")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    backends = set(args.backends.split(","))
    formats = args.formats.split(",")
    print(f"incident of {args.subjects:,} subjects, load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    results: dict[str, dict[str, str]] = {}
    with contextlib.ExitStack() as stack:
        root = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="leakmon-bench-views-")))
        root.mkdir(parents=True, exist_ok=True)
        if "sqlite" in backends:
            database = root / "views.db"
            database.unlink(missing_ok=True)
            results["sqlite"] = bench("sqlite", f"sqlite:///{database}", root, args.subjects, formats)
        if args.pg and "postgresql" in backends:
            for url in pg_database(args.pg):
                results["postgresql"] = bench("postgresql", url, root, args.subjects, formats)
    keys = list(dict.fromkeys(k for r in results.values() for k in r))
    width = max(len(k) for k in keys)
    for key in keys:
        print(f"{key:{width}}  " + "  ".join(f"{r.get(key, '-'):<48}" for r in results.values()))


if __name__ == "__main__":
    main()
