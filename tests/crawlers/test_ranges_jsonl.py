"""JSON lines read in ranges: the fast path for flat objects gives the reader's own rows and blocks.

:func:`crawlers.files.ranges.json_rows` writes a flat object of strings and integers straight from
``json.loads``; every other line must be what :func:`crawlers.files.jsondoc.json_lines` makes of it
(nested values, lists, floats, booleans, nulls, empty keys, duplicate keys, escaped tabs and line
ends, blank lines, lines that are not JSON).
"""

from __future__ import annotations

import io
import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from crawlers.files.context import Member
from crawlers.files.jsondoc import Columns, json_lines, parse_line
from crawlers.files.lines import Batch
from crawlers.files.ranges import _json_lines, json_rows
from crawlers.model import TextBlock

MEMBER = Member("m.jsonl", "m.jsonl", io.BytesIO(b""), 0)
KEYS = st.sampled_from(["id", "name", "tel", "mail", "", "a.b", "memo", "x"])
TEXT = st.text(
    alphabet=st.sampled_from(["a", "김", "0", "-", "@", "\t", "\n", "\r", "\\", '"', " ", "\x00"]), max_size=8
)
SCALARS = st.one_of(TEXT, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False), st.just(2.0))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3))
FLAT = st.dictionaries(KEYS, st.one_of(TEXT, st.integers()), max_size=6)
LINE = st.one_of(
    FLAT.map(lambda d: json.dumps(d, ensure_ascii=False)),
    FLAT.map(json.dumps),  # \uXXXX escapes
    VALUES.map(lambda v: json.dumps(v, ensure_ascii=False)),
    TEXT,  # mostly not JSON
    st.just('{"id": 1, "id": "again", "name": "b"}'),  # a duplicate key
    st.just("  "),
)


def _reader(lines: list[str], names: tuple[str, ...] | None) -> list[str]:
    columns = Columns()
    columns.names = names
    return [line if (record := parse_line(line)) is None else columns.row(record) for line in lines]


def _fast(lines: list[str], names: tuple[str, ...] | None) -> list[str]:
    columns = Columns()
    columns.names = names
    return json_rows(list(lines), columns)


NAMES = st.one_of(st.just(("id", "name", "tel", "mail")), st.lists(KEYS.filter(bool), unique=True).map(tuple))


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(LINE, max_size=8), names=NAMES)
@example(lines=['{"a": "x\\ty\\nz", "id": 7}', '{"": "alone"}', '{"id": true}', "[1, 2]", '"s"', "3"], names=("id",))
def test_any_lines_give_the_readers_rows(lines: list[str], names: tuple[str, ...]) -> None:
    assert _fast(lines, names) == _reader(lines, names)


def test_a_flat_object_is_written_straight() -> None:
    lines = ['{"id": 3, "name": "김철수", "tel": "010-1234-5678", "extra": "e\\tf"}', "", "not json"]
    assert _fast(lines, ("id", "name", "tel", "mail")) == [
        "3\t김철수\t010-1234-5678\t\textra=e f",
        "",
        "not json",
    ]
    assert _fast(lines, ("id", "name", "tel", "mail")) == _reader(lines, ("id", "name", "tel", "mail"))


@settings(max_examples=100, deadline=None)
@given(batches=st.lists(st.lists(LINE, max_size=5), max_size=4), names=NAMES)
def test_blocks_equal_the_readers(batches: list[list[str]], names: tuple[str, ...]) -> None:
    def run(fast: bool) -> list[tuple[str, int, tuple[str, ...] | None, str | None]]:
        columns = Columns()
        columns.names = names
        items = iter([Batch(1 + 10 * i, lines) for i, lines in enumerate(batches)])
        out = _json_lines(MEMBER, items, columns) if fast else json_lines(MEMBER, items, columns=columns)
        return [(b.text, b.first_line, b.columns, b.delimiter) for b in out if isinstance(b, TextBlock)]

    assert run(True) == run(False)
