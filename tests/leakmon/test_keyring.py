"""The key file: created private, refused when readable by others, never printed."""

from __future__ import annotations

import json
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


def _old_key_file(path: Path) -> None:
    """A key file from before the signature and audit keys: hmac and evidence only."""
    payload = {
        "version": 1,
        **{p: {"active": "k" + p, "keys": {"k" + p: p[0].encode().hex() * 32}} for p in ("hmac", "evidence")},
    }
    path.write_text(json.dumps(payload))
    path.chmod(0o600)


@pytest.mark.parametrize("purpose", ["signature", "audit"])
def test_an_old_key_file_gets_the_new_purpose_once_and_stays_private(tmp_path: Path, purpose: str) -> None:
    path = tmp_path / "keys.json"
    _old_key_file(path)
    first, second = load_keyring(path), load_keyring(path)  # two processes that loaded the old file
    key_id, key = first.active_key(purpose)
    assert len(key) == 32
    assert second.active_key(purpose) == (key_id, key)  # the second one re-reads under the lock
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_keyring(path)
    assert again.active_key(purpose) == (key_id, key)
    assert again.active_key("hmac") == ("khmac", bytes.fromhex("68" * 32))
    assert again.active_key("evidence") == ("kevidence", bytes.fromhex("65" * 32))


def test_new_key_files_hold_every_purpose(tmp_path: Path) -> None:
    ring, _ = ensure_keyring(tmp_path / "keys.json")
    ids = {purpose: ring.active_key(purpose)[0] for purpose in ("hmac", "evidence", "signature", "audit")}
    assert len(set(ids.values())) == 4


def test_environment_only_deployments_derive_the_new_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKMON_HMAC_KEY", "11" * 32)
    ring = load_keyring(tmp_path / "absent.json")
    signature = ring.active_key("signature")
    assert signature == load_keyring(tmp_path / "absent.json").active_key("signature")
    assert signature[1] not in (bytes.fromhex("11" * 32), ring.active_key("audit")[1])
    assert not (tmp_path / "absent.json").exists()
