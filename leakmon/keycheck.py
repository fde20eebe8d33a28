"""Refuse to match when the protected set was hashed under a key that is not the one in use.

A matcher keyed with another key finds nothing, and a post it "analysed" is recorded as unchanged
forever after: hits lost for good. So every matching command (scan, crawl, telegram read and
import-export, run --once, schedule and each of its jobs) calls :func:`require_set_key` before
doing any work, and stops with one sentence and exit code 3 (:class:`leakmon.errors.KeyError_`).
"""

from __future__ import annotations

import os

from leakmon.app import App
from leakmon.errors import KeyError_


def check_set_key(set_keys: set[str], active_id: str, *, env_key: bool, key_file: str) -> None:
    """Raise :class:`KeyError_` when ``set_keys`` holds a key id other than ``active_id``."""
    missing = sorted(set_keys - {active_id})
    if not missing:
        return
    where = "LEAKMON_HMAC_KEY" if env_key else f"the key file {key_file} (LEAKMON_HMAC_KEY is not set)"
    raise KeyError_(
        f"the protected set is hashed under key {', '.join(missing)} but the HMAC key in use is {active_id} "
        f"from {where}: nothing was matched or recorded; provide that key (LEAKMON_HMAC_KEY or the key file) "
        "and run again"
    )


def require_set_key(app: App) -> str:
    """The active HMAC key id, after checking every digest of the set was made with it.

    Read on the DB-API driver when the URL allows (no SQLAlchemy before a scan's workers start); a
    database without its schema, or a read that fails, goes through SQLAlchemy and its sentences.
    """
    found = _raw_key_ids(app)
    if found is None:
        app.require_schema()
    key_id, _ = app.keyring.active_key("hmac")
    if found is None:
        from storage.repositories.protected import set_key_ids

        with app.sessions() as session:
            found = set_key_ids(session)
    check_set_key(
        found,
        key_id,
        env_key=bool(os.environ.get("LEAKMON_HMAC_KEY")),
        key_file=str(app.settings.resolved_key_file),
    )
    return key_id


def _raw_key_ids(app: App) -> set[str] | None:
    driver = app.driver
    if driver is None:
        return None
    try:
        return driver.set_key_ids() if driver.has_schema() else None
    except driver.errors:
        return None
