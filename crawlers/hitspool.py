"""A post's hit rows held on disk, not in memory: a dump of millions of subjects has millions of hits.

The analyzer adds rows as the matcher hands over each block's hits; full batches (one row per
identity, the most confident winning) are pickled to an anonymous temporary file, deleted when
closed. The store reads them back batch by batch inside its one transaction. The rows hold digests,
masked values and redacted locators only, never an identifier value.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import IO, Any

from storage.repositories.hits import HitRow, best_rows

#: Where a row holds its file's SHA-256 (or the token standing in for it).
_FILE = HitRow._fields.index("attachment_sha256")

#: Rows held in memory before a batch goes to disk (and the size of one bulk insert).
BATCH_ROWS = 20_000


class HitSpool:
    """Append-only batches of :class:`HitRow`; iterate :meth:`batches` any number of times."""

    def __init__(self, *, batch_rows: int = BATCH_ROWS, directory: Path | None = None) -> None:
        self._batch_rows = batch_rows
        self._directory = directory
        self._pending: list[HitRow] = []
        self._file: IO[bytes] | None = None
        self._spilled = 0
        self._files: dict[str, str | None] = {}
        self.hits = 0  # rows added (before de-duplication)

    def file_token(self) -> str:
        """A stand-in for the SHA-256 of a file still being read (see :meth:`resolve_file`)."""
        token = f"\x00file{len(self._files)}"
        self._files[token] = None
        return token

    def resolve_file(self, token: str, sha256: str | None) -> None:
        """The file behind ``token`` was read whole: its rows carry ``sha256`` from now on."""
        self._files[token] = sha256

    def add(self, rows: Iterable[HitRow]) -> None:
        """Add rows; a full batch goes to disk."""
        remaining = iter(rows)
        while True:
            room = self._batch_rows - len(self._pending)
            before = len(self._pending)
            self._pending.extend(islice(remaining, room))  # at most one batch in memory
            added = len(self._pending) - before
            self.hits += added
            if added < room:
                return
            self._spill()

    def batches(self) -> Iterator[list[HitRow]]:
        """Every batch in the order added, each with one row per identity."""
        if self._file is not None:
            self._file.seek(0)
            for _ in range(self._spilled):
                yield self._resolved(pickle.load(self._file))  # noqa: S301 - our own temporary file
            self._file.seek(0, 2)
        if self._pending:
            yield self._resolved(best_rows(self._pending))

    def _resolved(self, rows: Sequence[tuple[Any, ...]]) -> list[HitRow]:
        """Rows as :class:`HitRow`, file tokens replaced by the files' SHA-256."""
        make = HitRow._make
        files = self._files
        if not files:
            return [make(row) for row in rows]
        return [
            make((*row[:_FILE], files[row[_FILE]], *row[_FILE + 1 :])) if row[_FILE] in files else make(row)
            for row in rows
        ]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._pending = []

    def __len__(self) -> int:
        return self.hits

    def __enter__(self) -> HitSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(dir=self._directory)  # noqa: SIM115 - closed by close()
        # Plain tuples: a named tuple pickles through its class, three times slower both ways.
        plain = [tuple(row) for row in best_rows(self._pending)]
        pickle.dump(plain, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._spilled += 1
        self._pending = []
