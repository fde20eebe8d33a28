"""The kernel's address pass (matchers/kernel/address.c) against the Python one: the same matches as
RE2 finds with address.FAST (spans, lines), and for those it canonicalizes itself the canonical form
canonical_address gives (as written, or with commas and spacing folded) and the reference digest;
everything else is left to the parser."""

from __future__ import annotations

import hmac

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchers.engine import Matcher
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher, message_header
from matchers.native import ADDR_PARSE, ADDR_SPACED, address_candidates
from matchers.reference import ReferenceHasher, ReferenceMatcher
from matchers.registry import IdentifierRegistry
from matchers.types.address import _FIXPOINT, _STARTS, canonical_address
from tests.matchers.conftest import TEST_KEY
from tests.matchers.test_address_fast import address
from tests.matchers.test_extraction import ROWS

REGISTRY = IdentifierRegistry.default()
ADDRESS = REGISTRY.get("address")
KERNEL = KeyedHasher(TEST_KEY)
REFERENCE = ReferenceHasher(TEST_KEY)


def same_addresses(block: bytes) -> list[tuple[int, int, int, int, bytes]]:
    got = address_candidates(KERNEL, block)
    assert [(s, e) for s, e, *_ in got] == [m.span() for m in ADDRESS._compiled().finditer(block)]
    for start, end, line, flags, digest in got:
        assert line == block.count(b"\n", 0, start)
        raw = block[start:end].decode("utf-8", "replace")
        spaced = " ".join(raw.replace(",", " ").split())
        if flags == ADDR_PARSE:
            assert _FIXPOINT.fullmatch(raw) is None
            assert _FIXPOINT.fullmatch(spaced) is None
            continue
        canonical = spaced if flags == ADDR_SPACED else raw
        assert flags in (0, ADDR_SPACED)
        assert (flags == 0) == (_FIXPOINT.fullmatch(raw) is not None)
        assert canonical == canonical_address(raw)
        assert digest == hmac.digest(TEST_KEY, message_header("address") + canonical.encode(), "sha256")
    return got


PIECES = [*_STARTS, "특별시", "강남구", "분당구", "성남시", "테헤란로", "판교역로", "7길", "123번길", "길", "로", "동"]
PIECES += [
    "리",
    "가",
    "산",
    "산 ",
    "지하",
    "지하 ",
    "제",
    "제 ",
    "층",
    "호",
    "번",
    " ",
    "  ",
    ",",
    ", ",
    "-",
    "1",
    "12",
]
PIECES += ["123", "1001", "101-1001", "12345", "0", "9", "\n", "(역삼동)", "\xa0", "\ud7b0", "a", "김"]


@pytest.mark.parametrize("text", [row[0] for row in ROWS])
def test_table_rows_agree(text: str) -> None:
    same_addresses(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_random_address_pieces_agree(pieces: list[str]) -> None:
    same_addresses("".join(pieces).encode("utf-8", "surrogatepass"))


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.one_of(address, st.sampled_from(PIECES)), max_size=6))
def test_generated_addresses_agree(parts: list[str]) -> None:
    same_addresses("".join(parts).encode())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([p.encode() for p in PIECES] + [b"\xff", b"\xed", b"\xea\xb0", b"\xec\x82"]), max_size=40)
)
def test_invalid_utf8_agrees(pieces: list[bytes]) -> None:
    same_addresses(b"".join(pieces))


@pytest.mark.parametrize(
    "block",
    [
        ("서울" + " " * 100_000).encode(),
        ("서울특별시 강남구 테헤란로 1" + "0" * 100_000 + "동").encode(),
        ("서울특별시 강남구 테헤란로 1" + " 101동" * 20_000).encode(),
        ("서울 " * 100_000).encode(),
        ("서울특별시 " + "가" * 100_000).encode(),
    ],
    ids=["spaces", "digits", "units", "provinces", "syllables"],
)
def test_hostile_input_agrees(block: bytes) -> None:
    same_addresses(block)


def _hits(matcher: Matcher, block: bytes) -> list[tuple[object, ...]]:
    return [
        (h.id_type, h.line, h.match_kind, h.form, h.subject_ids, h.digest, h.extra) for h in matcher.scan_bytes(block)
    ]


def test_an_address_inside_an_unindexed_match_is_reported_on_its_own_line() -> None:
    """The address pass located a hit by searching for its raw text from the previous hit on: the same
    text inside an earlier, unindexed match (서울 서울특별시 ...) put the hit on that line."""
    protected = "서울특별시 강남구 테헤란로 1"
    digest = KERNEL.digest("address", protected)
    index = ProtectedIndex.from_digests([(digest, 1), (KERNEL.digest("phone", "821012345678"), 1)])
    block = f"서울 {protected}\n010-1234-5678 {protected}\n".encode()
    hits = Matcher(KERNEL, index, REGISTRY).scan_bytes(block)
    assert sorted((h.id_type, h.line) for h in hits) == [("address", 1), ("phone", 1)]
    assert _hits(Matcher(KERNEL, index, REGISTRY), block) == _hits(ReferenceMatcher(REFERENCE, index, REGISTRY), block)
