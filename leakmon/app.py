"""The application context a command works in: settings, database, keys.

SQLAlchemy loads with the first use of the engine or sessions: a scan's start-up reads through
:attr:`App.driver` when it can (see :mod:`storage.driver`).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from leakmon.errors import ConfigError
from leakmon.settings import Settings, load_settings
from storage.driver import Driver, sqlite_database

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from leakmon.keyring import Keyring


@dataclass
class App:
    """Lazily opened resources for one command or job."""

    settings: Settings = field(default_factory=load_settings)

    @cached_property
    def engine(self) -> Engine:
        """The database engine; a missing SQLite file is a sentence, never created as a side effect."""
        from sqlalchemy.exc import ArgumentError

        from storage.db import make_engine

        database = sqlite_file(self.settings.resolved_database_url)
        if database is not None and not database.exists():
            raise ConfigError(f"no leakmon database at {database}; run `leakmon init` to create the workspace")
        read_only = database is not None and is_read_only(database.parent)
        try:
            return make_engine(self.settings.resolved_database_url, read_only=read_only)
        except (ArgumentError, ImportError) as exc:
            supported = "leakmon supports sqlite:/// and postgresql:// URLs"
            raise ConfigError(f"cannot use database_url {self.database_label}: {exc}; {supported}") from None

    @property
    def database_label(self) -> str:
        """The database URL without its password, for messages."""
        from sqlalchemy import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(self.settings.resolved_database_url).render_as_string(hide_password=True)
        except ArgumentError:
            return "(unparsable URL)"

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        from storage.db import make_sessionmaker

        return make_sessionmaker(self.engine)

    @cached_property
    def driver(self) -> Driver | None:
        """Reads on the DB-API driver without SQLAlchemy (None: the URL is not a plain one, the
        SQLite file is missing or on a read-only file system; use :attr:`sessions`)."""
        url = self.settings.resolved_database_url
        database = sqlite_database(url)
        folder = Path(database).parent if database else None
        read_only = folder is not None and folder.is_dir() and is_read_only(folder)
        return Driver.for_url(url, read_only=read_only)

    @property
    def in_memory(self) -> bool:
        """The database lives in this process's memory (SQLite ``:memory:``): no other process can read it."""
        if "engine" in self.__dict__:
            url = self.engine.url
            return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
        return sqlite_database(self.settings.resolved_database_url) in ("", ":memory:")

    @cached_property
    def keyring(self) -> Keyring:
        from leakmon.keyring import load_keyring  # numpy (the key id's hash module): not for a listing

        return load_keyring(self.settings.resolved_key_file)

    def create_workspace(self) -> None:
        """Create (or tighten) the workspace: folder 0700, SQLite database and its -wal/-shm 0600."""
        home = self.settings.home
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        home.chmod(0o700)
        database = sqlite_file(self.settings.resolved_database_url)
        if database is None:
            return
        database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            with contextlib.suppress(FileNotFoundError):
                path.chmod(0o600)

    def migrate(self) -> None:
        """Create the workspace if needed and bring the schema up to date (what `leakmon init` does)."""
        from storage.migrate import upgrade

        self.create_workspace()
        upgrade(self.engine)

    def require_schema(self) -> None:
        """Fail with a clear sentence when the database was never initialised."""
        from sqlalchemy import inspect

        if not inspect(self.engine).has_table("alembic_version"):
            raise ConfigError(
                f"database {self.engine.url.render_as_string(hide_password=True)} is not initialised; "
                "run `leakmon init`"
            )

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
        driver = self.__dict__.get("driver")
        if driver is not None:
            driver.close()


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and for ``:memory:``)."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def is_read_only(folder: Path) -> bool:
    """True when ``folder`` is on a file system mounted read-only."""
    return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
