"""The application context a command works in: settings, database, keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from leakmon.errors import ConfigError
from leakmon.keyring import Keyring, load_keyring
from leakmon.settings import Settings, load_settings
from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade


@dataclass
class App:
    """Lazily opened resources for one command or job."""

    settings: Settings = field(default_factory=load_settings)

    @cached_property
    def engine(self) -> Engine:
        url = self.settings.resolved_database_url
        if url.startswith("sqlite:///"):
            self.settings.home.mkdir(parents=True, exist_ok=True)
        return make_engine(url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine)

    @cached_property
    def keyring(self) -> Keyring:
        return load_keyring(self.settings.resolved_key_file)

    def migrate(self) -> None:
        upgrade(self.engine)

    def require_schema(self) -> None:
        """Fail with a clear sentence when the database was never initialised."""
        if not inspect(self.engine).has_table("alembic_version"):
            raise ConfigError(
                f"database {self.engine.url.render_as_string(hide_password=True)} is not initialised; "
                "run `leakmon init`"
            )

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
