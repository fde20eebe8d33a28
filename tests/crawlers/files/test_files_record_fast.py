"""Per-record fast paths of the JSON-lines and CSV readers give what the general code gives.

JSON lines: ``flat_pairs`` (one call per container, exact types) against ``flatten`` (a generator
per value), and ``Columns.row``'s shortcut for a record whose keys are the columns. CSV: a row is
joined as is unless a field holds the delimiter or a line end, against translating every field.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers.files.jsondoc import Columns, flat_pairs, flatten, parse_line
from crawlers.files.tabular import DelimitedReader
from crawlers.model import Finding

_TEXT = st.text(alphabet=st.sampled_from(list("ab김철,;\t\n\r \"'\\|.0\x0b\u2028\u3000")), max_size=8)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), _TEXT)
_JSON: Any = st.recursive(
    _SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_TEXT, children, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.dictionaries(_TEXT, _JSON, max_size=5), st.lists(_JSON, max_size=5)))
def test_flat_pairs_equals_flatten(value: Any) -> None:
    loaded = json.loads(json.dumps(value))  # what parse_line meets: json's own types
    assert flat_pairs(loaded) == list(flatten(loaded))
    assert parse_line(json.dumps(value, ensure_ascii=False)) == list(flatten(loaded))


def _row_general(columns: Columns, pairs: list[tuple[str, str]]) -> str:
    if len(pairs) == 1 and not pairs[0][0]:
        return pairs[0][1]
    values = dict(pairs)
    fields = [values.pop(name, "") for name in columns.names or ()]
    fields.extend(f"{key}={text}" for key, text in values.items())
    return "\t".join(fields)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["name", "tel", "mail", "a.b", ""]), unique=True, max_size=4),
    st.lists(st.tuples(st.sampled_from(["name", "tel", "mail", "a.b", "x", ""]), _TEXT), max_size=5),
)
def test_columns_row_equals_the_general_rendering(names: list[str], pairs: list[tuple[str, str]]) -> None:
    columns = Columns()
    columns.names = tuple(names) or None
    assert columns.row(pairs) == _row_general(columns, pairs)
    in_order = [(name, f"v{i}") for i, name in enumerate(names)]
    assert columns.row(in_order) == _row_general(columns, in_order)


class _Member:
    locator = "t.csv"


def _parse_general(lines: list[str], delimiter: str) -> list[str]:
    clean = str.maketrans({delimiter: " ", "\n": " ", "\r": " "})
    out: list[str] = []
    reader = csv.reader(iter([line + "\n" for line in lines]), delimiter=delimiter, strict=True)
    for row in reader:
        span = reader.line_num - len(out)
        out.append(delimiter.join(field.translate(clean) for field in row))
        out.extend([""] * (span - 1))
    return out


_FIELD = st.text(alphabet=st.sampled_from(list('ab김,\t|;\n\r" ')), max_size=6)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([",", "\t", "|", ";"]), st.lists(st.lists(_FIELD, min_size=1, max_size=4), max_size=6))
def test_csv_rows_equal_translating_every_field(delimiter: str, rows: list[list[str]]) -> None:
    written = io.StringIO()
    csv.writer(written, delimiter=delimiter, lineterminator="\n").writerows(rows)
    lines = written.getvalue().split("\n")[:-1]
    if not lines:
        return
    try:
        expected = _parse_general(lines, delimiter)
    except csv.Error:
        return
    got, carry = DelimitedReader(_Member(), delimiter, header=None)._parse(lines)  # type: ignore[arg-type]
    assert carry == []
    assert got == expected
    assert not any(isinstance(item, Finding) for item in got)
