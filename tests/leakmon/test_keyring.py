"""The key file: created private, refused when readable by others, never printed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from leakmon.errors import KeyError_
from leakmon.keyring import ensure_keyring, load_keyring


def test_created_with_mode_0600_and_both_purposes(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring, created = ensure_keyring(path)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    hmac_id, hmac_key = ring.active_key("hmac")
    evidence_id, evidence_key = ring.active_key("evidence")
    assert len(hmac_key) == len(evidence_key) == 32
    assert hmac_id != evidence_id
    again, created_again = ensure_keyring(path)
    assert not created_again
    assert again.active_key("hmac") == (hmac_id, hmac_key)


def test_refuses_a_key_file_others_can_read(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ensure_keyring(path)
    path.chmod(0o644)
    with pytest.raises(KeyError_, match="chmod 600"):
        load_keyring(path)


def test_missing_key_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEAKMON_HMAC_KEY", raising=False)
    with pytest.raises(KeyError_, match="leakmon init"):
        load_keyring(tmp_path / "absent.json")


def test_corrupt_key_file_does_not_echo_its_content(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text('{"hmac": {"keys": {"a": "not-hex-SECRETVALUE"}}}')
    path.chmod(0o600)
    with pytest.raises(KeyError_) as excinfo:
        load_keyring(path)
    assert "SECRETVALUE" not in str(excinfo.value)


def test_environment_key_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ring, _ = ensure_keyring(tmp_path / "keys.json")
    monkeypatch.setenv("LEAKMON_HMAC_KEY", "11" * 32)
    key_id, key = ring.active_key("hmac")
    assert key == bytes.fromhex("11" * 32)
    assert key_id != ring.active["hmac"]
