"""A bare directory with no workspace and no configuration: what an operator starts from."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

PEOPLE = "subject_ref,name,phone\ncust-001,김민수,010-2345-6789\ncust-002,이영희,010-8765-4321\n"
LEAK = "이름,전화번호\n김민수,010-2345-6789\n홍길동,010-8765-4321\n"


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cwd is an empty folder; the workspace defaults to ./.leakmon; an empty config file."""
    for name in ("LEAKMON_HOME", "LEAKMON_DATABASE_URL", "LEAKMON_KEY_FILE", "LEAKMON_HMAC_KEY"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "leakmon.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("LEAKMON_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    (tmp_path / "leak.csv").write_text(LEAK, encoding="utf-8")
    return tmp_path


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`run --once` in-process installs leakmon's log handler on the root logger: undo it for later tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("scrapy", "twisted", "telethon", "filelock")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, previous in quiet.items():
        logging.getLogger(name).setLevel(previous)
