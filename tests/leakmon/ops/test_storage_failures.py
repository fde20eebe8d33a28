"""A full disk or a read-only workspace: one sentence and a non-zero exit, never a silent success.

How the failures are produced, without root and without faking SQLite:

- Full disk: the real command runs in a child process whose ``RLIMIT_FSIZE`` is below what it must
  write. The kernel then refuses the write (EFBIG) exactly where a full disk refuses it (ENOSPC);
  SQLite reports either as a failed write, and the crawl child inherits the limit like it would
  inherit a full disk. Exports go to ``/dev/full``, where the kernel answers ENOSPC itself.
- Read-only workspace: a read-only bind mount of the workspace inside a user and mount namespace
  (``unshare -rm``), which any user may create where unprivileged namespaces are enabled.
"""

from __future__ import annotations

import functools
import http.server
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from leakmon.scheduler.service import SchedulerService
from tests.leakmon.cli import run_cli

CaptureFixture = pytest.CaptureFixture[str]
PAGES = 120  # enough posts that the crawl itself fills 128 KiB of WAL, whatever a hit row costs


@pytest.fixture
def forum(tmp_path: Path) -> Iterator[str]:
    """A loopback site: an index linking ``PAGES`` posts, each with a protected phone number."""
    root = tmp_path / "www"
    root.mkdir()
    links = "".join(f'<a href="p{i}.html">post {i}</a>' for i in range(PAGES))
    (root / "index.html").write_text(f"<html><body>{links}</body></html>", encoding="utf-8")
    for i in range(PAGES):
        body = f"<html><body><h1>DB 판매 {i}</h1><p>김민수 010-2345-6789 연락처 {i}</p></body></html>"
        (root / f"p{i}.html").write_text(body, encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def workspace(bare: Path, forum: str, capsys: CaptureFixture) -> Path:
    """An initialised SQLite workspace with a protected set and one web source, as a file copy."""
    (bare / "leakmon.toml").write_text(
        "[sources.forum]\n"
        'kind = "site"\n'
        f'start_urls = ["{forum}"]\n'
        "depth = 2\n"
        'schedule = "1h"\n'
        "download_delay = 0\n"
        "autothrottle = false\n"
        "obey_robots = false\n"
        'robots_override_reason = "loopback test site"\n',
        encoding="utf-8",
    )
    for argv in (("init",), ("protect", "import", "people.csv")):
        result = run_cli(capsys, *argv)
        assert result.code == 0, result.err
    return bare / ".leakmon"


def _leakmon(*argv: str, file_size_limit: int | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        [sys.executable, "-m", "leakmon", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
        check=False,
    )


def _assert_one_sentence_failure(result: subprocess.CompletedProcess[str], sentence_start: str) -> None:
    assert result.returncode != 0, result.stderr
    for noise in ("Traceback", "nothing due", "Task exception was never retrieved", "ingest_error"):
        assert noise not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(sentence_start), result.stderr


@pytest.mark.slow
def test_run_once_stops_with_one_sentence_when_the_disk_fills_mid_crawl(workspace: Path) -> None:
    # 128 KiB of WAL lets the scheduler start and the run begin; the posts then fill it.
    result = _leakmon("run", "--once", "--all", "--format", "jsonl", file_size_limit=128 * 1024)
    assert "run started" in result.stderr, result.stderr  # the disk filled during the crawl, not before
    _assert_one_sentence_failure(result, "web:forum: failed: cannot write the database: ")
    assert result.returncode == 1
    assert '"status": "failed"' in result.stdout
    # The run is recorded as failed with the reason, once there is room again.
    with sqlite3.connect(workspace / "leakmon.db") as connection:
        status, error = connection.execute("SELECT status, error FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    assert status == "failed"
    assert error.startswith("cannot write the database: ")


def test_run_once_stops_with_one_sentence_when_the_disk_is_full_at_start(workspace: Path) -> None:
    result = _leakmon("run", "--once", "--all", file_size_limit=16 * 1024)
    _assert_one_sentence_failure(result, "leakmon: cannot write the database: ")
    assert result.returncode == 8


def test_a_failure_of_the_run_itself_is_raised_not_nothing_due(
    workspace: Path, capsys: CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job store write that makes jobs due fails: the run must say so, not report "nothing due"."""
    full = sqlite3.OperationalError("database or disk is full")

    async def run_once(self: SchedulerService, *, every: bool = False) -> list[object]:
        raise OperationalError("UPDATE apscheduler_jobs SET next_run_time=?", {}, full)

    monkeypatch.setattr(SchedulerService, "run_once", run_once)
    result = run_cli(capsys, "run", "--once")
    assert result.code == 8, result.err
    assert "nothing due" not in result.err
    assert result.err.strip().splitlines()[-1] == (
        "leakmon: cannot write the database: database or disk is full "
        "(a full disk, a file size limit or a read-only workspace)"
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "argv",
    [
        ("status", "--format", "jsonl", "--output", "/dev/full"),
        ("protect", "hash", "people.csv", "--output", "/dev/full"),
        ("hits", "--format", "csv", "--output", "/dev/full"),
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_writing_to_a_full_disk_is_one_sentence(workspace: Path, capsys: CaptureFixture, argv: tuple[str, ...]) -> None:
    result = run_cli(capsys, *argv)
    assert result.code == 8, result.err
    # The file name is in the sentence when the failing call names it (open, not a buffered flush).
    assert result.err.startswith("leakmon: cannot write")
    assert result.err.endswith(": No space left on device (free some space)\n")
    assert result.err.count("\n") == 1


def _read_only_namespaces() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False)
    return probe.returncode == 0


READS = [("status",), ("protect", "stats"), ("audit", "verify"), ("incidents",), ("takedown", "list"), ("keys", "list")]
WRITES = [("hits",), ("run", "--once"), ("protect", "import", "people.csv"), ("init",), ("purge",)]


@pytest.mark.skipif(not _read_only_namespaces(), reason="user and mount namespaces are not available here")
def test_a_read_only_workspace_reads_and_refuses_writes_in_one_sentence(workspace: Path) -> None:
    script = [f"mount --bind -o ro {workspace} {workspace}"]
    for argv in READS + WRITES:
        command = " ".join([sys.executable, "-m", "leakmon", *argv])
        script.append(f'echo "=== {" ".join(argv)}" >&2; {command} >/dev/null; echo "=== rc $?" >&2')
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "\n".join(script)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ},
    )
    blocks = result.stderr.split("=== ")[1:]
    outcomes: dict[str, tuple[int, str]] = {}
    for name, rc in zip(blocks[::2], blocks[1::2], strict=True):
        title, _, err = name.partition("\n")
        outcomes[title] = (int(rc.split()[1]), err)
    for argv in READS:
        code, err = outcomes[" ".join(argv)]
        assert code == 0, (argv, err)
    for argv in WRITES:
        code, err = outcomes[" ".join(argv)]
        assert code == 8, (argv, err)
        assert err.count("\n") == 1, (argv, err)
        assert err.startswith("leakmon: cannot write "), (argv, err)


def test_a_run_whose_end_cannot_be_recorded_fails_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk can fill exactly when the run's end is written: one sentence, not a traceback."""
    from leakmon.scheduler import jobs

    def full_disk(*_args: object) -> None:
        raise OperationalError("UPDATE runs", {}, sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(jobs, "_finish", full_disk)
    reason = jobs._finish_recorded(None, 1, "ok", {}, None, None)  # type: ignore[arg-type]
    assert reason is not None
    assert reason.startswith("cannot write the database: disk I/O error")

    def bug(*_args: object) -> None:
        raise KeyError("not a storage failure")

    monkeypatch.setattr(jobs, "_finish", bug)
    with pytest.raises(KeyError):
        jobs._finish_recorded(None, 1, "ok", {}, None, None)  # type: ignore[arg-type]
