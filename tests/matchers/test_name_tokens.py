"""NameRecognizer.record_tokens reads names off the Hangul runs of a record; the regular expressions
it stands for (name.py _SPACED, _TOKENS, MASKED, _ZERO_WIDTH) stay the definition, and the reading
written directly with them here is the oracle."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.registry import IdentifierRegistry
from matchers.types.name import _SPACED, _TOKENS, _ZERO_WIDTH, MASKED, NameRecognizer

NAME = IdentifierRegistry.default().get("name")
ALPHABET = ["김", "민", "수", "서", "님", "씨", "고객", "가", "힣", " ", " ", "  ", "a", "Bo", "kim", "Lee", "x", "*"]
ALPHABET += ["O", "ㅇ", ",", "\t", "1", "-", "\u200b", "\u00ad", "\u3000", "가나다라마바사아", "@", "\n"]


def oracle(text: str, partial: bool) -> list[tuple[str, str, int]]:
    def tokens(text: str, partial: bool) -> list[tuple[str, str, int]]:
        out: list[tuple[str, str, int]] = []
        for m in _TOKENS.finditer(text):
            token, start = m.group(0), m.start()
            if m.group(1) is None:
                out.append((" ".join(token.casefold().split()), "full", start))
                continue
            out.append((token, "full", start))
            if token.endswith(("님", "씨", "고객님", "고객")):
                out.extend((c, "full", start) for c in NameRecognizer().candidates(token)[1:])
        if partial:
            for m in MASKED.finditer(text):
                part = NAME.masked(m.group(0))
                if part is not None:
                    out.append((part[1], part[0], m.start()))
        return out

    out: list[tuple[str, str, int]] = []
    if _ZERO_WIDTH.search(text):
        out += tokens(_ZERO_WIDTH.sub("", text), False)
    for m in _SPACED.finditer(text):
        joined = m.group(0).replace(" ", "")
        if 2 <= len(joined) <= 5:
            out.append((joined, "full", m.start()))
    return out + tokens(text, partial)


CASES = [
    "김 민 수 서 가 나 다",  # seven single syllables: five, then two
    "김 민 수 서 가 나",
    "김 민 수 서 가",
    "김 민 수서",  # the chain stops before a longer run
    "김 민수",
    "남궁 민수",
    "김민 수서가",
    "가나 다라마바",
    "김 민  수",  # two spaces break the chain
    "김*수 김철수님 kim chul soo Lee Y",
    "서울특별시 강남구 테헤란로1길 1, 김민서, user0@example.com",
]


def test_record_tokens_equal_the_regular_expressions_on_cases() -> None:
    for text in CASES:
        for partial in (False, True):
            assert NAME.record_tokens(text, partial=partial) == oracle(text, partial), text


def test_record_tokens_equal_the_regular_expressions_on_random_records() -> None:
    rng = random.Random(12)
    spaced = 0
    for _ in range(30_000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 14)))
        partial = rng.random() < 0.5
        got = NAME.record_tokens(text, partial=partial)
        assert got == oracle(text, partial), text
        spaced += any(" " in text[s : s + len(c) + 4] and len(c) <= 5 for c, _, s in got)
    assert spaced > 1000


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=20), st.booleans())
def test_record_tokens_equal_the_regular_expressions(pieces: list[str], partial: bool) -> None:
    text = "".join(pieces)
    assert NAME.record_tokens(text, partial=partial) == oracle(text, partial)
