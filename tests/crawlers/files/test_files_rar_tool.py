"""Issue 15 items 6 and 7: rarfile's temp copies stay in the spool; a hanging rar tool obeys max_seconds."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import rarfile
from files_builders import kinds, raw_rar

from crawlers import spool
from crawlers.files import STATUS_SKIPPED, ReadLimits, read_bytes

ROOT = Path(__file__).resolve().parents[3]
ROW = b"kim@naver.com 010-1234-5678\n"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """(system temp folder, workspace spool), both empty and private to the test."""
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    monkeypatch.setattr(rarfile, "CURRENT_SETUP", None)
    root = tmp_path / "workspace" / "spool"
    spool.configure(root)
    yield system_tmp, root
    monkeypatch.setattr(spool, "_root", None)


def _everything(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_a_rar_member_read_without_a_tool_leaves_no_copy(
    workspace: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    system_tmp, root = workspace
    monkeypatch.setenv("PATH", "/nonexistent")  # no unrar, unar, 7z or bsdtar
    for _ in range(3):
        reading = read_bytes("c.rar", raw_rar(b"users.txt", ROW, stored=False))
        assert kinds(reading) == ["tool_missing"]
        assert reading.report.status == STATUS_SKIPPED
    assert _everything(system_tmp) == []
    assert _everything(root) == []


def test_a_hanging_rar_tool_is_killed_at_max_seconds(
    workspace: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    fake = tools / "unrar"
    # Answers rarfile's check at once, then hangs on extraction (30 s: long past the 1 s budget).
    fake.write_text('#!/bin/sh\nfor a in "$@"; do [ "$a" = "-?" ] && exit 0; done\nexec sleep 30\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    reading = read_bytes("slow.rar", raw_rar(b"users.txt", ROW, stored=False), limits=ReadLimits(max_seconds=1))
    found = kinds(reading)
    assert found == ["cap_time"]
    assert "max_seconds=1" in reading.report.findings[0].reason
    system_tmp, root = workspace
    assert _everything(system_tmp) == []
    assert _everything(root) == []


CHECK_IN_A_CHILD = """
import rarfile
from crawlers.files import rartool
rartool.CHECK_SECONDS = 0.5
try:
    rarfile.tool_setup(force=True, unar=False, bsdtar=False, sevenzip=False, sevenzip2=False)
except rarfile.RarCannotExec:
    print("unusable")
"""


def test_a_rar_tool_hanging_at_its_check_is_given_up(tmp_path: Path) -> None:
    """rarfile's one-time check (``unrar -?``) had no timeout: a tool hanging there blocked for good."""
    tools = tmp_path / "bin"
    tools.mkdir()
    pid_file = tmp_path / "check.pid"
    fake = tools / "unrar"
    fake.write_text(f'#!/bin/sh\necho $$ > "{pid_file}"\nexec /bin/sleep 300\n')  # hangs at the check
    fake.chmod(0o755)
    # A hang guard, not a speed check: the old check never returned.
    done = subprocess.run(
        [sys.executable, "-c", CHECK_IN_A_CHILD],
        env={**os.environ, "PATH": str(tools)}, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout.strip()) == (0, "unusable"), done.stderr
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)  # the hanging check was killed and reaped, not left behind
