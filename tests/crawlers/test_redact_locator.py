"""``redact_locator`` (a cached prefix plus the line number) equals ``redact`` of the whole locator."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers.redact import redact, redact_locator

#: Characters that make identifier-shaped spans, obfuscation triggers and the locator syntax.
_ALPHABET = "0123456789 -.()@+_:!#/[]lLoOIiwnrwe공일이삼사오육칠팔구영０１２３*xX\u200b\t,"
_PREFIXES = st.text(alphabet=_ALPHABET, max_size=40)
_NUMBERS = st.integers(min_value=1, max_value=9_999_999_999)


@settings(max_examples=800, deadline=None)
@given(where=_PREFIXES, unit=st.sampled_from(["line", "row"]), number=_NUMBERS)
def test_a_cached_prefix_redacts_like_the_whole_locator(where: str, unit: str, number: int) -> None:
    locator = f"{where}:{unit} {number}"
    assert redact_locator(locator) == redact(locator)
    assert redact_locator(locator) == redact(locator)  # second call: from the cache


@pytest.mark.parametrize(
    ("locator", "expected"),
    [
        ("dump.csv:line 123", "dump.csv:line 123"),
        ("victim_010-2718-2818/users.csv:row 20240101", "victim_[redacted]/users.csv:row 20240101"),
        ("공일공 일이삼사 오육칠팔.csv:row 1234567", "[redacted].csv:row 1234567"),
        ("a.sql#members:row 12345678", "a.sql#members:row 12345678"),
        ("users.json#[20240101]", redact("users.json#[20240101]")),  # not numbered: the rule itself
        ("s.zip!kim@naver.com.txt", "s.zip![redacted]"),
    ],
)
def test_known_locators(locator: str, expected: str) -> None:
    assert redact_locator(locator) == expected
