"""Evidence encryption at rest (AES-256-GCM, a fresh nonce per record) and the sealed-file store.

The associated data binds each ciphertext to its record (e.g. ``post:<source>:<external id>``)
and to the key id, so a ciphertext cannot be swapped between rows. Keys live in the key file.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class EvidenceError(Exception):
    """A ciphertext could not be opened (wrong key, wrong record, or tampered)."""


@dataclass(frozen=True)
class EvidenceSealer:
    key_id: str
    key: bytes

    def seal(self, plaintext: bytes, record: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self.key).encrypt(nonce, plaintext, self._aad(record))

    def open(self, sealed: bytes, record: str) -> bytes:
        try:
            return AESGCM(self.key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], self._aad(record))
        except InvalidTag:
            raise EvidenceError(f"evidence for {record} does not open with key {self.key_id}") from None

    def _aad(self, record: str) -> bytes:
        return f"leakmon-evidence/v1/{self.key_id}/{record}".encode()


@dataclass(frozen=True, slots=True)
class KeptFile:
    """Where a sealed file lives and the key that sealed it (what an attachment row records)."""

    path: Path
    key_id: str


class EvidenceStore:
    """Sealed attachment files on disk: content-addressed, written once, never inside a transaction.

    Files are named by SHA-256 and sealing key (``<sha256>.<key id>.sealed``) and sealed with the
    record ``file:<sha256>``, so one file kept for several posts is one file, and a file sealed
    under a retired key is never taken for one sealed under the current key.

    Ordering (the decision): the ingest sink keeps a post's files *before* its write transaction
    and the transaction only records the path. A rollback or crash therefore leaves at worst a
    sealed file no row points to yet; the rerun finds it and records it without writing it again.
    Nothing is deleted on rollback: another post's committed row may already point to the same
    file, so deleting "what this transaction wrote" could lose evidence. Writes are atomic (a
    temporary name, fsync, rename): a crash mid-write never leaves a truncated ``.sealed`` file.
    """

    def __init__(self, directory: Path, sealer: EvidenceSealer, *, max_bytes: int) -> None:
        self.directory = directory
        self.sealer = sealer
        self.max_bytes = max_bytes

    def path_for(self, sha256: str) -> Path:
        if not _SAFE_NAME.fullmatch(sha256) or not _SAFE_NAME.fullmatch(self.sealer.key_id):
            raise ValueError("evidence names are hex digests and key ids")
        return self.directory / f"{sha256}.{self.sealer.key_id}.sealed"

    def keep(self, sha256: str, content: Callable[[], bytes]) -> KeptFile:
        """Seal ``content()`` into the file for ``sha256`` unless it is there already."""
        target = self.path_for(sha256)
        if not target.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            sealed = self.sealer.seal(content(), f"file:{sha256}")
            with tempfile.NamedTemporaryFile(dir=self.directory, prefix=f".{sha256}.", delete=False) as handle:
                tmp = Path(handle.name)
                try:
                    handle.write(sealed)
                    handle.flush()
                    os.fsync(handle.fileno())
                except BaseException:
                    tmp.unlink(missing_ok=True)
                    raise
            tmp.replace(target)
        return KeptFile(target, self.sealer.key_id)

    def open(self, kept: KeptFile | Path, sha256: str) -> bytes:
        """The plaintext of a kept file (the sealer's key must be the one that sealed it)."""
        path = kept.path if isinstance(kept, KeptFile) else kept
        return self.sealer.open(path.read_bytes(), f"file:{sha256}")


_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
