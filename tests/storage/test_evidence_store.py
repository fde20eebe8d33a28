"""The sealed-file store: content-addressed, written once and atomically, one file per sealing key."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from storage.evidence import EvidenceSealer, EvidenceStore

DATA = "이름,전화\n홍길동,010-2718-2818\n".encode()
SHA = hashlib.sha256(DATA).hexdigest()


def test_a_file_is_sealed_once_and_opens_with_its_record(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path, EvidenceSealer("k1", os.urandom(32)), max_bytes=1 << 20)
    kept = store.keep(SHA, lambda: DATA)
    assert b"2718" not in kept.path.read_bytes()
    assert store.open(kept, SHA) == DATA
    again = store.keep(SHA, lambda: pytest.fail("an existing sealed file is not read or written again"))
    assert again == kept
    assert [p.name for p in tmp_path.iterdir()] == [kept.path.name]


def test_a_file_kept_under_a_retired_key_is_sealed_again_under_the_new_one(tmp_path: Path) -> None:
    old = EvidenceStore(tmp_path, EvidenceSealer("k1", os.urandom(32)), max_bytes=1 << 20)
    new = EvidenceStore(tmp_path, EvidenceSealer("k2", os.urandom(32)), max_bytes=1 << 20)
    first = old.keep(SHA, lambda: DATA)
    second = new.keep(SHA, lambda: DATA)
    assert (first.key_id, second.key_id) == ("k1", "k2")
    assert new.open(second, SHA) == DATA  # the row's key id opens the row's file
    assert old.open(first, SHA) == DATA


def test_a_failed_write_leaves_no_sealed_or_temporary_file(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path, EvidenceSealer("k1", os.urandom(32)), max_bytes=1 << 20)

    def unreadable() -> bytes:
        raise OSError("the spooled attachment is gone")

    with pytest.raises(OSError, match="gone"):
        store.keep(SHA, unreadable)
    assert not store.path_for(SHA).exists()
    assert [p for p in tmp_path.iterdir() if p.is_file()] == []


def test_names_are_digests_never_sender_strings(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path, EvidenceSealer("k1", os.urandom(32)), max_bytes=1 << 20)
    with pytest.raises(ValueError, match="hex digests"):
        store.path_for("../../etc/passwd")
