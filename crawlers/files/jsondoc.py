"""JSON documents and JSON lines: one record per element, values flattened in column order.

A JSON document of any size is streamed with ijson (events, never the whole document): walking
from the root through objects, the first array met on a path is a list of records and each of its
elements is one record located ``file.json#key[index]`` (``file.json#[index]`` for a top-level
array). Object members outside every array form one more record, ``file.json#$``. An element
nested deeper than :data:`MAX_ELEMENT_DEPTH` is skipped alone (a ``cap_depth`` finding names it);
a document that turns out not to be JSON keeps the records before the damage and the rest is
read as plain text.
"""

from __future__ import annotations

import io
import json
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from crawlers.files.budget import PrefixedReader, read_exactly
from crawlers.files.context import Context, Item, Member
from crawlers.files.decode import detect_encoding
from crawlers.files.lines import Batch, cut_pieces
from crawlers.files.records import FLATTEN, ROW_DELIMITER, RowBlocks, cell_text
from crawlers.model import Finding, TextBlock

_COLUMN_SAMPLE = 1000
#: Deepest nesting kept inside one element (1 = a flat object); a deeper element is skipped alone.
MAX_ELEMENT_DEPTH = 64
_READ_SIZE = 64 * 1024
_HEAD_BYTES = 64 * 1024
_ROOT = "$"
_decode = json.JSONDecoder().decode


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(dotted.key, text)`` for every scalar in ``value`` (lists index as ``key.0``)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from flatten(item, f"{prefix}.{index}" if prefix else str(index))
    else:
        yield prefix, cell_text(value)


Pairs = list[tuple[str, str]]


def flat_pairs(value: dict[str, Any] | list[Any], prefix: str = "") -> Pairs:
    """``list(flatten(value))`` for what :func:`json.loads` returns (dicts, lists, scalars), faster.

    One call per container instead of a generator per value: exact types instead of ABC checks,
    and a string is copied only when it holds a tab or a line end (:func:`cell_text` flattens those).
    """
    out: Pairs = []
    _flat_into(out, value, prefix)
    return out


def _flat_into(out: Pairs, value: dict[str, Any] | list[Any], prefix: str) -> None:
    items: Any = value.items() if type(value) is dict else enumerate(value)
    append = out.append
    for key, item in items:
        name = f"{prefix}.{key}" if prefix else str(key)
        kind = type(item)
        if kind is str:
            append((name, item if item.isprintable() else item.translate(FLATTEN)))
        elif kind is dict or kind is list:
            _flat_into(out, item, name)
        elif kind is int:
            append((name, str(item)))
        else:
            append((name, cell_text(item)))


class Columns:
    """Column order fixed by the first records; each record becomes one tab-joined line."""

    def __init__(self) -> None:
        self.names: tuple[str, ...] | None = None

    def learn(self, records: list[Pairs]) -> None:
        """Fix the columns from the keys of ``records`` (flattened) in first-seen order."""
        keys: dict[str, None] = {}
        for pairs in records:
            keys.update((key, None) for key, _ in pairs if key)
        self.names = tuple(keys) or None

    def row(self, pairs: Pairs) -> str:
        """Values in column order; keys outside the columns follow as ``key=value``."""
        if len(pairs) == 1 and not pairs[0][0]:
            return pairs[0][1]  # a bare scalar element
        if pairs:
            keys, texts = zip(*pairs, strict=True)
            if keys == self.names:  # the usual record: its keys are the columns, in order
                return ROW_DELIMITER.join(texts)
        values = dict(pairs)
        fields = [values.pop(name, "") for name in self.names or ()]
        fields.extend(f"{key}={text}" for key, text in values.items())
        return ROW_DELIMITER.join(fields)


@dataclass
class _Frame:
    """One open container on the path from the root."""

    is_array: bool
    path: str  # dotted path of the container (relative to the current record when inside one)
    key: str = ""  # the current member key (objects)
    index: int = 0  # the next element index (arrays)
    records: bool = False  # an array whose elements are records


@dataclass
class _Record:
    """The element being collected."""

    list_path: str
    index: int
    depth: int  # stack depth at which the element started
    pairs: Pairs = field(default_factory=list)
    chars: int = 0
    too_deep: bool = False


class _DocumentReader:
    """Turns ijson events into records and records into TextBlocks."""

    def __init__(self, member: Member, ctx: Context) -> None:
        self.member = member
        self.ctx = ctx
        self.columns = Columns()
        self.sample: list[tuple[str, int, Pairs]] = []
        self.blocks: RowBlocks | None = None
        self.root: Pairs = []
        self.root_chars = 0
        self.records = 0

    def locator(self, list_path: str) -> str:
        return f"{self.member.locator}#{list_path}"

    def read(self, events: Iterator[tuple[str, Any]]) -> Iterator[Item]:
        stack: list[_Frame] = []
        record: _Record | None = None
        for event, value in events:
            if record is not None:
                if event in ("start_map", "start_array"):
                    container = stack[-1]
                    stack.append(_Frame(event == "start_array", _member_path(container)))
                    _advance(container)
                    if len(stack) - record.depth > MAX_ELEMENT_DEPTH:
                        record.too_deep = True
                    continue
                if event in ("end_map", "end_array"):
                    stack.pop()
                    if len(stack) == record.depth:
                        _advance(stack[-1])
                        yield from self._finish(record)
                        record = None
                    continue
                if event == "map_key":
                    stack[-1].key = value
                    continue
                frame = stack[-1]
                if not record.too_deep:
                    text = cell_text(value)
                    record.pairs.append((_member_path(frame), text))
                    record.chars += len(text) + 1
                _advance(frame)
                continue
            # Outside any record: walking objects from the root.
            if event == "map_key":
                stack[-1].key = value
                continue
            if event in ("end_map", "end_array"):
                stack.pop()
                if stack:
                    _advance(stack[-1])
                continue
            parent = stack[-1] if stack else None
            if parent is not None and parent.records:
                record = _Record(parent.path, parent.index, len(stack))
                if event in ("start_map", "start_array"):
                    stack.append(_Frame(event == "start_array", ""))
                    continue
                record.pairs.append(("", cell_text(value)))
                _advance(parent)
                yield from self._finish(record)
                record = None
                continue
            path = _root_path(parent)
            if event == "start_map":
                stack.append(_Frame(False, path))
            elif event == "start_array":
                stack.append(_Frame(True, path, records=True))
            else:
                text = cell_text(value)
                self.root.append((path or _ROOT, text))
                self.root_chars += len(text) + 1
                if parent is not None:
                    _advance(parent)
                if self.root_chars > self.ctx.limits.max_line_bytes:
                    yield from self._flush_root()
        yield from self.flush()

    def flush(self) -> Iterator[Item]:
        """Every record still held (the column sample, the open block, the root record)."""
        yield from self._flush_sample()
        if self.blocks is not None:
            yield from self.blocks.flush()
        yield from self._flush_root()

    def _finish(self, record: _Record) -> Iterator[Item]:
        self.records += 1
        if self.records % 1000 == 0:
            self.ctx.budget.check_time()
        if record.too_deep:
            where = f"{self.locator(record.list_path)}[{record.index}]"
            yield Finding(where, "cap_depth", f"element nested deeper than {MAX_ELEMENT_DEPTH} levels; skipped")
            return
        if self.columns.names is None and len(self.sample) < _COLUMN_SAMPLE:
            self.sample.append((record.list_path, record.index, record.pairs))
            if len(self.sample) == _COLUMN_SAMPLE:
                yield from self._flush_sample()
            return
        yield from self._emit(record.list_path, record.index, record.pairs)

    def _flush_sample(self) -> Iterator[Item]:
        if self.sample and self.columns.names is None:
            self.columns.learn([pairs for _, _, pairs in self.sample])
        sample, self.sample = self.sample, []
        for list_path, index, pairs in sample:
            yield from self._emit(list_path, index, pairs)

    def _emit(self, list_path: str, index: int, pairs: Pairs) -> Iterator[Item]:
        row = self.columns.row(pairs)
        locator = self.locator(list_path)
        if self.blocks is None or self.blocks.locator != locator:
            if self.blocks is not None:
                yield from self.blocks.flush()
            self.blocks = RowBlocks(locator, self.ctx.limits.block_bytes, unit="element", columns=self.columns.names)
        if len(row) <= self.ctx.limits.max_line_bytes:
            yield from self.blocks.add(index, row)
            return
        yield from self.blocks.flush()
        yield from _pieces(locator, index, row, self.ctx.limits.max_line_bytes, self.columns.names)

    def _flush_root(self) -> Iterator[Item]:
        """Object members outside every array: one record (in pieces when it is overlong)."""
        if not self.root:
            return
        pairs, self.root, self.root_chars = self.root, [], 0
        names = tuple(dict.fromkeys(key for key, _ in pairs))
        row = ROW_DELIMITER.join(text for _, text in pairs)
        locator = self.locator(_ROOT)
        if len(row) <= self.ctx.limits.max_line_bytes:
            yield TextBlock(locator, row, 0, unit="record", columns=names, delimiter=ROW_DELIMITER)
        else:
            yield from _pieces(locator, 0, row, self.ctx.limits.max_line_bytes, None, unit="record")


def _pieces(
    locator: str, index: int, row: str, size: int, columns: tuple[str, ...] | None, *, unit: str = "element"
) -> Iterator[Item]:
    """An overlong record cut at separators: each piece is scanned on its own, with a finding."""
    pieces = 0
    for piece in cut_pieces(row, size):
        pieces += 1
        yield TextBlock(locator, piece, index, unit=unit, columns=columns, delimiter=ROW_DELIMITER)
    where = f"{locator}[{index}]" if unit == "element" else locator
    yield Finding(
        where,
        "cap_line",
        f"record of about {len(row)} characters, over max_line_bytes={size}: scanned in {pieces} pieces "
        "(a value cut at a piece boundary can be missed)",
    )


def _member_path(frame: _Frame) -> str:
    """The dotted key of the value at the current position of ``frame`` (inside a record)."""
    name = str(frame.index) if frame.is_array else frame.key
    return f"{frame.path}.{name}" if frame.path else name


def _root_path(parent: _Frame | None) -> str:
    """The dotted path of a value met outside every record."""
    if parent is None:
        return ""
    return f"{parent.path}.{parent.key}" if parent.path else parent.key


def _advance(frame: _Frame) -> None:
    if frame.is_array:
        frame.index += 1


class _Tail(io.RawIOBase):
    """Reads ``source`` and remembers the last chunk read (replayed as text if parsing fails)."""

    def __init__(self, source: io.RawIOBase) -> None:
        super().__init__()
        self._source = source
        self.last = b""
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size) or b""
        if data:
            self.last = data
            self.reads += 1
        return data

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Utf8(io.RawIOBase):
    """The UTF-8 bytes of a text stream: ijson is given bytes (a text stream is deprecated there)."""

    def __init__(self, text: io.TextIOBase) -> None:
        super().__init__()
        self._text = text
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = self._text.read(max(1, len(buffer) // 4))  # at most 4 bytes a character
            if not chunk:
                return 0
            self._pending = chunk.encode("utf-8", "surrogatepass")
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def json_document(member: Member, ctx: Context) -> Generator[Item, None, bytes | None]:
    """Records of a JSON document streamed from ``member.source``.

    Returns None when the document was read to its end, or the bytes to read again as plain text
    (the last chunk read before the parse failed) followed by the rest of ``member.source``.
    """
    head = read_exactly(member.source, _HEAD_BYTES)
    encoding, _ = detect_encoding(head) if not head.isascii() else ("utf-8", False)
    tail = _Tail(PrefixedReader(head, member.source))
    source: Any = tail
    if encoding.replace("_", "-").lower() not in ("utf-8", "ascii"):
        source = _Utf8(io.TextIOWrapper(io.BufferedReader(tail), encoding=encoding, errors="replace"))
    elif head.startswith(b"\xef\xbb\xbf"):
        source = _Utf8(io.TextIOWrapper(io.BufferedReader(tail), encoding="utf-8-sig", errors="replace"))
    import ijson  # loaded by the first JSON document, not by every scan

    reader = _DocumentReader(member, ctx)
    events = ijson.basic_parse(source, use_float=True, multiple_values=True, buf_size=_READ_SIZE)
    try:
        yield from reader.read(events)
    except (ijson.JSONError, ValueError) as exc:
        if tail.reads <= 1:  # the text read again covers the whole document: keep nothing twice
            reader.records = 0
        else:
            yield from reader.flush()
        kept = f"{reader.records} records before it were kept; " if reader.records else ""
        yield Finding(
            member.locator,
            "format_fallback",
            f"not valid JSON ({exc.__class__.__name__}); {kept}the rest is read as text",
        )
        return tail.last
    return None


def json_lines(member: Member, batches: Iterator[Batch | Finding], *, columns: Columns | None = None) -> Iterator[Item]:
    """JSON lines: each object on its line (unit ``line``); a line that is not JSON stays as it was.

    ``columns``: already learned from the file's first lines (a range of it, see :mod:`crawlers.files.ranges`).
    """
    columns = columns or Columns()
    for batch in batches:
        if isinstance(batch, Finding):
            yield batch
            continue
        records = [parse_line(line) for line in batch.lines]
        if columns.names is None:
            columns.learn([record for record in records if record is not None][:_COLUMN_SAMPLE])
        rows = [
            line if record is None else columns.row(record) for line, record in zip(batch.lines, records, strict=True)
        ]
        yield TextBlock(
            member.locator, "\n".join(rows), batch.first_line, columns=columns.names, delimiter=ROW_DELIMITER
        )


def parse_line(line: str) -> Pairs | None:
    """The flattened JSON value on ``line``, or None when the line is blank, not JSON or too deep."""
    if not line.strip():
        return None
    try:
        value = _decode(line)  # json.loads of a str, without its per-call checks
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict | list):  # json's own types
        return [("", cell_text(value))]
    try:
        return flat_pairs(value)
    except RecursionError:
        return None
