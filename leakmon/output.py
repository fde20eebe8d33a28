"""Where human-readable output goes: rich consoles for stdout and stderr, and record writers.

Records are written as they come (:class:`RecordWriter`): JSON lines and CSV row by row, tables
with widths taken from their first rows. A rich table is drawn only for a short listing on a
terminal; anywhere else (a pipe, a log, a file) a table is plain aligned text with full-width rows,
never cells folded a letter a line.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

from rich.console import Console

# re-exported: defined in leakmon.choices, where no rich loads
from leakmon.choices import LogFormatOption as LogFormatOption
from leakmon.choices import ProgressFormat as ProgressFormat

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


FORMATS = ("table", "jsonl", "csv")
#: Above this many rows a table is laid out plainly: rich measures every cell (about 1.4 ms a row),
#: so a 30k-hit scan would spend most of a minute drawing its table. Plain column widths come from
#: this many first rows (a wider later cell pushes its row along, it is never cut).
RICH_TABLE_ROWS = 500


class RecordWriter:
    """Writes records to stdout or ``output`` as they come (use as a context manager)."""

    def __init__(
        self, *, fmt: str, columns: Sequence[str], output: str | None = None, title: str | None = None
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r} (table, jsonl, csv)")
        self.fmt = fmt
        self.columns = list(columns)
        self.title = title
        self.count = 0
        encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
        self._handle = Path(output).open("w", encoding=encoding, newline="") if output else None  # noqa: SIM115
        self._target: IO[str] = self._handle or sys.stdout
        self._csv = csv.writer(self._target) if fmt == "csv" else None
        if self._csv is not None:
            self._csv.writerow(self.columns)
        self._held: list[list[str]] | None = [] if fmt == "table" else None
        self._widths: list[int] | None = None

    def write(self, record: dict[str, object]) -> None:
        self.count += 1
        if self.fmt == "jsonl":
            self._target.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        elif self._csv is not None:
            self._csv.writerow([safe_cell(record.get(c)) for c in self.columns])
        else:
            cells = ["" if record.get(c) is None else str(record.get(c)) for c in self.columns]
            if self._widths is not None:
                self._target.write(_plain_line(cells, self._widths))
                return
            held = self._held if self._held is not None else []
            held.append(cells)
            if len(held) > RICH_TABLE_ROWS:
                self._start_plain()

    def write_many(self, records: Iterable[dict[str, object]]) -> None:
        for record in records:
            self.write(record)

    def write_row(self, values: Sequence[object]) -> None:
        """A record given as its values in ``columns`` order: what :meth:`write` writes for it,
        without the dict (CSV and table cells straight from the values)."""
        if self.fmt == "jsonl":
            self.write(dict(zip(self.columns, values, strict=True)))
        elif self._csv is not None:
            self.count += 1
            self._csv.writerow([safe_cell(v) for v in values])
        else:
            self.write(dict(zip(self.columns, values, strict=True)))

    def write_json_lines(self, lines: Sequence[str]) -> None:
        """JSON-lines records already rendered, each ending in a line break (``jsonl`` only): the
        bytes :meth:`write` would write for them (see :func:`leakmon.scan.jsonl_lines`), in one write."""
        if self.fmt != "jsonl":
            raise ValueError(f"JSON lines written to {self.fmt} output")
        self.count += len(lines)
        self._target.write("".join(lines))

    def close(self) -> None:
        try:
            if self._held is not None and self._widths is None:
                if self._handle is None and console.is_terminal:
                    self._rich_table(self._held)
                else:
                    self._start_plain()
            if self._widths is not None and self.title:
                self._target.write(f"({self.count} rows)\n")
            self._target.flush()
        finally:
            if self._handle is not None:
                self._handle.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start_plain(self) -> None:
        """Fix the widths from the rows held so far and write them (display width: Hangul lines up)."""
        from rich.cells import cell_len

        held = self._held or []
        self._widths = [max([cell_len(c), *(cell_len(row[i]) for row in held)]) for i, c in enumerate(self.columns)]
        if self.title:
            self._target.write(f"{self.title}\n")
        self._target.write(_plain_line(self.columns, self._widths))
        self._target.write(_plain_line(["-" * w for w in self._widths], self._widths))
        self._target.writelines(_plain_line(row, self._widths) for row in held)
        self._held = None

    def _rich_table(self, rows: list[list[str]]) -> None:
        from rich.table import Table

        table = Table(title=self.title, show_lines=False)
        for column in self.columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*row)
        console.print(table)


def _plain_line(values: Sequence[str], widths: Sequence[int]) -> str:
    from rich.cells import cell_len

    return "  ".join(v + " " * max(w - cell_len(v), 0) for v, w in zip(values, widths, strict=True)).rstrip() + "\n"


def write_records(
    records: Iterable[dict[str, object]],
    *,
    fmt: str,
    columns: Sequence[str],
    output: str | None = None,
    title: str | None = None,
) -> int:
    """Print records as a table, JSON lines or CSV, to stdout or ``output``; returns how many.

    CSV cells that a spreadsheet would run as a formula are neutralised (a leading quote).
    """
    with RecordWriter(fmt=fmt, columns=columns, output=output, title=title) as writer:
        writer.write_many(records)
    return writer.count


def safe_cell(value: object) -> str:
    """A CSV/XLSX cell that cannot start a formula (post text and names are attacker-written)."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text
