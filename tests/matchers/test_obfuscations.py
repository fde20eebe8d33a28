"""The obfuscation declarations: every class's examples trigger the slow path through its own
triggers, every trigger match holds one of its anchor bytes (the native pre-filter is sound), and
every example is found by the matcher with the class reported."""

from __future__ import annotations

import pytest
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers import deobfuscate
from matchers.deobfuscate import OBFUSCATIONS, TRIGGER_TABLE, Obfuscation, trigger_pattern
from matchers.engine import Matcher
from matchers.model import OBF_MASKED

EXAMPLES = [(o, example) for o in OBFUSCATIONS for example in o.examples]


def _ids(item: tuple[Obfuscation, str]) -> str:
    return f"{item[0].name}:{item[1][:24]}"


@pytest.mark.parametrize("item", EXAMPLES, ids=[_ids(e) for e in EXAMPLES])
def test_example_triggers_its_own_class(item: tuple[Obfuscation, str]) -> None:
    obfuscation, example = item
    own = re2.compile(trigger_pattern([obfuscation]))
    assert own.search(example.encode()) is not None
    assert deobfuscate.trigger_segments(example.encode())


@pytest.mark.parametrize("item", EXAMPLES, ids=[_ids(e) for e in EXAMPLES])
def test_every_trigger_match_holds_an_anchor_byte(item: tuple[Obfuscation, str]) -> None:
    obfuscation, example = item
    bit = 1 << OBFUSCATIONS.index(obfuscation)
    for trigger in obfuscation.triggers:
        for m in re2.compile(trigger).finditer(example.encode()):
            assert any(TRIGGER_TABLE[b] & bit for b in m.group(0)), (trigger, m.group(0))


def test_plain_values_do_not_trigger() -> None:
    plain = b"010-1234-5678,kim@naver.com,900101-1234568,\xea\xb9\x80\xec\xb2\xa0\xec\x88\x98\n" * 3
    assert deobfuscate.trigger_segments(plain) == []


def test_trigger_table_covers_every_class() -> None:
    assert len(TRIGGER_TABLE) == 256
    for i, _ in enumerate(OBFUSCATIONS):
        assert any(entry & (1 << i) for entry in TRIGGER_TABLE)


def test_class_names_are_declared_once() -> None:
    names = [o.name for o in OBFUSCATIONS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("item", EXAMPLES, ids=[_ids(e) for e in EXAMPLES])
def test_example_is_found_with_its_class(matcher: Matcher, item: tuple[Obfuscation, str]) -> None:
    obfuscation, example = item
    hits = matcher.scan_text(example)
    assert hits, example
    assert any(obfuscation.name in h.obfuscation for h in hits)
    if obfuscation.name != OBF_MASKED:
        assert all(h.match_kind == "exact" for h in hits)


def _segments_reference(block: bytes, grouped: bool) -> list[tuple[int, int]]:
    """trigger_segments as one plain sweep of every trigger match from the block's start."""
    segments: dict[int, int] = {}
    line_end = -1
    for m in (deobfuscate._TRIGGER_GROUPED if grouped else deobfuscate._TRIGGER).finditer(block):
        if m.end() <= line_end:
            continue
        start = block.rfind(b"\n", 0, m.start()) + 1
        line_end = block.find(b"\n", m.start())
        line_end = len(block) if line_end < 0 else line_end
        end = block.find(b"\n", m.end() - 1 if not m.group(0).endswith(b"\n") else m.end())
        segments[start] = max(segments.get(start, 0), len(block) if end < 0 else end)
    return sorted(segments.items())


SEGMENT_TOKENS = [
    *(bytes([c]) for c in b"0179 -./_,;|()<>@*xXoOlIS\n\r\t\x00\xff\xea"),
    b"010",
    b"1234",
    "공".encode(),
    "일".encode(),
    "골뱅이".encode(),
    "０".encode(),
    "\u2013".encode(),
    "\u200b".encode(),
    b"<br>",
    b"(at)",
    b"&#45;",
]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(SEGMENT_TOKENS), max_size=60).map(b"".join), st.booleans())
def test_trigger_segments_equal_a_plain_sweep(block: bytes, grouped: bool) -> None:
    """The first search that skips texts without a trigger (most locators) changes no segment."""
    assert deobfuscate.trigger_segments(block, grouped) == _segments_reference(block, grouped)
