from __future__ import annotations

import hmac

import numpy as np
import pytest

from matchers.keyed_hash import KeyedHasher, key_id_for, message_header, prefix64
from matchers.model import CANONICAL_VERSION

KEYS = [b"k" * 16, b"leakmon-test-key-not-a-secret-0001", bytes(range(64)), b"x" * 100]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(
    ("id_type", "form", "value"),
    [
        ("phone", "full", "821012345678"),
        ("email", "p1d", "k*@naver.com"),
        ("name", "full", "김철수"),
        ("rrn", "full", ""),
    ],
)
def test_digest_equals_stdlib_hmac(key: bytes, id_type: str, form: str, value: str) -> None:
    h = KeyedHasher(key)
    msg = f"leakmon/v{CANONICAL_VERSION}/{id_type}/{form}".encode() + b"\x00" + value.encode()
    assert h.digest(id_type, value, form) == hmac.digest(key, msg, "sha256")
    assert h.digest_many(id_type, [value, value.encode()], form) == [hmac.digest(key, msg, "sha256")] * 2


def test_domain_separation_and_frn_alias() -> None:
    h = KeyedHasher(KEYS[1])
    assert h.digest("phone", "1234567890123") != h.digest("card", "1234567890123")
    assert h.digest("phone", "x", "full") != h.digest("phone", "x", "p7")
    assert h.digest("frn", "8505055123456") == h.digest("rrn", "8505055123456")
    assert message_header("frn") == message_header("rrn")


def test_key_id_is_stable_and_reveals_nothing() -> None:
    key = KEYS[1]
    assert key_id_for(key) == key_id_for(key) != key_id_for(KEYS[0])
    assert key.hex()[:8] not in key_id_for(key)
    assert KeyedHasher(key).key_id == key_id_for(key)
    assert "leakmon-test" not in repr(KeyedHasher(key))


def test_short_key_rejected() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        KeyedHasher(b"short")


def test_prefix64_is_big_endian_first_8_bytes() -> None:
    digests = [bytes(range(i, i + 32)) for i in (0, 100)]
    got = prefix64(digests)
    assert got.dtype == np.uint64
    assert got.tolist() == [int.from_bytes(d[:8], "big") for d in digests]
    assert prefix64([]).size == 0


def test_joined_digests_are_the_digests_concatenated() -> None:
    h = KeyedHasher(KEYS[2])
    values = [b"", b"a", "김철수", b"\x00\xff" * 300]
    assert h.joined_digests("email", values, "p2d") == b"".join(h.digest_many("email", values, "p2d"))
    assert h.joined_digests("email", []) == b""
