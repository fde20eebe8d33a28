"""The kernel's weak tokens (matchers/kernel/weak.c: names, masked names, birth dates) against the
Python recognizers (NameRecognizer.record_tokens / masked_tokens, the birth date's SCAN and
parse_date): the same canonical forms, forms and character offsets in the same order, and the digests
the reference HMAC gives, on tables, random records, hostile bytes and every line of a block."""

from __future__ import annotations

import hmac

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchers.engine import Matcher
from matchers.keyed_hash import KeyedHasher, message_header
from matchers.native import READ_BIRTH, READ_MASKED, READ_NAMES, weak_candidates
from matchers.reference import ReferenceHasher, ReferenceMatcher
from matchers.registry import IdentifierRegistry
from tests.matchers import mixed_corpus
from tests.matchers.conftest import TEST_KEY
from tests.matchers.test_extraction import ROWS
from tests.matchers.test_name_tokens import ALPHABET, CASES

REGISTRY = IdentifierRegistry.default()
NAME = REGISTRY.get("name")
BIRTH = REGISTRY.get("birthdate")
KERNEL = KeyedHasher(TEST_KEY)
EVERY = READ_NAMES | READ_MASKED | READ_BIRTH

DATES = ["1990-01-02", "1990.1.2", "1990/01/02", "19900102", "1990년 1월 2일", "1990년1월2일", "90.01.02", "2000-02-29"]
DATES += ["1900-02-29", "2023-02-29", "1999-13-01", "1999-12-32", "20231231", "2023-00-10", "19901302", "29.02.29"]
DATES += [
    "1990년 1월 2",
    "1990 년 1월",
    "1990-01-021",
    "11990-01-02",
    "1990-1-2일1",
    "05.05.05",
    "30-01-01",
    "2024.2.30",
]
ALPHABET_DATES = [*ALPHABET, "19", "20", "90", "1", "0", "3", "-", ".", "/", "년", "월", "일", " ", "년 ", "12", "31"]


def python_tokens(text: str, what: int) -> list[tuple[str, str, str, int]]:
    """(domain, form, canonical, start) of the Python recognizers, in the kernel's order per record."""
    out: list[tuple[str, str, str, int]] = []
    if what & READ_NAMES:
        out += [("name", form, c, s) for c, form, s in NAME.record_tokens(text, partial=False)]
    if what & READ_MASKED:
        out += [("name", form, c, s) for c, form, s in NAME.masked_tokens(text)]
    if what & READ_BIRTH:
        out += [("birthdate", form, c, s) for c, form, s in BIRTH.record_tokens(text, partial=False)]
    return out


def same_tokens(block: bytes, what: int = EVERY) -> None:
    """Whole block as one record, and each of its lines as a record: the kernel reads what Python reads."""
    got = weak_candidates(KERNEL, block, None, what)
    text = block.decode("utf-8", "replace")
    assert [g[1:5] for g in got] == python_tokens(text, what), text
    for _, domain, form, canonical, _, digest in got:
        want = hmac.digest(TEST_KEY, message_header(domain, form) + canonical.encode(), "sha256")
        assert digest == want
    lines = block.split(b"\n")
    every = list(range(len(lines)))
    got = weak_candidates(KERNEL, block, every, what)
    want = [
        (k, *t)
        for k, line in enumerate(lines)
        for t in python_tokens(line.decode("utf-8", "replace").rstrip("\r"), what)
    ]
    assert [g[:5] for g in got] == want
    some = every[1::2]
    got = weak_candidates(KERNEL, block, some, what)
    assert [(some[g[0]], *g[1:5]) for g in got] == [w for w in want if w[0] in set(some)]


@pytest.mark.parametrize("text", CASES + DATES + [row[0] for row in ROWS])
def test_table_records_agree(text: str) -> None:
    same_tokens(text.encode("utf-8", "surrogatepass"))
    for what in (READ_NAMES, READ_MASKED, READ_BIRTH):
        same_tokens(text.encode("utf-8", "surrogatepass"), what)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([*ALPHABET_DATES, "\r", "\n", "\r\n", "\ufeff", "\u2060", "\xad"]), max_size=40))
def test_random_records_agree(pieces: list[str]) -> None:
    same_tokens("".join(pieces).encode())


NAME_MASKS = ["김", "이", "수", "*", "＊", "x", "X", "●", "○", "◯", "ㅇ", "O", " ", "민", "가나"]


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(NAME_MASKS), max_size=14))
def test_random_masks_agree(pieces: list[str]) -> None:
    same_tokens("".join(pieces).encode(), READ_MASKED)


LATIN = ["ab", "Kim", "CHUL", "soo", "a", "Z", " ", "  ", "-", "'", "김", "1", "é", "\t", "Lee Y"]


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(LATIN), max_size=16))
def test_random_romanized_names_agree(pieces: list[str]) -> None:
    same_tokens("".join(pieces).encode(), READ_NAMES)


HOSTILE = [b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xe0\x80", b"\xea\xb0", b"\xf0\x90\x80", b"\xf4\x90", b"\x00"]


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from([p.encode() for p in ALPHABET_DATES] + HOSTILE), max_size=40))
def test_invalid_utf8_agrees(pieces: list[bytes]) -> None:
    """Offsets count characters as Python decodes them (one U+FFFD per maximal invalid subpart)."""
    same_tokens(b"".join(pieces))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_agree(block: bytes) -> None:
    same_tokens(block)


@pytest.mark.parametrize(
    "block",
    [
        "김민수".encode() * 200_000,  # one long Hangul run
        ("김 " * 100_000).encode(),  # spaced syllables
        b"ab " * 100_000,  # romanized words
        b"a" * 1_000_000 + b" bb",  # one long word
        ("김" + "*" * 100_000).encode(),
        b"1990-01-02" * 50_000,
        "\u200b".encode() * 100_000 + "김철수".encode(),
        b"\n" * 100_000,
    ],
    ids=["run", "spaced", "words", "long-word", "masks", "dates", "zero-width", "newlines"],
)
def test_hostile_records_agree(block: bytes) -> None:
    got = weak_candidates(KERNEL, block, None, EVERY)
    assert [g[1:5] for g in got] == python_tokens(block.decode("utf-8", "replace"), EVERY)


def test_lines_past_the_block_or_not_increasing() -> None:
    block = "김철수\n이영희\r\r\n".encode()
    assert [g[0] for g in weak_candidates(KERNEL, block, [0, 1, 2, 9], READ_NAMES)] == [0, 1]
    assert weak_candidates(KERNEL, block, [5], READ_NAMES) == []
    with pytest.raises(ValueError, match="increasing"):
        weak_candidates(KERNEL, block, [1, 0], READ_NAMES)


# ---------------------------------------------------------------- hits: the kernel's readers against the Python ones

_GENERATED = mixed_corpus.people(40)
_MATCHERS: dict[tuple[str, tuple[tuple[str, object], ...]], tuple[Matcher, Matcher]] = {}


def _pair(registry_name: str, options: dict[str, object]) -> tuple[Matcher, Matcher]:
    key = (registry_name, tuple(sorted(options.items())))
    if key not in _MATCHERS:
        registry = mixed_corpus.custom_registry() if registry_name == "custom" else IdentifierRegistry.default()
        native = mixed_corpus.build_matcher(registry, _GENERATED, **options)
        reference = ReferenceMatcher(ReferenceHasher(TEST_KEY), native.index, registry, options=native.options)
        _MATCHERS[key] = (native, reference)
    return _MATCHERS[key]


def _scan(matcher: Matcher, data: bytes, case: mixed_corpus.Case) -> list[str]:
    hits = matcher.scan_bytes(data, columns=case.columns, delimiter=case.delimiter, record_scope=case.scope)
    return [mixed_corpus.render(h) for h in hits]


@pytest.mark.parametrize("name", sorted(c.name for c in mixed_corpus.cases()))
def test_the_mixed_corpus_gives_the_reference_hits(name: str) -> None:
    """Every golden case (names in every written form, masks, zero-width characters, dates, addresses,
    whole-text records, CRLF, broken bytes) against the reference matcher: names, birth dates and
    addresses read by Python there."""
    case = next(c for c in mixed_corpus.cases() if c.name == name)
    native, reference = _pair(case.registry, case.options)
    data = case.text if isinstance(case.text, bytes) else case.text.encode("utf-8", "surrogatepass")
    got = _scan(native, data, case)
    assert got
    assert got == _scan(reference, data, case)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**9), st.sampled_from([",", "\t", " "]), st.sampled_from(["line", "all"]))
def test_random_dumps_give_the_reference_hits(seed: int, delimiter: str, scope: str) -> None:
    native, reference = _pair("default", {})
    text = "\r\n".join(mixed_corpus.dump_lines(_GENERATED, 12, seed, delimiter))
    case = mixed_corpus.Case("random", text, scope=scope)
    data = text.encode()
    assert _scan(native, data, case) == _scan(reference, data, case)
