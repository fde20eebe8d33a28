"""The CLI workspace fixtures (a migrated SQLite/PostgreSQL database with a key file) for the console tests."""

from __future__ import annotations

from tests.leakmon.commands.conftest import cli_db, config_file

__all__ = ["cli_db", "config_file"]
