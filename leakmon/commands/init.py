"""`leakmon init`: create the workspace, migrate the database, create the key file."""

from __future__ import annotations

import typer

from leakmon.app import App
from leakmon.keyring import ADDED_ON_USE, PURPOSES, ensure_keyring
from leakmon.output import console
from storage.repositories.keys import record_key


def init() -> None:
    """Create the workspace (folder 0700, files 0600), bring the schema up to date, create a key file if none exists.

    The only command that creates the workspace; on an existing one it tightens the modes.
    """
    app = App()
    app.migrate()
    ring, created = ensure_keyring(app.settings.resolved_key_file)
    for purpose in ADDED_ON_USE:
        ring.active_key(purpose)  # a key file from before these purposes gets them now
    with app.sessions.begin() as session:
        for purpose in PURPOSES:
            if ring.active.get(purpose):
                record_key(session, ring.active[purpose], purpose)
    where = app.settings.resolved_key_file
    console.print(f"workspace: {app.settings.home}")
    console.print(f"database:  {app.engine.url.render_as_string(hide_password=True)} (migrated)")
    console.print(f"key file:  {where} ({'created, mode 0600' if created else 'kept'})")
    app.close()


def register(app: typer.Typer) -> None:
    app.command("init")(init)
