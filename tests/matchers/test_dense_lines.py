"""Issue 15 item 7: one dense line of hits costs memory in proportion to the line, not hits x line."""

from __future__ import annotations

import random
import tracemalloc

from matchers.engine import LineIndex, Matcher
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.protect import protected_forms
from matchers.registry import IdentifierRegistry

KEY = b"leakmon-test-key-dense-line-0001"


def test_a_line_of_thousands_of_hits_is_decoded_once() -> None:
    registry = IdentifierRegistry.default()
    hasher = KeyedHasher(KEY)
    pairs = [(hasher.digest("phone", c, f), 3) for f, c in protected_forms("phone", "010-1234-5678", registry)]
    matcher = Matcher(hasher, ProtectedIndex.from_digests(pairs), registry)
    line = "010-1234-5678," * 4096  # 56 KiB, 4096 hits of one subject on one line
    tracemalloc.start()
    try:
        hits = matcher.scan_text(line + "\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [h.subject_ids for h in hits] == [(3,)]
    # A decoded copy of the line per hit was 4096 x 56 KiB (230 MB); one shared copy stays far below this.
    assert peak < 200 * len(line)


def test_text_at_gives_the_same_line_and_column_as_decoding_each_prefix() -> None:
    rng = random.Random(15)
    pieces = [b"a", b"\xea\xb0\x80", b"\n", b"\r\n", b"\xff", b"\xe0\x80", b",", b"\xf0\x9f\x98\x80"]
    block = b"".join(rng.choice(pieces) for _ in range(3000))
    lines = LineIndex(block)
    positions = list(range(len(block)))
    rng.shuffle(positions)
    for pos in sorted(positions[:800]) + positions[800:1600]:  # ascending first, then any order
        if block[pos : pos + 1] in (b"\n",):
            continue
        line_start = block.rfind(b"\n", 0, pos) + 1
        line_end = block.find(b"\n", pos)
        expected_text = block[line_start : line_end if line_end >= 0 else len(block)].decode("utf-8", "replace")
        expected_column = len(block[line_start:pos].decode("utf-8", "replace"))
        assert lines.text_at(pos) == (expected_text.rstrip("\r"), expected_column), pos


def _segments_line_by_line(block: bytes, grouped: bool) -> list[tuple[int, int]]:
    """trigger_segments as first written: a line search per trigger (quadratic on a dense line)."""
    from matchers import deobfuscate

    segments: dict[int, int] = {}
    for m in (deobfuscate._TRIGGER_GROUPED if grouped else deobfuscate._TRIGGER).finditer(block):
        start = block.rfind(b"\n", 0, m.start()) + 1
        end = block.find(b"\n", m.end() - 1 if not m.group(0).endswith(b"\n") else m.end())
        segments[start] = max(segments.get(start, 0), len(block) if end < 0 else end)
    return sorted(segments.items())


def test_trigger_segments_search_each_line_once_with_the_same_segments() -> None:
    from matchers.deobfuscate import trigger_segments

    rng = random.Random(7)
    pieces = ["010-", "1234", "\n", "공일공", "０１", " at ", "naver dot com", "kim@", "a", " ", "<br>", "-\n"]
    pieces += ["１２３", "ｏ", "\u200b", "\r\n", "123,456", "@\n", "<td>"]
    for _ in range(3000):
        block = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 60))).encode()
        for grouped in (False, True):
            assert trigger_segments(block, grouped) == _segments_line_by_line(block, grouped), block
