"""A small synthetic protected set built through the public API (no real persons)."""

from __future__ import annotations

import pytest

from matchers.engine import Matcher
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.protect import protected_forms
from matchers.registry import IdentifierRegistry

TEST_KEY = b"leakmon-test-key-not-a-secret-0001"

#: subject id -> {type: value}. Subjects 1 and 4 share a name; 2 and 3 share a phone (household);
#: 1 and 6 share the masked phone 010-****-5678.
PEOPLE: dict[int, dict[str, str]] = {
    1: {
        "phone": "010-1234-5678",
        "email": "Kim.Chulsoo@hanmail.net",
        "name": "김철수",
        "rrn": "900101-1234568",
        "birthdate": "1990-01-01",
        "card": "4111 1111 1111 1111",
    },
    2: {"phone": "02-345-6789", "email": "lee@naver.com", "name": "이영희", "birthdate": "19851231"},
    3: {"phone": "02-345-6789", "name": "박민수", "rrn": "030303-4123456"},
    4: {"phone": "011-234-5678", "name": "김철수", "frn": "850505-5123456", "email": "jun@gmail.com"},
    5: {"phone": "010-7777-0001", "name": "남궁민수", "address": "서울특별시 강남구 테헤란로 123, 101동 1001호"},
    6: {"phone": "010-9999-5678", "name": "박지성", "email": "park@naver.com"},
    7: {"phone": "+44 20 7946 0958", "name": "John Smith"},
}


def build_pairs(hasher: KeyedHasher, registry: IdentifierRegistry) -> list[tuple[bytes, int]]:
    pairs = []
    for sid, ids in PEOPLE.items():
        for id_type, value in ids.items():
            if id_type not in registry:
                continue
            for form, canonical in protected_forms(id_type, value, registry):
                pairs.append((hasher.digest(id_type, canonical, form), sid))
    return pairs


@pytest.fixture(scope="session")
def registry() -> IdentifierRegistry:
    return IdentifierRegistry.default()


@pytest.fixture(scope="session")
def hasher() -> KeyedHasher:
    return KeyedHasher(TEST_KEY)


@pytest.fixture(scope="session")
def index(hasher: KeyedHasher, registry: IdentifierRegistry) -> ProtectedIndex:
    return ProtectedIndex.from_digests(build_pairs(hasher, registry))


@pytest.fixture(scope="session")
def matcher(hasher: KeyedHasher, index: ProtectedIndex, registry: IdentifierRegistry) -> Matcher:
    return Matcher(hasher, index, registry)
