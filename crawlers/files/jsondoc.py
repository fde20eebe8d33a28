"""JSON documents and JSON lines: one object per line, values flattened in column order."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from crawlers.files.context import Context, Item, Member
from crawlers.files.decode import detect_encoding
from crawlers.files.lines import Batch, split_lines
from crawlers.files.records import ROW_DELIMITER, RowBlocks, cell_text
from crawlers.files.text import text_blocks
from crawlers.model import Finding, TextBlock

_COLUMN_SAMPLE = 1000


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


class Columns:
    """Column order fixed by the first objects; each record becomes one tab-joined line."""

    def __init__(self) -> None:
        self.names: tuple[str, ...] | None = None

    def learn(self, records: list[Any]) -> None:
        """Fix the columns from the keys of ``records`` in first-seen order."""
        keys: dict[str, None] = {}
        for record in records:
            if isinstance(record, Mapping):
                keys.update((key, None) for key, _ in flatten(record))
        self.names = tuple(keys) or None

    def row(self, record: Any) -> str:
        """Values in column order; keys outside the columns follow as ``key=value``."""
        if not isinstance(record, Mapping | list):
            return cell_text(record)
        values = dict(flatten(record))
        fields = [values.pop(name, "") for name in self.names or ()]
        fields.extend(f"{key}={text}" for key, text in values.items())
        return ROW_DELIMITER.join(fields)


def json_document(member: Member, ctx: Context, data: bytes) -> Iterator[Item]:
    """A whole JSON document (at most ``max_document_bytes``): records of its main list."""
    encoding, _ = detect_encoding(data[:65536]) if not data.isascii() else ("utf-8", False)
    text = data.decode(encoding, errors="replace")
    try:
        document = json.loads(text)
    except ValueError as exc:
        yield Finding(member.locator, "format_fallback", f"not valid JSON ({exc.__class__.__name__}); read as text")
        yield from text_blocks(member, split_lines([text + "\n"], member.locator, ctx.limits.max_line_bytes))
        return
    records, where = _main_list(document)
    locator = f"{member.locator}#{where}" if where else member.locator
    columns = Columns()
    columns.learn(records[:_COLUMN_SAMPLE])
    blocks = RowBlocks(locator, ctx.limits.block_bytes, columns=columns.names)
    for number, record in enumerate(records, start=1):
        yield from blocks.add(number, columns.row(record))
        if number % 1000 == 0:
            ctx.budget.check_time()
    yield from blocks.flush()


def _main_list(document: Any) -> tuple[list[Any], str]:
    """The list of records in ``document``: itself, its largest top-level list, or the one object."""
    if isinstance(document, list):
        return document, ""
    if isinstance(document, Mapping):
        lists = [(len(value), str(key)) for key, value in document.items() if isinstance(value, list)]
        if lists:
            _, key = max(lists)
            return document[key], key
    return [document], ""


def json_lines(member: Member, batches: Iterator[Batch | Finding]) -> Iterator[Item]:
    """JSON lines: each object on its line (unit ``line``); a line that is not JSON stays as it was."""
    columns = Columns()
    for batch in batches:
        if isinstance(batch, Finding):
            yield batch
            continue
        records = [_parse(line) for line in batch.lines]
        if columns.names is None:
            columns.learn([record for record in records if record is not None][:_COLUMN_SAMPLE])
        rows = [
            line if record is None else columns.row(record) for line, record in zip(batch.lines, records, strict=True)
        ]
        yield TextBlock(
            member.locator, "\n".join(rows), batch.first_line, columns=columns.names, delimiter=ROW_DELIMITER
        )


def _parse(line: str) -> Any:
    """The JSON value on ``line``, or None when the line is blank or not JSON."""
    if not line.strip():
        return None
    try:
        return json.loads(line)
    except ValueError:
        return None
