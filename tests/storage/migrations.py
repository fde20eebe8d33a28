"""Moving a test database to one Alembic revision, up or down, in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from storage.migrate import alembic_config


def migrate(engine: Engine, step: Literal["upgrade", "downgrade"], target: str) -> None:
    """Run ``alembic upgrade|downgrade target`` on ``engine`` (the repository's migrations)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, step)(config, target)


def insert_hit(connection: Connection, post_id: int, row: Any, when: datetime) -> None:
    """One hit (a ``HitRow``) written as a schema before ``store_0010`` held it (no identity key)."""
    names = ", ".join(row._fields)
    values = ", ".join(f":{name}" for name in row._fields)
    connection.execute(
        text(f"INSERT INTO hits ({names}, post_id, first_seen, last_seen) VALUES ({values}, :p, :t, :t)"),  # noqa: S608
        {**row._asdict(), "p": post_id, "t": when},
    )
