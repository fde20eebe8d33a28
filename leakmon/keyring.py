"""The key file: HMAC keys for the protected set and evidence-encryption keys, never in the database.

Format (JSON, mode 0600)::

    {"version": 1,
     "hmac": {"active": "<key id>", "keys": {"<key id>": "<64 hex chars>"}},
     "evidence": {"active": "<key id>", "keys": {"<key id>": "<64 hex chars>"}}}

``LEAKMON_HMAC_KEY`` (64 hex chars) overrides the active HMAC key, for deployments that inject
secrets through the environment. Key ids are derived from the key and reveal nothing about it.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from leakmon.errors import KeyError_
from matchers.keyed_hash import key_id_for

PURPOSES = ("hmac", "evidence")
KEY_BYTES = 32


@dataclass
class Keyring:
    """Keys by purpose and id, plus the active id per purpose."""

    path: Path
    keys: dict[str, dict[str, bytes]] = field(default_factory=lambda: {p: {} for p in PURPOSES})
    active: dict[str, str] = field(default_factory=dict)

    def active_key(self, purpose: str) -> tuple[str, bytes]:
        if purpose == "hmac" and os.environ.get("LEAKMON_HMAC_KEY"):
            key = _parse_hex(os.environ["LEAKMON_HMAC_KEY"], "LEAKMON_HMAC_KEY")
            return key_id_for(key), key
        key_id = self.active.get(purpose)
        if not key_id:
            raise KeyError_(f"no active {purpose} key in {self.path}; run `leakmon init`")
        return key_id, self.keys[purpose][key_id]

    def key(self, purpose: str, key_id: str) -> bytes:
        try:
            return self.keys[purpose][key_id]
        except KeyError:
            raise KeyError_(f"{purpose} key {key_id} is not in {self.path}") from None

    def add_new(self, purpose: str) -> str:
        """Create a fresh random key for ``purpose``, make it active and return its id."""
        key = secrets.token_bytes(KEY_BYTES)
        key_id = key_id_for(key)
        self.keys[purpose][key_id] = key
        self.active[purpose] = key_id
        return key_id

    def drop(self, purpose: str, key_id: str) -> None:
        self.keys[purpose].pop(key_id, None)

    def save(self) -> None:
        """Write atomically with mode 0600 (the file is created private, never chmod-ed after)."""
        payload = {
            "version": 1,
            **{
                purpose: {
                    "active": self.active.get(purpose),
                    "keys": {kid: key.hex() for kid, key in self.keys[purpose].items()},
                }
                for purpose in PURPOSES
            },
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle, indent=1)
        tmp.replace(self.path)


def load_keyring(path: Path) -> Keyring:
    """Read the key file, refusing one that others can read."""
    if not path.is_file():
        if os.environ.get("LEAKMON_HMAC_KEY"):
            return Keyring(path=path)
        raise KeyError_(f"key file {path} not found; run `leakmon init` or set LEAKMON_KEY_FILE")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyError_(f"key file {path} has mode {mode:o}; it must be private (chmod 600)")
    try:
        payload = json.loads(path.read_text())
        ring = Keyring(path=path)
        for purpose in PURPOSES:
            section = payload.get(purpose) or {}
            ring.keys[purpose] = {
                kid: _parse_hex(value, f"{purpose} key {kid}") for kid, value in section.get("keys", {}).items()
            }
            if section.get("active"):
                ring.active[purpose] = section["active"]
    except (ValueError, AttributeError, TypeError) as exc:
        raise KeyError_(f"key file {path} is not a valid leakmon key file ({type(exc).__name__})") from None
    return ring


def ensure_keyring(path: Path) -> tuple[Keyring, bool]:
    """Load the key file, or create one with fresh keys; returns (keyring, created)."""
    if path.is_file():
        return load_keyring(path), False
    ring = Keyring(path=path)
    for purpose in PURPOSES:
        ring.add_new(purpose)
    ring.save()
    return ring, True


def _parse_hex(value: str, what: str) -> bytes:
    try:
        key = bytes.fromhex(value.strip())
    except ValueError:
        raise KeyError_(f"{what} is not hex") from None
    if len(key) < 16:
        raise KeyError_(f"{what} is too short (at least 16 bytes)")
    return key
