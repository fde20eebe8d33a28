"""A workspace and a migrated database (SQLite and PostgreSQL) the real CLI runs against."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leakmon.keyring import ensure_keyring
from tests.leakmon.workflows.world import Db, open_db


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return tmp_path / "leakmon.toml"


@pytest.fixture
def cli_db(db_url: str, tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Db]:
    """LEAKMON_* point at a fresh workspace with a key file, a migrated database and an (empty) config file."""
    config_file.write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEAKMON_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LEAKMON_DATABASE_URL", db_url)
    monkeypatch.setenv("LEAKMON_CONFIG", str(config_file))
    monkeypatch.setenv("USER", "tester")
    ensure_keyring(tmp_path / "home" / "keys.json")  # what `leakmon init` leaves: the audit key among them
    handle = open_db(db_url)
    try:
        yield handle
    finally:
        handle.engine.dispose()
