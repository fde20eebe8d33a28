"""Rows from structured sources (xlsx, json, sql) grouped into TextBlocks with consecutive numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from crawlers.model import TextBlock

#: Tabs and line ends inside a value become spaces (a value stays on its row).
FLATTEN = str.maketrans({"\t": " ", "\n": " ", "\r": " "})
ROW_DELIMITER = "\t"


def cell_text(value: object) -> str:
    """One field as text on one line: integral floats lose ``.0``, dates are ISO, None is empty."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value).translate(FLATTEN)


class RowBlocks:
    """Collects rows numbered by the caller; yields a block when full or when numbering jumps."""

    def __init__(
        self,
        locator: str,
        block_chars: int,
        *,
        unit: str = "row",
        columns: tuple[str, ...] | None = None,
        delimiter: str | None = ROW_DELIMITER,
    ) -> None:
        self.locator = locator
        self.columns = columns
        self._unit = unit
        self._delimiter = delimiter
        self._block_chars = block_chars
        self._rows: list[str] = []
        self._size = 0
        self._first = 0

    def add(self, number: int, row: str) -> Iterator[TextBlock]:
        """Add row ``number`` (1-based); yields the previous block if it is full or not adjacent."""
        if self._rows and (number != self._first + len(self._rows) or self._size >= self._block_chars):
            yield from self.flush()
        if not self._rows:
            self._first = number
        self._rows.append(row)
        self._size += len(row) + 1

    def add_all(self, number: int, rows: list[str]) -> list[TextBlock]:
        """:meth:`add` of ``rows`` numbered from ``number``, as one call; the blocks they complete."""
        done: list[TextBlock] = []
        for row in rows:
            if self._rows and (number != self._first + len(self._rows) or self._size >= self._block_chars):
                done.extend(self.flush())
            if not self._rows:
                self._first = number
            self._rows.append(row)
            self._size += len(row) + 1
            number += 1
        return done

    def flush(self) -> Iterator[TextBlock]:
        """The pending block, if any."""
        if self._rows:
            yield TextBlock(
                self.locator,
                "\n".join(self._rows),
                self._first,
                unit=self._unit,
                columns=self.columns,
                delimiter=self._delimiter,
            )
            self._rows = []
            self._size = 0
