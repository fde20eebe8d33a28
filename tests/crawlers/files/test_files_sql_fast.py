"""The SQL dump reader's plain-tuple path gives exactly what the general token loop gives.

``tuples_in`` splits plain tuples (quoted strings without escapes, bare tokens) with a few regex
calls per tuple and hands everything else to ``tuples_general`` (the reader's original loop).
Hypothesis writes VALUES lists and whole dumps (INSERT one-line and multi-line, COPY blocks,
escapes, doubled quotes, NULLs, comments, CP949) and compares the two, value by value and block by
block.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crawlers.files.sqldump as sqldump
from crawlers.files import read_bytes
from crawlers.files.records import RowBlocks
from crawlers.model import TextBlock

_WORDS = ["김철수", "O'Brien", "010-1234-5678", "kim@naver.com", "서울 강남구, 101동", "a;b", "(x)", "똠방각하", ""]
_BARE = ["1", "-2.5", "NULL", "null", "NuLl", "nullable", "NOW()", "X'41'", "N'김'", "0x1F", "TRUE", "1e3"]


def _quoted(text: str, quote: str = "'") -> str:
    return quote + text + quote


@st.composite
def values(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["plain", "plain", "plain", "bare", "escaped", "double", "odd"]))
    if kind == "bare":
        return draw(st.sampled_from(_BARE))
    text = draw(st.one_of(st.sampled_from(_WORDS), st.text(max_size=12)))
    if kind == "plain":
        return _quoted(text.replace("'", "").replace("\\", ""))
    if kind == "escaped":
        return _quoted(text.replace("\\", "\\\\").replace("'", draw(st.sampled_from(["''", "\\'"]))) + "\\n\\t\\0\\Z")
    if kind == "double":
        return _quoted(text.replace('"', "").replace("\\", ""), '"')
    return draw(st.sampled_from(["'cut", "'a''", "''''", "'\t'", "()", "'x'y'", "1 2", "'\r'", "--", "/*c*/"]))


@st.composite
def values_lists(draw: st.DrawFn) -> str:
    """A VALUES list as dumps write it, sometimes broken."""
    space = st.sampled_from(["", " ", "  ", "\t", "\u3000"])
    tuples = []
    for _ in range(draw(st.integers(0, 4))):
        fields = draw(st.lists(values(), min_size=0, max_size=6))
        sep = draw(st.sampled_from([",", ", ", " , ", ",\t"]))
        tuples.append(draw(space) + "(" + draw(space) + sep.join(fields) + draw(space) + ")" + draw(space))
    text = draw(st.sampled_from([",", ", ", ",\n", ""])).join(tuples)
    return text + draw(st.sampled_from([";", ";", "", ",", "; -- done", ";(9)", " junk", ")", "(", "\n"]))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values_lists())
def test_tuples_in_equals_the_general_loop(text: str) -> None:
    assert sqldump.tuples_in(text) == sqldump.tuples_general(text)
    prefix = "INSERT INTO `t` VALUES "
    assert sqldump.tuples_in(prefix + text, len(prefix)) == sqldump.tuples_general(text)


@pytest.mark.parametrize(
    "text",
    [
        "(1,'a',NULL,'',null,'x,y;z')",
        "(1,'a'),(2,'b');",
        "(1, 'it''s');",
        "(1, 'back\\\\slash', 'tab\\there');",
        "(1, \"dq\", X'41', NOW());",
        "(1,'a'),",
        "  ",
        "(1)(2);",
        "(1,'a\tb');",
        "(nullable, NULLX, 'NULL');",
    ],
)
def test_tuples_in_examples(text: str) -> None:
    assert sqldump.tuples_in(text) == sqldump.tuples_general(text)


def _general_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqldump, "_plain_tuples", lambda text, pos=0: None)


@st.composite
def dumps(draw: st.DrawFn) -> str:
    lines = ["CREATE TABLE `members` (", "  `id` int,", "  `name` varchar(20),", "  `phone` text", ");"]
    for number in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["insert", "insert", "multi", "copy", "other"]))
        table = draw(st.sampled_from(["`members`", "members", '"shop"."orders"', "`members` (`id`, `name`)"]))
        if kind == "insert":
            lines.append(f"INSERT INTO {table} VALUES {draw(values_lists())}".replace("\n", " "))  # noqa: S608
        elif kind == "multi":
            lines.append(f"INSERT INTO {table} VALUES")
            for _ in range(draw(st.integers(1, 4))):
                lines.append(draw(values_lists()).replace("\n", " ").rstrip(";") + ",")
            lines[-1] = lines[-1][:-1] + draw(st.sampled_from([";", ""]))
        elif kind == "copy":
            lines.append("COPY public.members (id, name, phone) FROM stdin;")
            lines.extend(f"{number}\t홍길동{i}\t010-1234-{i:04d}" for i in range(draw(st.integers(0, 3))))
            lines.append("\\.")
        else:
            lines.append(
                draw(
                    st.sampled_from(["-- comment", "UPDATE members SET phone='010-9999-0000';", "", "/*!40101 SET */;"])
                )
            )
    return "\n".join(lines) + "\n"


def _items(name: str, data: bytes) -> list[object]:
    return [
        (item.locator, item.text, item.first_line, item.unit, item.columns, item.delimiter)
        if isinstance(item, TextBlock)
        else item
        for item in read_bytes(name, data)
    ]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(dumps(), st.sampled_from(["utf-8", "cp949"]))
def test_a_whole_dump_reads_the_same_with_and_without_the_plain_path(
    monkeypatch: pytest.MonkeyPatch, dump: str, encoding: str
) -> None:
    data = dump.encode(encoding, "replace")
    fast = _items("dump.sql", data)
    with monkeypatch.context() as patch:
        _general_only(patch)
        assert _items("dump.sql", data) == fast
    assert any(isinstance(item, tuple) for item in fast)


def test_a_cp949_dump_with_many_plain_rows_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    emails = ["'x@daum.net'", "NULL", "NULL"]
    rows = "".join(
        f"INSERT INTO `members` VALUES ({i},'김똠방{i}','010-{i:04d}-5678',{emails[i % 3]});\n"  # noqa: S608
        for i in range(3000)
    )
    data = (
        "CREATE TABLE `members` (\n  `id` int,\n  `name` text,\n  `phone` text,\n  `email` text\n);\n" + rows
    ).encode("cp949")
    fast = _items("big.sql", data)
    _general_only(monkeypatch)
    assert _items("big.sql", data) == fast
    (first,) = [item for item in fast if isinstance(item, tuple) and item[0] == "big.sql#members"][:1]
    assert first[1].startswith("0\t김똠방0\t010-0000-5678\tx@daum.net\n1\t김똠방1\t010-0001-5678\t\n")
    assert first[4] == ("id", "name", "phone", "email")


def _blocks(items: Iterator[TextBlock]) -> list[tuple[str, int]]:
    return [(block.text, block.first_line) for block in items]


@given(st.lists(st.tuples(st.integers(0, 3), st.lists(st.text(max_size=8), max_size=5)), max_size=12))
def test_row_blocks_add_all_equals_add_one_by_one(steps: list[tuple[int, list[str]]]) -> None:
    one, many = RowBlocks("x", 16), RowBlocks("x", 16)
    expected: list[tuple[str, int]] = []
    got: list[tuple[str, int]] = []
    number = 1
    for gap, rows in steps:
        number += gap  # numbering may jump (another table's rows in between)
        for offset, row in enumerate(rows):
            expected += _blocks(one.add(number + offset, row))
        got += _blocks(iter(many.add_all(number, rows)))
        number += len(rows)
    assert got + _blocks(many.flush()) == expected + _blocks(one.flush())
