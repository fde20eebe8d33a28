"""Where human-readable output goes: rich consoles for stdout and stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def write_records(
    records: list[dict[str, object]],
    *,
    fmt: str,
    columns: list[str],
    output: str | None = None,
    title: str | None = None,
) -> None:
    """Print records as a rich table, JSON lines or CSV, to stdout or ``output``.

    CSV cells that a spreadsheet would run as a formula are neutralised (a leading quote).
    """
    import csv
    import json
    import sys

    from rich.table import Table

    if fmt not in ("table", "jsonl", "csv"):
        raise ValueError(f"unknown format {fmt!r} (table, jsonl, csv)")
    encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
    handle = Path(output).open("w", encoding=encoding, newline="") if output else None  # noqa: SIM115
    target = handle or sys.stdout
    try:
        if fmt == "jsonl":
            for record in records:
                target.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        elif fmt == "csv":
            writer = csv.writer(target)
            writer.writerow(columns)
            for record in records:
                writer.writerow([safe_cell(record.get(c)) for c in columns])
        elif len(records) > RICH_TABLE_ROWS:
            _plain_table(records, columns, target, title)
        else:
            table = Table(title=title, show_lines=False)
            for column in columns:
                table.add_column(column, overflow="fold")
            for record in records:
                table.add_row(*("" if record.get(c) is None else str(record.get(c)) for c in columns))
            if handle is not None:
                Console(file=handle, width=200).print(table)
            else:
                console.print(table)
    finally:
        if handle is not None:
            handle.close()


#: Above this many rows a table is laid out plainly: rich measures every cell (about 1.4 ms a row),
#: so a 30k-hit scan would spend most of a minute drawing its table.
RICH_TABLE_ROWS = 500


def _plain_table(records: list[dict[str, object]], columns: list[str], target: Any, title: str | None) -> None:
    """Aligned columns (display width, so Hangul lines up), two spaces apart; cells never folded."""
    from rich.cells import cell_len

    cells = [["" if record.get(c) is None else str(record.get(c)) for c in columns] for record in records]
    widths = [max([cell_len(c), *(cell_len(row[i]) for row in cells)]) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(v + " " * (w - cell_len(v)) for v, w in zip(values, widths, strict=True)).rstrip() + "\n"

    if title:
        target.write(f"{title} ({len(records)} rows)\n")
    target.write(line(list(columns)))
    target.write(line(["-" * w for w in widths]))
    target.writelines(line(row) for row in cells)


def safe_cell(value: object) -> str:
    """A CSV/XLSX cell that cannot start a formula (post text and names are attacker-written)."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text
