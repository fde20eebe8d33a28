"""Quoted CSV rows read in ranges: the fast path for simple batches gives the reader's own rows.

:func:`crawlers.files.ranges.simple_rows` replaces the csv-module parse of
:class:`crawlers.files.tabular.DelimitedReader` for batches whose every line is simple; anything
else must fall back to that parse. Both are compared here on generated lines, hostile ones
included (doubled quotes, quotes inside unquoted fields, open quoted fields, CR, NUL, empty lines).
"""

from __future__ import annotations

import io

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crawlers.files.context import Member
from crawlers.files.ranges import _RangeDelimitedReader, simple_rows
from crawlers.files.tabular import DelimitedReader

DELIMITERS = (",", "\t", "|", ";")
MEMBER = Member("t.csv", "t.csv", io.BytesIO(b""), 0)


def _both(lines: list[str], delimiter: str) -> tuple[object, object]:
    fast = _RangeDelimitedReader(MEMBER, delimiter, header=None)._parse(list(lines))
    slow = DelimitedReader(MEMBER, delimiter, header=None)._parse(list(lines))
    return fast, slow


#: Field text drawn from what matters to the parse: quotes, every delimiter, CR, NUL, Hangul.
TEXT = st.text(alphabet=st.sampled_from(['"', ",", "\t", "|", ";", " ", "a", "0", "\r", "\x00", "김", "-"]))


@settings(max_examples=600, deadline=None)
@given(lines=st.lists(TEXT, max_size=8), delimiter=st.sampled_from(DELIMITERS))
@example(lines=['a,"b,c"', '"x""y",z'], delimiter=",")
@example(lines=['a,b"c,d', '"open', 'still"'], delimiter=",")
@example(lines=['"a" ,b', "", '""'], delimiter=",")
def test_any_lines_give_the_readers_rows(lines: list[str], delimiter: str) -> None:
    fast, slow = _both(lines, delimiter)
    assert fast == slow


SIMPLE_FIELD = st.one_of(
    st.text(alphabet=st.sampled_from([",", "\t", "|", ";", " ", "a", "0", "김", "-", "@"])).map(lambda t: f'"{t}"'),
    st.text(alphabet=st.sampled_from([" ", "a", "0", "김", "-", "@", "."])),
)


@settings(max_examples=400, deadline=None)
@given(
    rows=st.lists(st.lists(SIMPLE_FIELD, min_size=1, max_size=6), max_size=10), delimiter=st.sampled_from(DELIMITERS)
)
def test_simple_lines_take_the_fast_path_and_give_the_readers_rows(rows: list[list[str]], delimiter: str) -> None:
    lines = [delimiter.join(fields) for fields in rows]
    assert simple_rows(lines, delimiter) is not None
    fast, slow = _both(lines, delimiter)
    assert fast == slow


@pytest.mark.parametrize(
    "lines",
    [
        ['a,"x""y"'],  # a doubled quote
        ['a,b"c'],  # a quote inside an unquoted field
        ['a,"b', 'c"'],  # a quoted field over two lines
        ['"a"b,c'],  # text after the closing quote
        ['a,"b"\r'],
    ],
)
def test_lines_that_are_not_simple_go_to_the_readers_parse(lines: list[str]) -> None:
    assert simple_rows(lines, ",") is None
    fast, slow = _both(lines, ",")
    assert fast == slow


def test_a_quoted_delimiter_becomes_a_space_as_in_the_reader() -> None:
    lines = ['김철수,"서울시 강남구, 101호",010-1234-5678', "", '"",x']
    assert simple_rows(lines, ",") == ["김철수,서울시 강남구  101호,010-1234-5678", "", ",x"]
    fast, slow = _both(lines, ",")
    assert fast == slow == (["김철수,서울시 강남구  101호,010-1234-5678", "", ",x"], [])
