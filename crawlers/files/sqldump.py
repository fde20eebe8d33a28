"""SQL dumps: INSERT tuples become rows with the statement's (or CREATE TABLE's) columns.

Hand-written: no maintained streaming SQL-dump parser exists (sqlparse builds full token trees and is
far too slow for gigabyte dumps). It reads line by line: one-line INSERTs (mysqldump, pg_dump
--inserts) are split into tuples, and so are INSERTs written one tuple per line (phpMyAdmin, DBeaver)
until their ``;``; PostgreSQL ``COPY ... FROM stdin`` rows keep their tabs; every other line (DDL,
tuples cut across lines, comments) is passed on as plain text, so nothing is lost.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from crawlers.files.context import Context, Item, Member
from crawlers.files.lines import Batch
from crawlers.files.records import RowBlocks
from crawlers.model import Finding, TextBlock

_IDENT = r"(?:`[^`]+`|\"[^\"]+\"|\[[^\]]+\]|[\w$]+)"
_NAME = rf"{_IDENT}(?:\s*\.\s*{_IDENT})*"
_INSERT = re.compile(
    rf"\s*(?:INSERT|REPLACE)\s+(?:IGNORE\s+)?(?:INTO\s+)?({_NAME})\s*(?:\(([^)]*)\))?\s*VALUES\s*",
    re.IGNORECASE,
)
_COPY = re.compile(rf"\s*COPY\s+({_NAME})\s*(?:\(([^)]*)\))?\s+FROM\s+stdin", re.IGNORECASE)
_CREATE = re.compile(rf"\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?({_NAME})\s*\(\s*$", re.IGNORECASE)
_COLUMN_DEF = re.compile(rf"\s*({_IDENT})\s+\w")
_NOT_COLUMNS = {"primary", "key", "unique", "constraint", "index", "foreign", "check", "fulltext", "spatial"}
_PART = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.)*\"|[(),;]|[^\s(),;'\"]+")
_ESCAPES = {"n": " ", "r": " ", "t": " ", "0": "", "Z": ""}
_ESCAPE = re.compile(r"\\(.)|''")


def _unquote(name: str) -> str:
    return ".".join(part.strip().strip('`"[]') for part in re.findall(_IDENT, name))


@functools.lru_cache(maxsize=1024)
def _table_name(name: str) -> str:
    """:func:`_unquote` of a statement's table name, remembered (a dump names a few tables a million times)."""
    return _unquote(name)


def _column_list(text: str | None) -> tuple[str, ...] | None:
    names = tuple(_unquote(part) for part in text.split(",")) if text else ()
    return names or None


def _value(part: str) -> str:
    """A SQL literal as plain text: quotes and escapes removed, NULL empty."""
    if part[:1] in ("'", '"'):
        return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)) if m.group(1) else "'", part[1:-1])
    return "" if part.upper() == "NULL" else part


def insert_tuples(values: str) -> list[str] | None:
    """Each tuple of a VALUES list as a tab-joined row; None when the statement is incomplete."""
    parsed = tuples_in(values)
    return parsed[0] if parsed is not None and parsed[1] else None


def tuples_in(text: str, start: int = 0) -> tuple[list[str], bool] | None:
    """(complete tuples of ``text`` as tab-joined rows, whether a ``;`` ended the statement).

    None when a tuple is cut at the end of ``text`` (a value spanning lines). ``start``: where the
    tuples begin (``text[start:]`` without the copy). Plain tuples (what
    dumps mostly hold) take a regex path with a few C calls per tuple; anything else the general
    token loop, which defines the result (a hypothesis test holds the two equal).
    """
    fast = _plain_tuples(text, start)
    return fast if fast is not None else tuples_general(text[start:] if start else text)


# A plain value: a single-quoted string without backslash, doubled quote, tab or line end, or a bare
# token (number, NULL, keyword). Anything else (escapes, "strings", X'..', NOW(), ...) goes general.
_PLAIN_VALUE = r"(?:'[^'\\\t\r\n]*'|[^\s(),;'\"]+)"
#: One plain tuple and the separator after it (group 2: ``,``, ``;`` or nothing).
_PLAIN_TUPLE = re.compile(rf"\s*\(\s*({_PLAIN_VALUE}(?:\s*,\s*{_PLAIN_VALUE})*)\s*\)\s*([,;]?)")
#: A plain tuple's values: the quoted content, or the bare token (NULL matches with no group: empty).
_PLAIN_FIELD = re.compile(r"'([^']*)'|(?i:null)(?![^\s(),;'\"])|([^\s(),;'\"]+)")
_BLANK = re.compile(r"\s*")


def _plain_tuples(text: str, pos: int = 0) -> tuple[list[str], bool] | None:
    """:func:`tuples_general` of ``text`` when it is only plain tuples, else None."""
    rows: list[str] = []
    append = rows.append
    findall = _PLAIN_FIELD.findall
    match = _PLAIN_TUPLE.match
    end = len(text)
    while (tuple_ := match(text, pos)) is not None:
        append("\t".join(map("".join, findall(tuple_.group(1)))))
        pos = tuple_.end()
        separator = tuple_.group(2)
        if separator == ";":
            return rows, True
        if not separator:
            break
    if rows and _BLANK.match(text, pos).end() == end:  # type: ignore[union-attr]
        return rows, False
    return None


def tuples_general(text: str) -> tuple[list[str], bool] | None:
    """:func:`tuples_in` for any text: a loop over its tokens (strings, parentheses, commas, words)."""
    rows: list[str] = []
    fields: list[str] = []
    depth = 0
    for part in _PART.findall(text):
        if part == "(":
            depth += 1
            if depth == 1:
                fields = []
        elif part == ")":
            depth -= 1
            if depth == 0:
                rows.append("\t".join(field.translate(_FLAT) for field in fields))
        elif part == ";" and depth == 0:
            return rows, True
        elif part != "," and depth == 1:
            fields.append(_value(part))
    return (rows, False) if depth == 0 else None


_FLAT = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


class SqlDumpReader:
    """Line batches of a dump -> table row blocks (``dump.sql#table``) and plain line blocks."""

    def __init__(self, member: Member, ctx: Context) -> None:
        self.member = member
        self.ctx = ctx
        self.tables: dict[str, tuple[str, ...]] = {}  # columns from CREATE TABLE
        self._rows: dict[str, tuple[RowBlocks, int]] = {}  # table -> (blocks, rows so far)
        self._creating: tuple[str, list[str]] | None = None
        self._copy: RowBlocks | None = None
        self._open_insert: str | None = None  # table of an INSERT whose tuples continue on the next lines

    def read(self, batches: Iterator[Batch | Finding]) -> Iterator[Item]:
        """Every block and finding of the dump."""
        for batch in batches:
            if isinstance(batch, Finding):
                yield batch
            elif batch.piece:
                yield TextBlock(self.member.locator, batch.lines[0], batch.first_line)
            else:
                yield from self._batch(batch)
        if self._copy is not None:
            yield from self._copy.flush()
        for blocks, _ in self._rows.values():
            yield from blocks.flush()

    def _batch(self, batch: Batch) -> Iterator[Item]:
        plain = RowBlocks(self.member.locator, self.ctx.limits.block_bytes, unit="line", delimiter=None)
        for number, line in enumerate(batch.lines, start=batch.first_line):
            if self._copy is not None:
                if line.startswith("\\."):
                    yield from self._copy.flush()
                    self._copy = None
                else:
                    yield from self._copy.add(number, line)
                continue
            rows = self._insert(line)
            if rows is not None:
                yield from rows
                continue
            self._ddl(line)
            yield from plain.add(number, line)
        yield from plain.flush()

    def _insert(self, line: str) -> list[TextBlock] | None:
        """Blocks completed by an INSERT line; None when ``line`` is not (part of) an INSERT we can split."""
        match = _INSERT.match(line)
        if match:
            parsed = tuples_in(line, match.end())
            if parsed is None:
                self._open_insert = None
                return None
            table = _table_name(match.group(1))
            self._open_insert = None if parsed[1] else table
            return self._add_rows(table, match.group(2), parsed[0])
        if self._open_insert is None:
            return None
        table = self._open_insert
        parsed = tuples_in(line) if line.lstrip()[:1] in ("(", ";", "") else None
        if parsed is None:  # not a tuple line after all: the statement ended without its ";"
            self._open_insert = None
            return None
        if parsed[1]:
            self._open_insert = None
        return self._add_rows(table, None, parsed[0])

    def _add_rows(self, table: str, column_list: str | None, rows: list[str]) -> list[TextBlock]:
        """The blocks ``rows`` complete; ``column_list`` is the INSERT's ``(a, b)`` text, read for a new table."""
        if table not in self._rows:
            columns = _column_list(column_list) or self.tables.get(table)
            self._rows[table] = (
                RowBlocks(f"{self.member.locator}#{table}", self.ctx.limits.block_bytes, columns=columns),
                0,
            )
        blocks, count = self._rows[table]
        self._rows[table] = (blocks, count + len(rows))
        return blocks.add_all(count + 1, rows)

    def _ddl(self, line: str) -> None:
        """Track CREATE TABLE columns and COPY starts; these lines are also kept as text."""
        create = _CREATE.match(line)
        if create:
            self._creating = (_unquote(create.group(1)), [])
        elif self._creating is not None:
            if line.lstrip().startswith(")"):
                table, names = self._creating
                self.tables[table] = tuple(names)
                self._creating = None
            else:
                column = _COLUMN_DEF.match(line)
                if column and _unquote(column.group(1)).lower() not in _NOT_COLUMNS:
                    self._creating[1].append(_unquote(column.group(1)))
        copy = _COPY.match(line)
        if copy:
            columns = _column_list(copy.group(2)) or self.tables.get(_unquote(copy.group(1)))
            self._copy = RowBlocks(self.member.locator, self.ctx.limits.block_bytes, unit="line", columns=columns)
