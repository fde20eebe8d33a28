"""Evidence encryption at rest: AES-256-GCM with a fresh nonce per record.

The associated data binds each ciphertext to its record (e.g. ``post:<source>:<external id>``)
and to the key id, so a ciphertext cannot be swapped between rows. Keys live in the key file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

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
