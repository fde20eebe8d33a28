"""The engine's shortcuts on the per-hit path report what the general code reports: the kernel's
plainly written mobile numbers canonicalized in a batch (``Matcher._plain_phones``) against
``PhoneRecognizer.canonicalize`` one by one, on every writing of a phone number."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.engine import LineIndex, Located, Matcher
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.model import Found
from matchers.native import email_aliases, kernel_candidates
from matchers.registry import IdentifierRegistry
from tests.matchers.conftest import TEST_KEY

REGISTRY = IdentifierRegistry.default()
HASHER = KeyedHasher(TEST_KEY)

#: Pieces of phone numbers: area codes, dial prefixes, separators, digit groups, boundaries.
PIECES = [
    "010",
    "011",
    "016",
    "019",
    "012",
    "02",
    "031",
    "070",
    "0505",
    "10",
    "82",
    "+82 ",
    "0082-",
    "(0)",
    "(010)",
    "1234",
    "123",
    "5678",
    "4567",
    "9",
    "-",
    ".",
    " ",
    "/",
    " - ",
    "\n",
    ",",
    "x",
    "전화",
]
WRITINGS = [
    "010-1234-5678",
    "010.1234.5678",
    "010 1234 5678",
    "01012345678",
    "010-123-4567",
    "0101234567",
    "011-234-5678",
    "016-1234-5678",
    "019.234.5678",
    "010-1234.5678",
    "010/1234/5678",
    "(010) 1234-5678",
    "(010)1234-5678",
    "+82 10-1234-5678",
    "+82-10-1234-5678",
    "82-10-1234-5678",
    "0082-10-1234-5678",
    "1012345678",
    "02-345-6789",
    "031-123-4567",
    "070-1234-5678",
    "0505-123-4567",
    "010-12345-678",
    "010-1234-56789",
    "0101234-5678",
]


def _matcher() -> Matcher:
    return Matcher(HASHER, ProtectedIndex.from_digests([]), REGISTRY)


def _found(block: bytes, plain: bool) -> list[Found]:
    """Every phone the kernel finds in ``block``, indexed or not, as ``_found_fast`` reports it."""
    matcher = _matcher()
    assert matcher._plain_phone is not None  # the built-in phone recognizer: the shortcut is on
    if not plain:
        matcher._plain_phone = None
    rec = matcher._kernel_recs[0]
    located: list[Located] = [
        (rec, start, end, line, digest, (1,), None)
        for id_type, start, end, line, digest in kernel_candidates(HASHER, block, email_aliases(REGISTRY))
        if id_type == "phone"
    ]
    return matcher._found_fast(block, LineIndex(block), located)


def _same(block: bytes) -> list[Found]:
    fast = _found(block, plain=True)
    assert fast == _found(block, plain=False)
    return fast


def test_every_writing_is_what_canonicalize_reports() -> None:
    block = "\n".join(f"{w}, 메모 {w} 끝" for w in WRITINGS).encode()
    found = _same(block)
    assert len(found) >= 2 * len(WRITINGS) - 4  # (a few writings are no phone at all)
    assert {f.obfuscation for f in found} >= {(), ("international",), ("separators",), ("excel_leading_zero",)}


@pytest.mark.parametrize("writing", WRITINGS)
def test_a_block_of_one_writing_and_mixed_in_a_plain_block(writing: str) -> None:
    _same(((writing + "\n") * 3).encode())
    _same(("010-1111-2222\n" * 3 + writing + "\n").encode())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=40))
def test_random_phone_soup_is_what_canonicalize_reports(pieces: list[str]) -> None:
    _same("".join(pieces).encode())
