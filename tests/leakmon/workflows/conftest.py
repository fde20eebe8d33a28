"""A migrated database (SQLite and PostgreSQL) for the case workflows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.leakmon.workflows.world import Db, open_db


@pytest.fixture
def db(db_url: str) -> Iterator[Db]:
    handle = open_db(db_url)
    try:
        yield handle
    finally:
        handle.engine.dispose()
