"""canonical_address returns an address already in canonical form unchanged without parsing it
(matchers/types/address.py ``_FIXPOINT``): on every string the shortcut takes, the full parser
gives back the same string, and everywhere else the two agree trivially.

Why the shortcut's shape is a fixed point of the parser, part by part: the province is a canonical
name (no alias to fold, and no canonical name plus a 특별시/도 tail is a province, so nothing is
joined); each region is a [가-힣]+(시|군|구) token (the parser's region loop takes it as it is) and
the last is a 구 or 군, so the road is never split as a glued region; the road ends in 로/길 (never a
region, a town, or a road with a number glued on); the number and units are what the parser copies;
single spaces, no comma, no parenthesis and no 5-digit run (a postal code) leave nothing to strip.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.types.address import _FIXPOINT, _PROVINCE_TAIL, PROVINCES, _canonical_address, canonical_address

TOKENS = [
    *PROVINCES,
    "광주",
    "특별시",
    "광역시",
    "도",
    "시",
    "강남구",
    "성남시",
    "분당구",
    "수원시",
    "중구",
    "동구",
    "강화군",
    "기장군",
    "구",
    "군",
    "강남",
    "성남",
    "삼성동",
    "역삼동",
    "읍내면",
    "테헤란로",
    "테헤란로1길",
    "테헤란로12345길",
    "중앙로123번길",
    "세종대로",
    "구로동로",
    "시흥대로",
    "강남구테헤란로",
    "로",
    "길",
    "1길",
    "지하",
    "산",
    "1",
    "12",
    "123",
    "1234",
    "12345",
    "0",
    "12-3",
    "산12",
    "123번지",
    "101동",
    "1001호",
    "3층",
    "제101동",
    "101-1001",
    "06236",
    "(역삼동)",
    ",",
    "123,",
]


def test_no_canonical_province_takes_a_tail() -> None:
    for canonical in set(PROVINCES.values()):
        assert PROVINCES[canonical] == canonical
        assert all(canonical + tail not in PROVINCES for tail in _PROVINCE_TAIL)


REGIONS = ["강남구", "성남시", "분당구", "수원시", "중구", "강화군", "특별시", "광역시", "시흥시", "구로구", "군위군"]
ROADS = [
    "테헤란로",
    "남구청앞로",
    "강남구청역로",
    "테헤란로1길",
    "테헤란로12345길",
    "중앙로123번길",
    "구로동로",
    "시흥대로",
    "군자로",
    "로",
    "1길",
]
NUMBERS = ["1", "12", "123", "1234", "12345", "0", "12-3", "12-0", "산12", "123번지", "지하", "1-1234"]
UNITS = ["101동", "1001호", "3층", "제101동", "101-1001", "0호", "12345호", "(역삼동)", ","]


def shaped(rng: random.Random) -> str:
    """An address of the shortcut's shape, often with one part swapped for a near miss."""
    tokens = [rng.choice(sorted(set(PROVINCES.values())))]
    tokens += [rng.choice(REGIONS) for _ in range(rng.randint(0, 3))]
    tokens += [rng.choice(ROADS), rng.choice(NUMBERS)]
    tokens += [rng.choice(UNITS) for _ in range(rng.randint(0, 2))]
    if rng.random() < 0.5:
        tokens[rng.randrange(len(tokens))] = rng.choice(TOKENS)
    return rng.choice([" "] * 8 + ["  ", ""]).join(tokens)


def test_the_shortcut_gives_what_the_parser_gives_on_random_token_strings() -> None:
    rng = random.Random(11)
    taken = 0
    for _ in range(40_000):
        if rng.random() < 0.5:
            text = shaped(rng)
        else:
            text = rng.choice([" ", "  ", ""]).join(rng.choice(TOKENS) for _ in range(rng.randint(2, 8)))
        taken += bool(_FIXPOINT.fullmatch(text))
        assert canonical_address(text) == _canonical_address(text), text
    assert taken > 300  # the shortcut was exercised


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=2, max_size=9), st.sampled_from([" ", "  ", ""]))
def test_the_shortcut_gives_what_the_parser_gives(tokens: list[str], space: str) -> None:
    text = space.join(tokens)
    assert canonical_address(text) == _canonical_address(text)
