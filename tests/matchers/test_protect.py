"""Protected-set normalization per type: valid forms, equivalences, invalid values (never echoed)."""

from __future__ import annotations

import pytest

from matchers.errors import InvalidIdentifier, UnknownIdentifierType
from matchers.keyed_hash import KeyedHasher
from matchers.protect import protected_digests, protected_forms
from matchers.registry import IdentifierRegistry

VALID = [
    ("phone", "010-1234-5678", [("full", "821012345678"), ("p3s4", "010*5678"), ("p7", "0101234*")]),
    ("phone", "+82 10 1234 5678", [("full", "821012345678"), ("p3s4", "010*5678"), ("p7", "0101234*")]),
    ("phone", "011-234-5678", [("full", "82112345678"), ("p3s4", "011*5678"), ("p6", "011234*")]),
    ("phone", "02-345-6789", [("full", "8223456789"), ("p2s4", "02*6789"), ("p5", "02345*")]),
    ("phone", "070-1234-5678", [("full", "827012345678"), ("p3s4", "070*5678"), ("p7", "0701234*")]),
    ("phone", "0505-123-4567", [("full", "825051234567"), ("p4s4", "0505*4567"), ("p7", "0505123*")]),
    ("phone", "+1 650-253-0000", [("full", "16502530000")]),
    ("phone", "+44 20 7946 0958", [("full", "442079460958")]),
    ("email", "Kim@HanMail.net", [("full", "kim@daum.net"), ("p1d", "k*@daum.net"), ("p2d", "ki*@daum.net")]),
    ("rrn", "900101-1234568", [("full", "9001011234568"), ("p7", "9001011*"), ("p6", "900101*")]),
    ("rrn", "030303 4123456", [("full", "0303034123456"), ("p7", "0303034*"), ("p6", "030303*")]),
    ("frn", "850505-5123456", [("full", "8505055123456"), ("p7", "8505055*"), ("p6", "850505*")]),
    ("card", "4111-1111-1111-1111", [("full", "4111111111111111"), ("p6s4", "411111*1111")]),
    ("name", "김철수", [("full", "김철수"), ("fl", "김*수"), ("f", "김**")]),
    ("name", "김 철수", [("full", "김철수"), ("fl", "김*수"), ("f", "김**")]),
    ("name", "이산", [("full", "이산"), ("f", "이*")]),
    ("name", "Kim  Cheol-su", [("full", "kim cheol-su")]),
    ("birthdate", "1990-01-02", [("full", "19900102")]),
    ("birthdate", "1990년 1월 2일", [("full", "19900102")]),
    ("birthdate", "90.01.02", [("full", "19900102")]),
    ("birthdate", "19900102", [("full", "19900102")]),
    (
        "address",
        "서울시 강남구 테헤란로 123, 101동 1001호 (역삼동)",
        [("full", "서울특별시 강남구 테헤란로 123 101동 1001호")],
    ),
    ("address", "강원도 춘천시 중앙로 1", [("full", "강원특별자치도 춘천시 중앙로 1")]),
    ("address", "전라북도 전주시 완산구 효자로 225", [("full", "전북특별자치도 전주시 완산구 효자로 225")]),
    ("address", "(06236) 서울특별시 강남구 삼성동 338-3", [("full", "서울특별시 강남구 삼성동 338-3")]),
    (
        "address",
        "울산광역시 울주군 온양읍 솔밭1길 12, 101동 1001호(○○아파트)",
        [("full", "울산광역시 울주군 솔밭1길 12 101동 1001호")],
    ),
]

INVALID = [
    ("phone", "010-12"),
    ("phone", "hello"),
    ("email", "kim.naver.com"),
    ("rrn", "901301-1234567"),  # month 13
    ("rrn", "90010-1234567"),
    ("card", "4111 1111 1111 1112"),
    ("name", "김"),
    ("name", "김철수123"),
    ("birthdate", "1990-02-30"),
    ("address", "서울특별시 강남구"),
    ("address", "테헤란로 123"),
    ("phone", "   "),
]


@pytest.mark.parametrize(("id_type", "raw", "forms"), VALID)
def test_protected_forms(id_type: str, raw: str, forms: list[tuple[str, str]]) -> None:
    assert protected_forms(id_type, raw) == forms
    assert protected_forms(id_type, raw, partial=False) == [forms[0]]


@pytest.mark.parametrize(("id_type", "raw"), INVALID)
def test_invalid_values_are_not_echoed(id_type: str, raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as err:
        protected_forms(id_type, raw)
    assert err.value.id_type == id_type
    if raw.strip():
        assert raw not in str(err.value)
        assert raw not in repr(err.value)


def test_unknown_type() -> None:
    with pytest.raises(UnknownIdentifierType, match="unknown identifier type: passport"):
        protected_forms("passport", "M12345678")


def test_protected_digests_use_the_hasher() -> None:
    hasher = KeyedHasher(b"leakmon-test-key-not-a-secret-0001")
    got = protected_digests(hasher, "phone", "010-1234-5678")
    assert got[0] == ("full", hasher.digest("phone", "821012345678"))
    assert [form for form, _ in got] == ["full", "p3s4", "p7"]


def test_registry_kinds() -> None:
    reg = IdentifierRegistry.default()
    assert set(reg.types) >= {"phone", "email", "rrn", "frn", "card", "name", "birthdate", "address"}
    assert reg.is_weak("name")
    assert reg.is_weak("birthdate")
    assert not reg.is_weak("phone")
    assert reg.is_unique_id("rrn")
    assert reg.is_unique_id("frn")
    assert not reg.is_unique_id("card")
