"""Writing rows as CSV (utf-8-sig), XLSX (streamed sheet XML) or JSON lines, safe against formula injection.

Post text, titles and handles are attacker-written, so in CSV every string cell that a spreadsheet
could read as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a
leading ``'``. XLSX types its cells: text is written as an inline string cell (what XlsxWriter's
``write_string`` wrote with ``strings_to_formulas``, ``strings_to_urls`` and ``strings_to_numbers``
off; see :mod:`leakmon.workflows.xlsx_stream`), which no spreadsheet evaluates, so the value stays
exactly as stored (a subject reference still equals the CRM value).
JSON lines keep values as they are (no spreadsheet evaluates them).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from leakmon.errors import InputError

FORMATS = ("csv", "xlsx", "jsonl")
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: str) -> str:
    """Make a cell inert in a spreadsheet: ``=HYPERLINK(...)`` becomes ``'=HYPERLINK(...)``."""
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


_ISO: dict[datetime, str] = {}  # UTC times by value: an export repeats a few (a dump's hits share theirs)


def flat(value: Any) -> Any:
    """A flat cell value: text, a number or a boolean (lists joined with ``; ``)."""
    kind = type(value)
    if kind is str:  # the common cells first: a million-row export calls this ten million times
        return value
    if kind is tuple:
        return "; ".join(value) if all(type(v) is str for v in value) else "; ".join(str(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is not UTC:  # equal instants in other zones print differently: not cached
            return value.isoformat()
        text = _ISO.get(value)
        if text is None:
            if len(_ISO) >= 4096:
                _ISO.clear()
            text = _ISO[value] = value.isoformat()
        return text
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return "; ".join(str(v) for v in value)
    return str(value)


def cell(value: Any) -> Any:
    """A flat, spreadsheet-safe cell value for an untyped format (CSV)."""
    value = flat(value)
    return value if type(value) is not str or not value.startswith(_FORMULA_PREFIXES) else "'" + value


def json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return value


def write_rows(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], fmt: str, output: Path | None, stdout: TextIO
) -> int:
    """Write rows in ``fmt`` to ``output`` (or ``stdout``); returns the number of rows written."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "xlsx":
        if output is None:
            raise InputError("xlsx needs --output FILE")
        return _write_xlsx(rows, columns, output)
    write = _write_csv if fmt == "csv" else _write_jsonl
    if output is None:
        return write(rows, columns, stdout)
    encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
    with output.open("w", encoding=encoding, newline="") as handle:  # rows streamed, never held
        return write(rows, columns, handle)


def _write_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    memo: dict[Any, Any] = {}  # tuple and UTC time cells by value: an export repeats a few
    count = 0
    for row in rows:
        line = []
        for name in columns:
            value: Any = row.get(name)
            kind = type(value)
            if kind is str:
                line.append("'" + value if value.startswith(_FORMULA_PREFIXES) else value)
            elif kind is int:
                line.append(value)
            elif kind is tuple or (kind is datetime and value.tzinfo is UTC):
                done = memo.get(value)
                if done is None:
                    if len(memo) >= 4096:
                        memo.clear()
                    done = memo[value] = cell(value)
                line.append(done)
            else:
                line.append(cell(value))
        writer.writerow(line)
        count += 1
    return count


def _write_jsonl(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], out: TextIO) -> int:
    """One JSON object a line, keys in ``columns`` order, as ``json.dumps`` writes it (``", "`` and
    ``": "``), built from per-cell encodings: repeated tuple and UTC time cells encoded once."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    keys = [(name, encode(name) + ": ") for name in columns]
    memo: dict[tuple[str, Any], str] = {}
    count = 0
    for row in rows:
        parts = []
        for name, key in keys:
            value: Any = row.get(name)
            kind = type(value)
            if kind is str:
                parts.append(key + encode(value))
            elif kind is int:
                parts.append(key + int.__repr__(value))
            elif kind is tuple or (kind is datetime and value.tzinfo is UTC):
                done = memo.get((name, value))
                if done is None:
                    if len(memo) >= 4096:
                        memo.clear()
                    done = memo[(name, value)] = key + encode(json_value(value))
                parts.append(done)
            else:
                parts.append(key + encode(json_value(value)))
        out.write("{" + ", ".join(parts) + "}\n")
        count += 1
    return count


#: Data rows per XLSX sheet: a sheet holds 1,048,576 rows, the first is the header. Further rows
#: go on to sheets "rows 2", "rows 3", ...
XLSX_SHEET_ROWS = 1_048_575


def _write_xlsx(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], output: Path) -> int:
    """A workbook written row by row (see :mod:`leakmon.workflows.xlsx_stream`): string cells, never
    formulas, as XlsxWriter's constant-memory mode with ``strings_to_*`` off wrote them, 10x cheaper."""
    from leakmon.workflows.xlsx_stream import write_xlsx

    return write_xlsx(rows, columns, output, sheet_rows=XLSX_SHEET_ROWS)
