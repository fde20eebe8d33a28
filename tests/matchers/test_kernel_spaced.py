"""Spaced phones (010 - 1234 - 5678) read by the kernel exactly as the slow path reads them.

The slow path (matchers/deobfuscate.py: triggers, then loose digit runs in ``extract``) is the oracle:
every spaced phone the kernel reports carries the canonical form, class, column and digest that
``extract`` gives for its line; and end to end, the Matcher (kernel reading, triggers inside what it
read left out) reports the same hits as the reference Matcher (Python passes, the slow path as before)
on tables, random token soups and hostile input.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from matchers import deobfuscate
from matchers.engine import Matcher, MatcherOptions
from matchers.index import ProtectedIndex
from matchers.native import kernel_candidates
from matchers.reference import ReferenceMatcher, reference_candidates
from matchers.registry import IdentifierRegistry
from tests.matchers.test_extraction import ROWS
from tests.matchers.test_kernel import KERNEL, REFERENCE, TOKENS, _hits

REGISTRY = IdentifierRegistry.default()
SLOW = [r for r in REGISTRY.recognizers() if not r.weak and r.scan_pattern is not None]
MASKED = [r for r in REGISTRY.recognizers() if not r.weak and r.masked_pattern is not None]
SEPARATORS = [" - ", " -", "- ", " . ", " .", ". ", " / ", "/ ", " /", "-", ".", " ", "/", ""]
AREAS = ["010", "011", "016", "019", "02", "031", "055", "064", "070", "0505", "0502"]


def spaced_forms() -> list[str]:
    """Every area code with every pair of separators (a spaced one among them, or not)."""
    forms = []
    for area in AREAS:
        mid = "345" if area in ("02", "011", "016", "019") else "4235"
        for a in SEPARATORS:
            for b in SEPARATORS[::3]:
                forms.append(f"{area}{a}{mid}{b}2674")
    return forms


#: Written forms around a spaced phone: field delimiters, quotes, other identifiers, obfuscations.
CONTEXTS = [
    "{}",
    '김태준,{},minnaeun1273@gmail.com,"부산광역시 유성구 테헤란로 200 101동 1925호"',
    "INSERT INTO `members` VALUES (1,'김진서','{}','yu@naver.com','경기도 고양시 마포구 도산대로 254');",
    '{{"id":3,"name":"정지동","tel":"{}","mail":"taeho@naver.com"}}',
    "연락처: {} (문자만)",
    "{}, 010 - 1111 - 2222",
    "1 - {}",
    "{} - 1",
    "+{}",
    "a{}",
    "{}b",
    "{}\u200b",
    "０{}",
    "{} 010-****-5678",
    "{} kim (at) daum (dot) net",
    "{}\n5678",
    "010-1234-\n{}",
    "{}<br>",
    "공일공 {}",
    "{} 010)1234(5678",
    "\t{}\t",
    "({})",
    "_{}_",
    "{}\r\n",
    "\x00{}\x00",
    "\xff{}",
]


Reading = tuple[str, str, int, tuple[str, ...], str]


def kept_lines(block: bytes) -> dict[int, tuple[str, list[tuple[int, bytes]]]]:
    """The lines the slow path no longer takes that hold spaced phones the kernel read: line number ->
    (its text, [(the phone's column, its digest)])."""
    spaced = kernel_candidates(KERNEL, block, spaced=True)
    segments = deobfuscate.trigger_segments(block, read=[(c[1], c[2]) for c in spaced])
    out: dict[int, tuple[str, list[tuple[int, bytes]]]] = {}
    for _, start, end, line, digest in spaced:
        if any(s <= start < e for s, e in segments):
            continue
        assert block.count(b"\n", 0, start) == line
        line_start = block.rfind(b"\n", 0, start) + 1
        line_end = block.find(b"\n", end)
        text = block[line_start : line_end if line_end >= 0 else len(block)].decode("utf-8", "replace")
        column = len(block[line_start:start].decode("utf-8", "replace"))
        out.setdefault(line, (text, []))[1].append((column, digest))
    return out


def slow_reading(text: str) -> list[Reading]:
    """What the slow path's ``extract`` reads on one line."""
    cands = deobfuscate.extract(text, 0, SLOW, MASKED)
    return [(c.rec.id_type, c.canonical, c.start, c.obfuscation, c.extractor) for c in cands]


def untouched(text: str) -> bool:
    """The slow path's normalizers leave the line as it is (no hint of theirs fires without a trigger)."""
    norm = deobfuscate.normalize(text)
    return not any(norm.own) and not any(norm.gap)


def spaced_agrees(block: bytes) -> int:
    """Every spaced phone the kernel reads on a line the slow path no longer takes and would not have
    rewritten: the slow path reads the same value, class, column and digest. The number checked."""
    checked = 0
    for text, phones in kept_lines(block).values():
        if not untouched(text):
            continue  # see test_a_line_is_taken_for_its_own_triggers
        reading = slow_reading(text)
        for column, digest in phones:
            mine = [r for r in reading if r[2] == column]
            assert len(mine) == 1, (text, reading)
            id_type, canonical, _, obfuscation, extractor = mine[0]
            assert (id_type, obfuscation, extractor) == ("phone", ("separators",), "phone.loose")
            assert digest == KERNEL.digest("phone", canonical) == REFERENCE.digest("phone", canonical)
            checked += 1
    return checked


def only_spaced_phones(block: bytes) -> bool:
    """On every line the kernel keeps from the slow path, the slow path would read the spaced phones
    and nothing else (what it would find there only because they triggered the line is not found:
    test_a_line_is_taken_for_its_own_triggers)."""
    for text, phones in kept_lines(block).values():
        if not untouched(text) or sorted(r[2] for r in slow_reading(text)) != sorted(c for c, _ in phones):
            return False
    return True


def same_hits(block: bytes) -> None:
    """A protected set holding every second candidate (fast and spaced): both Matchers report the same
    hits (in another order within a line: the kernel's before the slow path's)."""
    cands = reference_candidates(REGISTRY, REFERENCE, block) + kernel_candidates(KERNEL, block, spaced=True)
    index = ProtectedIndex.from_digests((c[4], i % 5) for i, c in enumerate(cands) if i % 2 == 0)
    native = _hits(Matcher(KERNEL, index, REGISTRY), block)
    reference = _hits(ReferenceMatcher(REFERENCE, index, REGISTRY), block)
    assert sorted(native, key=repr) == sorted(reference, key=repr)  # a line's kernel hits come first


@pytest.mark.parametrize("form", spaced_forms())
def test_every_area_and_separator_pair_agrees(form: str) -> None:
    block = form.encode()
    spaced_agrees(block)
    same_hits(block)


def test_the_dump_form_is_read_natively() -> None:
    """The spaced form of the shared dump's rows is the kernel's: the slow path no longer takes the line."""
    block = '김태준,010 - 4235 - 2674,minnaeun1273@gmail.com,"부산광역시 유성구 테헤란로 200 101동 1925호"'.encode()
    assert spaced_agrees(block) == 1
    assert only_spaced_phones(block)
    spans = [(s, e) for _, s, e, _, _ in kernel_candidates(KERNEL, block, spaced=True)]
    assert deobfuscate.trigger_segments(block) != []
    assert deobfuscate.trigger_segments(block, read=spans) == []


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("form", ["010 - 4235 - 2674", "02 -345- 6789", "0505 . 1234 . 5678", "010 / 4235 / 2674"])
def test_spaced_phones_in_context_agree(context: str, form: str) -> None:
    block = context.format(form).encode("utf-8", "surrogatepass")
    spaced_agrees(block)
    same_hits(block)


def test_extraction_table_rows_with_spaced_phones_agree() -> None:
    block = "\n".join(f"{row[0]} 010 - 4235 - 2674" for row in ROWS).encode("utf-8", "surrogatepass")
    spaced_agrees(block)
    same_hits(block)


SPACED_TOKENS = [*TOKENS, b" - ", b" -", b"- ", b" . ", b" / ", b"010 - 4235 - 2674", b"02 - 345 - 6789", b"0505"]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(SPACED_TOKENS), max_size=60).map(b"".join))
def test_random_token_soup_spaced_reading_agrees(block: bytes) -> None:
    spaced_agrees(block)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(SPACED_TOKENS), max_size=40).map(b"".join))
def test_random_token_soup_gives_the_same_hits(block: bytes) -> None:
    assume(only_spaced_phones(block))
    same_hits(block)


@pytest.mark.parametrize(
    "block",
    [
        b"010 - 4235 - 2674 " * 20_000,  # a dense line of spaced phones
        b"0" * 100_000 + b" - 4235 - 2674",
        b"010 - " * 50_000 + b"4235 - 2674",
        b"010 - 4235 - 2674," + b"z" * (10 << 20) + b",02 - 345 - 6789",  # a 10 MB line
        b"\x00010 - 4235 - 2674\x00\xff02 . 345 . 6789\xc3",
        ("\n".join(["010 - 4235 - 2674"] * 3000)).encode(),
    ],
    ids=["dense", "zeros", "repeated-head", "10MB-line", "nul-invalid-utf8", "many-lines"],
)
def test_hostile_input_agrees(block: bytes) -> None:
    spaced_agrees(block)
    if len(block) < 1 << 20:
        same_hits(block)


def test_without_the_slow_path_spaced_phones_are_not_reported() -> None:
    """MatcherOptions(deobfuscate=False) reports no obfuscated value, the kernel's spaced phones included."""
    block = b"kim,010 - 4235 - 2674,x\n"
    index = ProtectedIndex.from_digests([(KERNEL.digest("phone", "821042352674"), 1)])
    assert [h.obfuscation for h in Matcher(KERNEL, index, REGISTRY).scan_bytes(block)] == [("separators",)]
    off = MatcherOptions(deobfuscate=False)
    assert Matcher(KERNEL, index, REGISTRY, options=off).scan_bytes(block) == []
    assert ReferenceMatcher(REFERENCE, index, REGISTRY, options=off).scan_bytes(block) == []


@pytest.mark.parametrize(
    ("line", "found_before"),
    [
        ("010 - 4235 - 2674\t@hanmail.net", "email"),  # a tab before "@": the e-mail words hint, no trigger
        ("010(1234)5678, 010 - 4235 - 2674", "phone"),  # parentheses inside a number: a loose run, no trigger
    ],
)
def test_a_line_is_taken_for_its_own_triggers(line: str, found_before: str) -> None:
    """What the slow path found on a line only because a spaced phone triggered it is not found any
    more, as on every line without one: the kernel reads the spaced phone, and the line has no trigger
    of its own. (The slow path rewrote the first line into 2674@daum.net and lost the phone.)"""
    block = line.encode()
    assert kernel_candidates(KERNEL, block, spaced=True)
    assert not untouched(line) or len(slow_reading(line)) == 2
    assert found_before in [r[0] for r in slow_reading(line)]
    spans = [(s, e) for _, s, e, _, _ in kernel_candidates(KERNEL, block, spaced=True)]
    assert deobfuscate.trigger_segments(block, read=spans) == []
    index = ProtectedIndex.from_digests((c[4], 1) for c in kernel_candidates(KERNEL, block, spaced=True))
    assert [h.obfuscation for h in Matcher(KERNEL, index, REGISTRY).scan_bytes(block)] == [("separators",)]


def test_a_spaced_phone_at_every_window_edge_is_read_once() -> None:
    """At every offset around the kernel's first 64-byte window edges, with a boundary or a digit
    before it: read once (boundary) or not at all (digit), as the slow path reads it."""
    for k in range(0, 140):
        for lead, read in ((b",", 1), (b"\n", 1), (b"9", 0), (b"a", 0)):
            block = b"x" * k + lead + b"010 - 4235 - 2674" + b"," * (k % 3)
            assert len(kernel_candidates(KERNEL, block, spaced=True)) == read, block
            assert spaced_agrees(block) == read
