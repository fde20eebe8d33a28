"""Crash safety end to end: SIGKILL `leakmon run --once` mid-crawl, run again, and the hits table
equals a clean run's — no duplicates, none missing (each post and its hits are one transaction)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from leakmon.cli import main

ROOT = Path(__file__).resolve().parents[3]
THREADS = 16
PER_PAGE_DELAY = 0.3


def _people() -> list[tuple[str, str, str]]:
    return [(f"cust-{i:04d}", f"010-{3000 + i}-{5000 + 7 * i:04d}", f"member{i:04d}@example.com") for i in range(60)]


def _pages() -> dict[str, bytes]:
    people = _people()
    pages = {"/robots.txt": b"User-agent: *\nAllow: /\n"}
    links = "".join(f'<a href="/t/{n}">thread {n}</a>' for n in range(THREADS))
    pages["/"] = f"<html><body>{links}</body></html>".encode()
    for n in range(THREADS):
        a, b = people[2 * n], people[2 * n + 1]
        body = f"DB 판매 샘플 {n}<br>{a[1]} {a[2]}<br>{b[1].replace('-', ' ')} / {b[2]}"
        pages[f"/t/{n}"] = f'<html><body><div class="post" data-post-id="p{n}">{body}</div></body></html>'.encode()
    return pages


@pytest.fixture
def slow_site() -> Iterator[str]:
    pages = _pages()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = pages.get(self.path)
            if self.path.startswith("/t/"):
                time.sleep(PER_PAGE_DELAY)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _workspace(
    root: Path, name: str, base: str, key_file: Path, monkeypatch: pytest.MonkeyPatch, database_url: str | None = None
) -> dict[str, str]:
    home = root / name
    config = root / f"{name}.toml"
    config.write_text(
        '[evidence]\nstore_post_text = "none"\n\n[sources.slow_forum]\nkind = "forum"\n'
        f'start_urls = ["{base}/"]\ndepth = 1\nschedule = "1h"\ndownload_delay = 0\nautothrottle = false\n'
        'concurrency = 1\nretries = 0\ntimeout = 10\n\n[sources.slow_forum.selectors]\npost = "div.post"\n',
        encoding="utf-8",
    )
    env = {"LEAKMON_HOME": str(home), "LEAKMON_CONFIG": str(config), "LEAKMON_KEY_FILE": str(key_file)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("LEAKMON_DATABASE_URL", raising=False)
    if database_url is not None:
        env["LEAKMON_DATABASE_URL"] = database_url
        monkeypatch.setenv("LEAKMON_DATABASE_URL", database_url)
    main(["init"])
    protected = root / "protected.csv"
    protected.write_text(
        "subject_ref,phone,email\n" + "".join(f"{r},{p},{e}\n" for r, p, e in _people()), encoding="utf-8"
    )
    main(["protect", "import", str(protected)])
    return {**os.environ, **env}


def _run_once(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "leakmon", "run", "--once", "--log-format", "json"]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _url(db: str | Path) -> str:
    if isinstance(db, Path):
        return f"sqlite:///{db}"
    return db.replace("postgresql://", "postgresql+psycopg://", 1)


def _scalar(db: str | Path, sql: str) -> int:
    """A read on its own connection (plain BEGIN: it never takes SQLite's write lock)."""
    engine = create_engine(_url(db), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql)).scalar() or 0)
    except DBAPIError:
        return 0
    finally:
        engine.dispose()


HIT_ROWS = (
    "SELECT p.external_id, h.id_type, h.form, h.digest, s.subject_ref, h.match_kind, h.locator "
    "FROM hits h JOIN posts p ON p.id = h.post_id LEFT JOIN subjects s ON s.id = h.subject_id"
)


def _hits(db: str | Path) -> list[tuple[object, ...]]:
    engine = create_engine(_url(db), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(HIT_ROWS)).all()
    finally:
        engine.dispose()
    return sorted((r[0], r[1], r[2], bytes(r[3]).hex(), *r[4:]) for r in rows)


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_stores_exactly_the_clean_hits(
    tmp_path: Path, slow_site: str, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    """The killed workspace runs on each database leg; the clean reference run on SQLite."""
    key_file = tmp_path / "keys.json"  # one key: both workspaces compute the same digests
    clean_env = _workspace(tmp_path, "clean", slow_site, key_file, monkeypatch)
    crash_env = _workspace(tmp_path, "crash", slow_site, key_file, monkeypatch, database_url=db_url)
    clean_db: str | Path = tmp_path / "clean" / "leakmon.db"
    crash_db: str | Path = db_url

    clean = _run_once(clean_env)
    victim = _run_once(crash_env)
    deadline = time.monotonic() + 120
    while _scalar(crash_db, "SELECT count(*) FROM posts") < 3:
        assert victim.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no post was committed in time"
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    time.sleep(2 * 0.5 + 1)  # the orphaned crawl child notices its parent is gone and exits
    at_kill = _scalar(crash_db, "SELECT count(*) FROM posts")
    time.sleep(1.5)
    assert _scalar(crash_db, "SELECT count(*) FROM posts") == at_kill, "a crawl child outlived its scheduler"
    assert 3 <= at_kill < THREADS
    assert _scalar(crash_db, "SELECT count(*) FROM runs WHERE finished_at IS NULL") == 1

    assert clean.wait(timeout=180) == 0
    for key in (
        "LEAKMON_HOME",
        "LEAKMON_CONFIG",
        "LEAKMON_DATABASE_URL",
    ):  # the rerun: in this process (saves one interpreter start)
        monkeypatch.setenv(key, crash_env[key])
    try:
        assert main(["run", "--once"]) in (0, None)
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.get_name() == "leakmon"]:
            root.removeHandler(handler)

    clean_hits, crash_hits = _hits(clean_db), _hits(crash_db)
    assert len(clean_hits) == 4 * THREADS  # two subjects, phone and e-mail, per thread
    assert crash_hits == clean_hits
    assert len(set(crash_hits)) == len(crash_hits)
    assert _scalar(crash_db, "SELECT count(*) FROM posts") == THREADS
    assert _scalar(crash_db, "SELECT count(*) FROM runs WHERE error LIKE 'interrupted%'") == 1
    assert _scalar(crash_db, "SELECT count(*) FROM runs WHERE finished_at IS NULL") == 0


@pytest.mark.slow
def test_schedule_stops_cleanly_on_sigterm_and_refuses_a_second_scheduler(
    tmp_path: Path, slow_site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _workspace(tmp_path, "daemon", slow_site, tmp_path / "keys.json", monkeypatch)
    db = tmp_path / "daemon" / "leakmon.db"
    command = [sys.executable, "-m", "leakmon", "schedule", "--log-format", "json"]
    daemon = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while _scalar(db, "SELECT count(*) FROM posts") < 2:
            assert daemon.poll() is None, daemon.stderr.read().decode() if daemon.stderr else ""
            assert time.monotonic() < deadline, "the scheduled crawl did not start in time"
            time.sleep(0.05)
        second = subprocess.run(
            [sys.executable, "-m", "leakmon", "run", "--once"], env=env, cwd=ROOT, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert second.returncode == 5
    assert "another leakmon scheduler already uses the job store" in second.stderr
    logs = daemon.stderr.read().decode() if daemon.stderr else ""
    assert "stopping: no new runs" in logs
    # The run in flight was finished and recorded, not left "running"; nothing writes after exit.
    assert _scalar(db, "SELECT count(*) FROM runs WHERE finished_at IS NULL") == 0
    posts = _scalar(db, "SELECT count(*) FROM posts")
    time.sleep(1.5)
    assert _scalar(db, "SELECT count(*) FROM posts") == posts
    hits = _scalar(db, "SELECT count(*) FROM hits")
    assert hits == 4 * posts  # every stored post has all its hits: a post and its hits are one commit
