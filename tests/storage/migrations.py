"""Moving a test database to one Alembic revision, up or down, in one transaction."""

from __future__ import annotations

from typing import Literal

from alembic import command
from sqlalchemy.engine import Engine

from storage.migrate import alembic_config


def migrate(engine: Engine, step: Literal["upgrade", "downgrade"], target: str) -> None:
    """Run ``alembic upgrade|downgrade target`` on ``engine`` (the repository's migrations)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, step)(config, target)
