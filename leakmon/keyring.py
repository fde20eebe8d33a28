"""The key file: HMAC keys for the protected set and evidence-encryption keys, never in the database.

Format (JSON, mode 0600)::

    {"version": 1,
     "hmac": {"active": "<key id>", "keys": {"<key id>": "<64 hex chars>"}},
     "evidence": {"active": "<key id>", "keys": {"<key id>": "<64 hex chars>"}}}

``LEAKMON_HMAC_KEY`` (64 hex chars) overrides the active HMAC key, for deployments that inject
secrets through the environment. Key ids are derived from the key and reveal nothing about it.

Three more purposes, ``"signature"`` (keys the repost-clustering text sketch), ``"audit"`` (keys
the audit chain) and ``"redaction"`` (keys the references that replace identifier-shaped post ids),
are created by ``leakmon init``; a key file from before them gets each one added
on first use, under a lock and written atomically with mode 0600. A deployment with only
``LEAKMON_HMAC_KEY`` and no key file derives them from that key (HMAC-SHA256 over a label).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from leakmon.errors import KeyError_

PURPOSES = ("hmac", "evidence", "signature", "audit", "redaction")
#: Purposes added to an older key file on first use (their keys protect no existing data yet).
ADDED_ON_USE = ("signature", "audit", "redaction")
KEY_BYTES = 32
_DERIVE_LABEL = b"leakmon/derived-key/v1/"


def key_id_for(key: bytes) -> str:
    """:func:`matchers.keyed_hash.key_id_for`, imported on use (that module loads numpy, which a
    command that only reads keys, such as an audited listing, never needs)."""
    from matchers.keyed_hash import key_id_for as key_id

    return key_id(key)


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
        if not key_id and purpose in ADDED_ON_USE:
            return self._added_on_use(purpose)
        if not key_id:
            raise KeyError_(f"no active {purpose} key in {self.path}; run `leakmon init`")
        return key_id, self.keys[purpose][key_id]

    def _added_on_use(self, purpose: str) -> tuple[str, bytes]:
        """The ``purpose`` key of an older key file, added now (or derived without a key file)."""
        if not self.path.is_file():
            _, base = self.active_key("hmac")
            key = hmac.digest(base, _DERIVE_LABEL + purpose.encode(), hashlib.sha256)
            return key_id_for(key), key
        with locked(self.path):
            current = load_keyring(self.path)  # another process may have added it meanwhile
            if not current.active.get(purpose):
                current.add_new(purpose)
                current.save()
        key_id = current.active[purpose]
        self.keys[purpose] = dict(current.keys[purpose])
        self.active[purpose] = key_id
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
        write_private(self.path, json.dumps(payload, indent=1))


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text`` in a fresh file of mode 0600 (whatever the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # a leftover could carry a wider mode
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


class locked:
    """An exclusive lock on ``<path>.lock`` (mode 0600) while ``path`` is read and replaced."""

    def __init__(self, path: Path) -> None:
        self._lock = path.with_name(path.name + ".lock")
        self._fd = -1

    def __enter__(self) -> None:
        self._fd = os.open(self._lock, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


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
