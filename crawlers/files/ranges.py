"""Plain line files read in independent byte ranges (``scan --jobs``: each worker reads its own).

A line-oriented file (plain text, a combolist, CSV/TSV, JSON lines) in an encoding where a newline
byte is always a line end (UTF-8, CP949) can be cut at newlines and each piece read on its own:
:func:`plan_lines` takes what the reader learns from the file's start (format, encoding, delimiter,
header, JSON columns) exactly as :func:`crawlers.files.dispatch.read_member` would, and
:func:`range_items` reads one range with the reader's own decoder, line splitter and format code,
so the blocks are the reader's blocks. Anything else (archives, JSON documents, HTML, SQL dumps,
UTF-16, a guessed encoding, a file that starts with findings) gets None and goes through the reader.

A CSV row whose quoted field spans a range's end is the one thing a range cannot finish alone: the
range then reports ``clean_end=False`` and the caller reads it again joined with the next one.

Quoted CSV rows are most of a real dump's cost to read: the reader parses every line of a batch with
a quote with the csv module and rebuilds it field by field. :class:`_RangeDelimitedReader` gives the
same rows for a batch whose every line is *simple* (each field either unquoted without a quote, or
wholly quoted without a quote or line end inside) by splitting the batch at its quotes once, and
hands any other batch to the reader's own parser (tests/crawlers/test_ranges_csv.py proves the two
equal). JSON lines likewise: :func:`json_rows` writes a flat object of strings and integers as its
row directly, and leaves any other line to the reader's flattening (tests/crawlers/test_ranges_jsonl.py).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import IO

from crawlers.files.budget import Budget
from crawlers.files.context import Context, Item, Member
from crawlers.files.decode import TextDecoder, detect_encoding, iter_text
from crawlers.files.jsondoc import Columns, json_lines, parse_line
from crawlers.files.limits import ReadLimits
from crawlers.files.lines import Batch, LineSplitter, split_lines
from crawlers.files.names import safe_name
from crawlers.files.records import ROW_DELIMITER, RowBlocks
from crawlers.files.sniff import HEAD_BYTES, sniff, text_format
from crawlers.files.sqldump import SqlDumpReader
from crawlers.files.tabular import DelimitedReader, header_of, sniff_delimiter
from crawlers.files.text import is_combolist, text_blocks
from crawlers.model import Finding, TextBlock

#: Encodings whose multi-byte sequences never hold the bytes of ``\n`` and ``\r``.
NEWLINE_SAFE = frozenset({"utf-8", "utf-8-sig", "cp949"})
#: How far into an ASCII-only start the first non-ASCII chunk (which fixes the encoding) is looked for.
MAX_ENCODING_SEARCH = 256 << 20
_JSON_COLUMN_SAMPLE = 1000  # as crawlers.files.jsondoc learns them: from the first 1000 records


@dataclass(frozen=True, slots=True)
class LinePlan:
    """How every range of one file is read (picklable: it goes to the workers)."""

    locator: str
    fmt: str  # text, combolist, csv, jsonl
    encoding: str  # of the first range (a UTF-8 BOM is only stripped there)
    block_bytes: int
    max_line: int
    delimiter: str | None = None
    columns: tuple[str, ...] | None = None

    @property
    def detected_type(self) -> str:
        return self.fmt


@dataclass(frozen=True, slots=True)
class SqlState:
    """Where a SQL dump's reader stands between two lines (see :class:`RangeSqlReader`)."""

    tables: dict[str, tuple[str, ...]] = field(default_factory=dict)  # CREATE TABLE columns so far
    copy: tuple[tuple[str, ...] | None] | None = None  # inside COPY ... FROM stdin: (its columns,)
    open_insert: str | None = None  # the table of an INSERT whose tuples continue
    creating: tuple[str, tuple[str, ...]] | None = None  # inside CREATE TABLE: (table, columns so far)
    row_columns: dict[str, tuple[str, ...] | None] = field(default_factory=dict)  # tables with rows: their columns

    def moving_parts(self) -> tuple[object, ...]:
        return (self.copy, self.open_insert, self.creating)

    def holds(self, done: RangeState) -> bool:
        """True when a range read from ``done.sql_start`` read as it would have from this state."""
        start = done.sql_start
        if start is None or start.moving_parts() != self.moving_parts():
            return False
        if any(self.tables.get(name) != seen for name, seen in done.sql_looked_up.items()):
            return False
        return all(self.row_columns.get(t, _NONE) == start.row_columns.get(t, _NONE) for t in done.sql_rows)

    def after(self, done: RangeState) -> SqlState:
        """The state after a range that :meth:`holds`."""
        end = done.sql_end or SqlState()
        return SqlState(
            tables={**self.tables, **done.sql_defined},
            copy=end.copy,
            open_insert=end.open_insert,
            creating=end.creating,
            row_columns={**self.row_columns, **end.row_columns},
        )


_NONE = ("\x00none",)  # a table with no row blocks yet (its columns may be None)


@dataclass(slots=True)
class RangeState:
    """What reading one range learned besides its items."""

    replaced: bool = False  # bytes invalid in the encoding were replaced (a ``decode_fallback``)
    clean_end: bool = True  # False: a quoted CSV row continues past the range's end
    blocks: int = 0
    lines: int = 0
    findings: list[Finding] = field(default_factory=list)
    # SQL dumps: the state assumed at the start, what of it was used, and where the range ended
    sql_start: SqlState | None = None
    sql_looked_up: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    sql_defined: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sql_end: SqlState | None = None
    sql_rows: dict[str, int] = field(default_factory=dict)  # table -> rows in this range


class _Tables(dict[str, tuple[str, ...]]):
    """CREATE TABLE columns that note which tables were looked up (and found how) and defined."""

    def __init__(self, known: dict[str, tuple[str, ...]], state: RangeState) -> None:
        super().__init__(known)
        self._state = state

    def get(self, key: str, default: object = None) -> tuple[str, ...] | None:  # type: ignore[override]
        found = super().get(key)
        if key not in self._state.sql_defined:  # what the range assumed, not what it defined itself
            self._state.sql_looked_up.setdefault(key, found)
        return found

    def __setitem__(self, key: str, value: tuple[str, ...]) -> None:
        super().__setitem__(key, value)
        self._state.sql_defined[key] = value


class RangeSqlReader(SqlDumpReader):
    """A SQL dump's reader for one range: starts from a given state, numbers table rows from 1 in
    the range (the caller adds the rows of earlier ranges) and reports what it assumed and where it ended."""

    def __init__(self, member: Member, ctx: Context, start: SqlState, state: RangeState) -> None:
        super().__init__(member, ctx)
        self.tables = _Tables(start.tables, state)
        if start.copy is not None:
            self._copy = RowBlocks(member.locator, ctx.limits.block_bytes, unit="line", columns=start.copy[0])
        self._open_insert = start.open_insert
        self._creating = (start.creating[0], list(start.creating[1])) if start.creating is not None else None
        for table, columns in start.row_columns.items():  # a table's columns are fixed by its first rows
            self._rows[table] = (RowBlocks(f"{member.locator}#{table}", ctx.limits.block_bytes, columns=columns), 0)
        self._range = state
        state.sql_start = start

    def read(self, batches: Iterator[Batch | Finding]) -> Iterator[Item]:
        end: list[SqlState] = []

        def remember() -> Iterator[Batch | Finding]:
            yield from batches
            creating = self._creating
            end.append(
                SqlState(
                    copy=(self._copy.columns,) if self._copy is not None else None,
                    open_insert=self._open_insert,
                    creating=(creating[0], tuple(creating[1])) if creating is not None else None,
                    row_columns={table: blocks.columns for table, (blocks, _) in self._rows.items()},
                )
            )

        yield from super().read(remember())
        self._range.sql_end = end[0] if end else None
        self._range.sql_rows = {table: count for table, (_, count) in self._rows.items() if count}


class _RangeDelimitedReader(DelimitedReader):
    """:class:`DelimitedReader` with a fast path for batches of simple quoted rows (module docstring)."""

    def _parse(self, lines: list[str]) -> tuple[list[str], list[str]]:
        rows = simple_rows(lines, self.delimiter)
        return (rows, []) if rows is not None else super()._parse(lines)


def simple_rows(lines: list[str], delimiter: str) -> list[str] | None:
    """The rows ``DelimitedReader`` parses from ``lines`` when every line is simple, else None.

    Split at the quotes, a simple batch alternates outside and quoted text: every quoted piece is
    one whole field (no line end in it; the outside text around it ends and starts at a delimiter or
    a line end, so no quote touches another or sits inside an unquoted field). A field's text is
    then what lies between its quotes with the delimiter turned into a space (as the reader's
    ``csv`` parse and ``translate`` do), and one line is one row.
    """
    if not lines:
        return []
    text = "\n".join(lines)
    if "\x00" in text or "\r" in text:
        return None
    parts = text.split('"')
    if len(parts) % 2 == 0:
        return None
    if len(parts) > 1:
        quoted = "\x00".join(parts[1::2])
        if "\n" in quoted:
            return None
        edge = (delimiter, "\n")
        if (parts[0] and parts[0][-1] not in edge) or (parts[-1] and parts[-1][0] not in edge):
            return None
        for between in parts[2:-1:2]:
            if not between or between[0] not in edge or between[-1] not in edge:
                return None
        if delimiter in quoted:
            parts[1::2] = quoted.replace(delimiter, " ").split("\x00")
        text = "".join(parts)
    return text.split("\n")


def json_rows(lines: list[str], columns: Columns) -> list[str]:
    """What :func:`crawlers.files.jsondoc.json_lines` makes of ``lines`` (columns already known).

    A line holding a flat object whose values are all strings and integers is written straight
    from ``json.loads``: no flattening, and no tab or line end to replace unless the line has a
    backslash (JSON text holds those only escaped). Any other line goes through the reader's own
    :func:`parse_line` and :meth:`Columns.row`.
    """
    names = columns.names or ()
    rows: list[str] = []
    for line in lines:
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            value = None
        if type(value) is not dict or "" in value or not all(type(v) is str or type(v) is int for v in value.values()):
            record = parse_line(line)
            rows.append(line if record is None else columns.row(record))
            continue
        if "\\" in line:
            value = {key: v.translate(_FLATTEN) if type(v) is str else v for key, v in value.items()}
        fields = [str(value.pop(name)) if name in value else "" for name in names]
        fields.extend(f"{key}={v}" for key, v in value.items())
        rows.append(ROW_DELIMITER.join(fields))
    return rows


_FLATTEN = str.maketrans({"\t": " ", "\n": " ", "\r": " "})  # as crawlers.files.records.cell_text


def _json_lines(member: Member, batches: Iterator[Batch | Finding], columns: Columns) -> Iterator[Item]:
    """:func:`crawlers.files.jsondoc.json_lines` with its columns known, rows by :func:`json_rows`."""
    for batch in batches:
        if isinstance(batch, Finding):
            yield batch
            continue
        text = "\n".join(json_rows(batch.lines, columns))
        yield TextBlock(member.locator, text, batch.first_line, columns=columns.names, delimiter=ROW_DELIMITER)


def plan_lines(path: Path, name: str, limits: ReadLimits) -> LinePlan | None:
    """How to read ``path`` in ranges, or None when only the reader can read it faithfully."""
    locator, escapes = safe_name(name)
    try:
        size = path.stat().st_size
        if escapes or size > min(limits.max_file_bytes, limits.max_total_bytes) or size == 0:
            return None
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
            if sniff(head) != ("text", None) or head.startswith((b"\xff\xfe", b"\xfe\xff")):
                return None
            fmt = text_format(name, head)
            if fmt not in ("text", "csv", "jsonl", "sql"):
                return None
            encoding = _encoding(handle, limits.block_bytes)
            if encoding is None:
                return None
            handle.seek(0)
            first = _first_batch(handle, encoding, locator, limits)
    except OSError:
        return None
    if first is None:
        return None
    plan = LinePlan(locator, fmt, encoding, limits.block_bytes, limits.max_line_bytes)
    if fmt == "sql":
        return plan
    if fmt == "jsonl":
        columns = Columns()
        records = (record for record in map(parse_line, first.lines) if record is not None)
        columns.learn(list(islice(records, _JSON_COLUMN_SAMPLE)))
        if columns.names is None:
            return None  # the reader would learn them from a later batch
        return replace(plan, columns=columns.names)
    sample = first.lines
    delimiter = sniff_delimiter(sample)
    if is_combolist(sample):
        return replace(plan, fmt="combolist")
    if delimiter is None:
        return replace(plan, fmt="text")
    head_rows = list(csv.reader(sample[:2], delimiter=delimiter))
    columns_ = header_of(head_rows[0], head_rows[1] if len(head_rows) > 1 else None) if head_rows else None
    return replace(plan, fmt="csv", delimiter=delimiter, columns=columns_)


def _encoding(handle: IO[bytes], chunk: int) -> str | None:
    """The encoding :class:`TextDecoder` fixes at the first non-ASCII chunk, if it is newline-safe."""
    handle.seek(0)
    searched = 0
    while searched < MAX_ENCODING_SEARCH:
        data = handle.read(chunk)
        if not data:
            return "utf-8"  # all ASCII
        searched += len(data)
        if not data.isascii():
            if data.startswith((b"\xff\xfe", b"\xfe\xff")):
                return None  # the decoder would take it for a stray UTF-16 mark
            encoding, guessed = detect_encoding(data)
            return encoding if not guessed and encoding in NEWLINE_SAFE else None
    return None


def _first_batch(handle: IO[bytes], encoding: str, locator: str, limits: ReadLimits) -> Batch | None:
    """The reader's first batch of lines: the whole lines of its first chunk (None when that chunk
    holds no line end, or a finding or a long-line piece comes first)."""
    decoder = TextDecoder(encoding)
    data = handle.read(limits.block_bytes)
    splitter = LineSplitter(locator, limits.max_line_bytes)
    items = list(splitter.feed(decoder.decode(data)))
    if len(data) < limits.block_bytes:  # the whole file
        items.extend(splitter.close())
    first = items[0] if items else None
    return first if isinstance(first, Batch) and not first.piece and not decoder.replaced else None


class _Range(io.RawIOBase):
    """``end - start`` bytes of a file from ``start``."""

    def __init__(self, handle: IO[bytes], start: int, end: int) -> None:
        super().__init__()
        handle.seek(start)
        self._handle = handle
        self._left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self._handle.read(min(len(buffer), self._left))
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)


def raw_block(path: Path, plan: LinePlan, start: int, end: int, state: RangeState) -> bytes | None:
    """The range's one block as the matcher reads it (UTF-8 bytes), when that is the file's own bytes.

    A range of plain text or unquoted CSV in valid UTF-8, without a ``\\r``, ending with a line end and
    no bigger than one reader chunk or line is one batch whose text is exactly those bytes (less the
    last line end): decoding, splitting, joining and encoding again would give them back. ``state``
    counts the block as :func:`range_items` would; None when the range needs the reader's code.
    """
    size = end - start
    if plan.fmt not in ("text", "csv") or size > min(plan.block_bytes, plan.max_line) or size == 0:
        return None
    if plan.encoding != "utf-8" and not (plan.encoding == "utf-8-sig" and start > 0):
        return None
    with path.open("rb") as handle:
        handle.seek(start)
        data = handle.read(size)
    if not data.endswith(b"\n") or b"\r" in data or (plan.fmt == "csv" and b'"' in data):
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    state.blocks += 1
    state.lines += data.count(b"\n")
    return data[:-1]


def range_items(
    path: Path, plan: LinePlan, start: int, end: int, first_line: int, state: RangeState, sql: SqlState | None = None
) -> Iterator[Item]:
    """Blocks and findings of bytes ``[start, end)`` of ``path`` (which starts line ``first_line``)."""
    encoding = plan.encoding if start == 0 else plan.encoding.replace("utf-8-sig", "utf-8")
    decoder = TextDecoder(encoding)
    with path.open("rb") as handle:
        source = io.BufferedReader(_Range(handle, start, end), 1 << 20)
        member = Member(plan.locator, plan.locator, source, 0, size=end - start)
        chunks = iter_text(source, decoder, plan.block_bytes)
        batches = split_lines(chunks, plan.locator, plan.max_line, first_line=first_line)
        items: Iterator[Item]
        if plan.fmt == "jsonl":
            columns = Columns()
            columns.names = plan.columns
            items = (
                json_lines(member, batches, columns=columns)
                if plan.columns is None
                else _json_lines(member, batches, columns)
            )
        elif plan.fmt == "sql":
            limits = ReadLimits(block_bytes=plan.block_bytes)  # the only limit a SQL reader reads
            ctx = Context(limits, Budget(limits), (), lambda _: iter(()))
            items = RangeSqlReader(member, ctx, sql or SqlState(), state).read(batches)
        elif plan.fmt == "csv":
            assert plan.delimiter is not None  # noqa: S101 - set with fmt csv
            reader = _RangeDelimitedReader(member, plan.delimiter, header=plan.columns)
            items = reader.read(batches)
        else:
            items = text_blocks(member, batches, combolist=plan.fmt == "combolist")
        for item in items:
            if isinstance(item, Finding):
                state.findings.append(item)
            else:
                state.blocks += 1
                state.lines += item.text.count("\n") + 1
            yield item
        if plan.fmt == "csv":
            state.clean_end = not reader.cut_at_end
    state.replaced = decoder.replaced
