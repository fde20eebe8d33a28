"""Addresses in canonical form but for commas and spacing (판교역로 156, 29층: 40 % of the shared dump's
addresses) are read by canonical_address without the parser, and give what the parser gives.

Why: the parser (``_canonical_address``) first strips postal codes (5-digit runs, a leading 123-456)
and parenthesized references, replaces commas by spaces and splits on whitespace. When the tokens
joined by single spaces fullmatch ``_FIXPOINT`` there is no 5-digit run, no parenthesis and no
leading digit in the raw text either (commas and whitespace are all it adds), so the parser reads the
very same tokens, and on those tokens it returns their single-spaced join (the fixpoint,
tests/matchers/test_address_fixpoint.py).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.types.address import _FIXPOINT, PROVINCES, AddressRecognizer, _canonical_address, canonical_address
from tests.matchers.test_extraction import ROWS

REGIONS = ["강남구", "성남시", "분당구", "수원시", "팔달구", "기장군", "중구", "특별시", "광역시", "시", "용인시"]
ROADS = ["테헤란로", "세종대로", "중부대로", "청로", "1로", "로12로", "강남대로123", "구시장길", "판교역로"]
ROADS += ["지하로", "읍내길", "구청로", "테헤란로7길", "중앙로123번길"]
NUMBERS = ["1", "123", "4000", "12345", "12-3", "200-12345", "지하", "산12", "0", "3번지", "(역삼동)"]
SEPARATORS = [" ", "  ", ", ", ",", " ,", " , ", "\t", "\u3000", "\u2000", "\xa0", ",,", ""]
UNITS = ["101동", "1001호", "29층", "10001호", "제101동", "101-1001", "(역삼동)", "12345"]
PROVINCE_NAMES = [*PROVINCES, "광주", "(06236) 서울특별시"]


def spaced_variant(raw: str) -> bool:
    """canonical_address equals the parser; whether the spacing shortcut (not the plain one) was taken."""
    assert canonical_address(raw) == _canonical_address(raw), raw
    return not _FIXPOINT.fullmatch(raw) and _FIXPOINT.fullmatch(" ".join(raw.replace(",", " ").split())) is not None


sep = st.sampled_from(SEPARATORS)
address = st.builds(
    lambda lead, p, rs, road, number, units, tail: (
        f"{lead}{p}{''.join(s + r for s, r in rs)}{road[0]}{road[1]}{number[0]}{number[1]}"
        + "".join(s + u for s, u in units)
        + tail
    ),
    st.sampled_from(["", " ", ","]),
    st.sampled_from(PROVINCE_NAMES),
    st.lists(st.tuples(sep, st.sampled_from(REGIONS)), max_size=3),
    st.tuples(sep, st.sampled_from(ROADS)),
    st.tuples(sep, st.sampled_from(NUMBERS)),
    st.lists(st.tuples(sep, st.sampled_from(UNITS)), max_size=3),
    st.sampled_from(["", " ", ",", " (역삼동)"]),
)


@settings(max_examples=3000, deadline=None)
@given(address)
def test_generated_addresses_agree_with_the_parser(raw: str) -> None:
    spaced_variant(raw)


def test_the_dump_forms_with_commas_take_the_shortcut() -> None:
    forms = [
        "경기도 성남시 중구 판교역로 156, 29층",
        "제주특별자치도 제주시 송파구 세종대로 258,1층",
        "서울특별시 강남구 테헤란로 123 , 101동  1001호",
        "광주광역시 광산구 월드컵북로 7-2,\t3층",
        "부산광역시 기장군 테헤란로7길 22, 1층, 2호",
    ]
    assert all(spaced_variant(f) for f in forms)


def test_forms_the_parser_changes_more_do_not() -> None:
    """Aliases, postal codes, references, glued or 5-digit numbers: the parser, as before."""
    forms = [
        "서울 강남구 테헤란로 123, 101동 1001호",
        "(06236) 서울특별시 강남구 테헤란로 123, 101동 1001호",
        "서울특별시 강남구 테헤란로 123, 101동 1001호 (역삼동)",
        "서울특별시 강남구 테헤란로123, 101동",
        "서울특별시 강남구 테헤란로 12345, 1층",
        "서울특별시 강남구 테헤란로 123, 101-1001",
        "경기도 성남시, 판교역로 156, 29층",
    ]
    assert not any(spaced_variant(f) for f in forms)


def test_extraction_table_addresses_agree() -> None:
    rec = AddressRecognizer()
    for row in ROWS:
        for m in rec.scan_pattern.finditer(row[0]) if rec.scan_pattern is not None else ():
            spaced_variant(m.group(0))
