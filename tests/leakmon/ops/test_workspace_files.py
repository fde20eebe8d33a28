"""Workspace files are owner-only whatever the umask, and one lock guards one database file."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakmon.scheduler.lock import SchedulerBusy, SchedulerLock
from storage.db import make_engine
from tests.leakmon.cli import run_cli

CaptureFixture = pytest.CaptureFixture[str]


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The umask of a careless shell: new files readable by everyone."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_owner_only_whatever_the_umask(bare: Path, capsys: CaptureFixture, open_umask: None) -> None:
    steps = [
        ("init",),
        ("protect", "import", "people.csv"),
        ("scan", "leak.csv", "--format", "jsonl", "--output", "scan.jsonl"),
        ("protect", "hash", "people.csv", "--output", "hashed.csv"),
        ("hits", "--format", "csv", "--output", "hits.csv"),
        ("export", "affected", "--all", "--output", "affected.csv"),
        ("status", "--format", "jsonl", "--output", "status.jsonl"),
    ]
    for argv in steps:
        result = run_cli(capsys, *argv)
        assert result.code == 0, (argv, result.err)
    home = bare / ".leakmon"
    assert _mode(home) == 0o700
    for name in ("leakmon.db", "keys.json"):
        assert _mode(home / name) == 0o600, name
    for name in ("scan.jsonl", "hashed.csv", "hits.csv", "affected.csv", "status.jsonl"):
        assert _mode(bare / name) == 0o600, name
    # SQLite gives -wal and -shm the database file's mode; they exist while a connection is open.
    connection = sqlite3.connect(home / "leakmon.db")
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE probe (x)")
        for suffix in ("-wal", "-shm"):
            assert _mode(home / f"leakmon.db{suffix}") == 0o600, suffix
    finally:
        connection.close()
    for path in home.rglob("*"):
        assert not _mode(path) & 0o077, f"{path} is readable by others"


def test_init_tightens_an_existing_workspace(bare: Path, capsys: CaptureFixture, open_umask: None) -> None:
    home = bare / ".leakmon"
    home.mkdir(mode=0o755)
    assert run_cli(capsys, "init").code == 0
    (home / "leakmon.db").chmod(0o644)
    home.chmod(0o755)
    again = run_cli(capsys, "init")
    assert again.code == 0, again.err
    assert _mode(home) == 0o700
    assert _mode(home / "leakmon.db") == 0o600


@pytest.mark.parametrize("alias", ["symlink", "relative"])
def test_one_scheduler_lock_per_database_file_however_it_is_named(
    bare: Path, capsys: CaptureFixture, alias: str
) -> None:
    assert run_cli(capsys, "init").code == 0
    real = bare / ".leakmon" / "leakmon.db"
    if alias == "symlink":
        other = bare / "elsewhere.db"
        other.symlink_to(real)
        other_url = f"sqlite:///{other}"
    else:
        other_url = "sqlite:///.leakmon/../.leakmon/leakmon.db"
    first, second = make_engine(f"sqlite:///{real}"), make_engine(other_url)
    try:
        with SchedulerLock(first), pytest.raises(SchedulerBusy):
            SchedulerLock(second).acquire()
    finally:
        first.dispose()
        second.dispose()
