"""Addresses already in their canonical shape skip canonical_address (matchers/types/address.py
_CANONICAL_SHAPE): on every written form, the fast reading equals canonical_address, the reference."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.types.address import _CANONICAL_SHAPE, PROVINCES, AddressRecognizer, canonical_address
from tests.matchers.test_extraction import ROWS

REC = AddressRecognizer()
REGIONS = ["강남구", "성남시", "분당구", "수원시", "팔달구", "기장군", "중구", "특별시", "광역시", "시", "용인시"]
ROADS = ["테헤란로", "세종대로", "중부대로", "청로", "1로", "로12로", "강남대로123", "구시장길", "판교역로"]
ROADS += ["지하로", "읍내길", "구청로"]
NUMBERS = ["1", "123", "4000", "12345", "12-3", "200-12345", "지하", "산12", "0", "3번지"]
UNITS = ["", " 101동", " 101동 1001호", ", 29층", ",29층", " 1001호", " 10001호", " 제101동 제1001호"]
UNITS += [" 101-1001", " 1층 2호"]
PROVINCE_NAMES = [*PROVINCES, "광주"]


def fast(raw: str) -> str | None:
    found = REC.fast_canonicals([raw.encode()])[0]
    return None if found is None else found.decode()


def agrees(raw: str) -> bool:
    """Fast and reference readings are equal; whether the fast shape was taken."""
    assert fast(raw) == canonical_address(raw), raw
    return _CANONICAL_SHAPE.fullmatch(raw) is not None


address = st.builds(
    lambda p, rs, road, sep, number, units: f"{p}{''.join(' ' + r for r in rs)} {road}{sep}{number}{units}",
    st.sampled_from(PROVINCE_NAMES),
    st.lists(st.sampled_from(REGIONS), max_size=3),
    st.sampled_from(ROADS),
    st.sampled_from([" ", "", "  ", ", "]),
    st.sampled_from(NUMBERS),
    st.sampled_from(UNITS),
)


@settings(max_examples=1500, deadline=None)
@given(address)
def test_generated_addresses_agree(raw: str) -> None:
    agrees(raw)


def test_the_dump_forms_take_the_fast_shape_and_agree() -> None:
    """The shared dump's forms (province, 구, road, number, optional units) are read without the walk."""
    forms = [
        "부산광역시 유성구 테헤란로 200 101동 1925호",
        "경기도 성남시 중구 판교역로 156, 29층",
        "제주특별자치도 제주시 송파구 세종대로 258, 1층",
        "대전광역시 수성구 중앙대로 216",
        "서울특별시 강남구 테헤란로 123 101동 1001호",
        "광주광역시 광산구 월드컵북로 7-2,3층",
        "부산광역시 기장군 해운대로 12 1층 2호",
    ]
    assert all(agrees(f) for f in forms)


def test_forms_outside_the_shape_take_canonical_address() -> None:
    """Aliases, glued tokens, postal codes, references, 시 last, 세종 without a region: the reference walk."""
    forms = [
        "서울 강남구 테헤란로 123, 101동 1001호",
        "(06236) 서울시 강남구 테헤란로123, 101동 1001호 (역삼동)",
        "서울특별시 강남구 테헤란로 123  101동  1001호",
        "경기도 수원시 팔달구중부대로 12",
        "경기도 성남시 판교역로 156",
        "세종특별자치시 한누리대로 2130",
        "서울특별시 강남구 테헤란로 12345",
        "서울특별시 강남구 테헤란로 123, 101-1001",
        "서울 특별시 강남구 테헤란로 123",
    ]
    assert not any(agrees(f) for f in forms)


def test_extraction_table_texts_agree() -> None:
    for row in ROWS:
        for m in REC.scan_pattern.finditer(row[0]) if REC.scan_pattern is not None else ():
            agrees(m.group(0))


def test_a_batch_keeps_its_order_and_its_invalid_items() -> None:
    raws = ["서울특별시 강남구 테헤란로 123", "서울특별시 테헤란로", "서울 강남구 테헤란로 1, 2층"]
    expected = ["서울특별시 강남구 테헤란로 123".encode(), None, "서울특별시 강남구 테헤란로 1 2층".encode()]
    assert REC.fast_canonicals([r.encode() for r in raws]) == expected
