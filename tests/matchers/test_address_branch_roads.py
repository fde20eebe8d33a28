"""Numbered branch roads (테헤란로7길, 중앙로123번길) are part of the road: the address pass read
"서울특별시 강남구 테헤란로7길 22" as 테헤란로 7 (the shortest match), missing the subject who lives
there and matching whoever lives at 테헤란로 7 instead."""

from __future__ import annotations

import pytest

from matchers.engine import Matcher
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.protect import protected_forms
from matchers.registry import IdentifierRegistry
from tests.matchers.conftest import TEST_KEY

SUBJECTS = {
    11: "서울특별시 강남구 테헤란로7길 22",
    12: "서울특별시 강남구 테헤란로 7",  # a different address: must never match the branch road
    13: "경기도 성남시 분당구 중앙로123번길 4, 101동 1001호",
    14: "서울특별시 강남구 테헤란로 22",
}


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    registry = IdentifierRegistry.default()
    hasher = KeyedHasher(TEST_KEY)
    pairs = [
        (hasher.digest("address", canonical, form), sid)
        for sid, value in SUBJECTS.items()
        for form, canonical in protected_forms("address", value, registry)
    ]
    return Matcher(hasher, ProtectedIndex.from_digests(pairs), registry)


@pytest.mark.parametrize(
    ("text", "subjects"),
    [
        ("서울특별시 강남구 테헤란로7길 22", (11,)),
        ("배송지: 서울 강남구 테헤란로7길 22", (11,)),
        ("김민서,010-0000-0000,서울특별시 강남구 테헤란로7길 22", (11,)),
        ("경기도 성남시 분당구 중앙로123번길 4, 101동 1001호", (13,)),
        ("경기 성남 분당구 중앙로123번길 4 101동 1001호", (13,)),
        ("서울특별시 강남구 테헤란로 7", (12,)),  # the plain road still reads as before
    ],
)
def test_branch_road_addresses_match_their_subject(matcher: Matcher, text: str, subjects: tuple[int, ...]) -> None:
    hits = [h for h in matcher.scan_text(text) if h.id_type == "address"]
    assert [h.subject_ids for h in hits] == [subjects]


def test_the_fast_and_slow_patterns_read_the_whole_road() -> None:
    address = IdentifierRegistry.default().get("address")
    text = "서울특별시 강남구 테헤란로7길 22 / 중앙로"
    assert address.find_all(text.encode()) == ["서울특별시 강남구 테헤란로7길 22".encode()]
    assert address.scan_pattern is not None
    assert [m.group(0) for m in address.scan_pattern.finditer(text)] == ["서울특별시 강남구 테헤란로7길 22"]
