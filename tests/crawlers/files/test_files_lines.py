"""The line splitter and decoder under arbitrary chunking: numbering and content never drift."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers.files.decode import TextDecoder
from crawlers.files.lines import Batch, split_lines
from crawlers.model import Finding

LINE_TEXT = st.text(alphabet=st.sampled_from("ab 가,\t|똠@"), max_size=40)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(LINE_TEXT, max_size=30), cuts=st.lists(st.integers(0, 400), max_size=8), crlf=st.booleans())
def test_batches_rebuild_every_line_at_its_number(lines: list[str], cuts: list[int], crlf: bool) -> None:
    text = ("\r\n" if crlf else "\n").join(lines) + "\n"
    points = sorted({min(cut, len(text)) for cut in cuts})
    chunks = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    rebuilt: dict[int, str] = {}
    for item in split_lines(chunks, "f", max_line=25):
        if isinstance(item, Finding):
            assert item.kind == "cap_line"
            continue
        assert isinstance(item, Batch)
        for offset, line in enumerate(item.lines):
            assert len(line) <= 25
            number = item.first_line + offset
            rebuilt[number] = rebuilt.get(number, "") + line if item.piece else line
    assert [rebuilt.get(i + 1, "") for i in range(len(lines))] == lines


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("abc 가똠샾쌰\n,"), max_size=200), cut=st.integers(0, 600))
def test_cp949_decodes_identically_across_chunk_boundaries(text: str, cut: int) -> None:
    data = ("ascii head\n" + text).encode("cp949")
    decoder = TextDecoder()
    out = decoder.decode(data[:cut]) + decoder.decode(data[cut:]) + decoder.decode(b"", final=True)
    assert out == "ascii head\n" + text
    assert not decoder.replaced
