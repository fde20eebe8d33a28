"""A post's hit rows held on disk, not in memory: a dump of millions of subjects has millions of hits.

The analyzer adds rows as the matcher hands over each block's hits; full batches (one row per
identity, the most confident winning) are pickled to an anonymous temporary file, deleted when
closed. The store reads them back batch by batch inside its one transaction. The rows hold digests,
masked values and redacted locators only, never an identifier value.

A consumer that runs while the file is still being matched (``scan --jobs N`` storing or writing
its output as it goes) takes batches as they are cut with :meth:`HitSpool.released`: a batch is
handed over once every file token in it is resolved and every batch before it was handed over, so
the consumer sees exactly the batches, in exactly the order, that :meth:`HitSpool.batches` gives
after the fact. A batch taken this way is never written to disk; one that must wait (its file's
SHA-256 is not known yet: the first moments of a ``scan --jobs`` file) stays in memory up to
:data:`LIVE_WAITING_BATCHES` batches, and past that is spilled and read back when its file is done.
"""

from __future__ import annotations

import pickle
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from storage.hitrow import HitRow, best_rows

#: Where a row holds its file's SHA-256 (or the token standing in for it): first (see _resolved).
_FILE = HitRow._fields.index("attachment_sha256")
if _FILE != 0:  # pragma: no cover - a change of HitRow's fields must revisit _resolved
    raise ImportError("HitRow.attachment_sha256 is no longer the first field")
_FILE_OF = itemgetter(_FILE)

#: Rows held in memory before a batch goes to disk (and the size of one bulk insert).
BATCH_ROWS = 20_000

#: Batches cut for a live consumer that may wait in memory for their file's SHA-256 (about 8 MB
#: each): writing and reading back such a batch cost about 1.5 us a row, for batches that wait a
#: moment only.
LIVE_WAITING_BATCHES = 4


class HitSpool:
    """Append-only batches of :class:`HitRow`; iterate :meth:`batches` any number of times, or take
    them as they are cut with :meth:`released` (then only so)."""

    def __init__(
        self, *, batch_rows: int | None = None, directory: Path | None = None, waiting_batches: int | None = None
    ) -> None:
        self._batch_rows = batch_rows or BATCH_ROWS  # read now: a test (or a bench) may set BATCH_ROWS
        self._waiting_max = LIVE_WAITING_BATCHES if waiting_batches is None else waiting_batches
        self._waiting = 0  # cut batches held in memory for released()
        self._directory = directory
        self._pending: list[HitRow] = []
        self._file: IO[bytes] | None = None
        self._spilled = 0
        self._files: dict[str, str | None] = {}
        self._unresolved: set[str] = set()
        #: batches cut and not yet released, with the unresolved file tokens in them: in memory (rows,
        #: tokens; live only) or spilled (None, tokens)
        self._cut: deque[tuple[Sequence[tuple[Any, ...]] | None, frozenset[str]]] = deque()
        self._live = False  # released() was called: cut batches wait for it, not for batches()
        self._read_at = 0  # where the next spilled batch to release starts in the file
        self.hits = 0  # rows added (before de-duplication)

    def file_token(self) -> str:
        """A stand-in for the SHA-256 of a file still being read (see :meth:`resolve_file`)."""
        token = f"\x00file{len(self._files)}"
        self._files[token] = None
        self._unresolved.add(token)
        return token

    def resolve_file(self, token: str, sha256: str | None) -> None:
        """The file behind ``token`` was read whole: its rows carry ``sha256`` from now on."""
        self._files[token] = sha256
        self._unresolved.discard(token)

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

    def released(self, *, final: bool = False) -> Iterator[list[HitRow]]:
        """The batches cut so far that can be handed over now, in order, each once (see the module
        docstring); ``final``: every batch left, the last partial one included (all files read).

        Once called, :meth:`batches` is no longer available: the batches went to this consumer.
        """
        self._live = True
        while self._cut:
            rows, tokens = self._cut[0]
            if tokens & self._unresolved and not final:
                return
            self._cut.popleft()
            if rows is not None:
                self._waiting -= 1
            else:
                assert self._file is not None  # noqa: S101 - a spilled batch is in the file
                self._file.seek(self._read_at)
                rows = pickle.load(self._file)  # noqa: S301 - our own temporary file
                self._read_at = self._file.tell()
                self._file.seek(0, 2)
            yield self._resolved(rows)
        if final and self._pending:
            pending, self._pending = self._pending, []
            yield self._resolved(best_rows(pending))

    def batches(self) -> Iterator[list[HitRow]]:
        """Every batch in the order added, each with one row per identity."""
        if self._live:
            raise RuntimeError("the spool's batches were released to a live consumer")
        if self._file is not None:
            self._file.seek(0)
            for _ in range(self._spilled):
                yield self._resolved(pickle.load(self._file))  # noqa: S301 - our own temporary file
            self._file.seek(0, 2)
        if self._pending:
            yield self._resolved(best_rows(self._pending))

    def _resolved(self, rows: Sequence[tuple[Any, ...]]) -> list[HitRow]:
        """Rows as :class:`HitRow`, file tokens replaced by the files' SHA-256.

        One tuple made a row (``tuple.__new__``: ``HitRow._make`` is a Python call and checks the
        length; the rows are the spool's own); a row's file is its first field, and a value that is
        not a token (a SHA-256 already, or None) maps to itself."""
        new = tuple.__new__
        files = self._files
        if not files:
            return [new(HitRow, row) for row in rows]
        get = files.get
        return [new(HitRow, (get(row[0], row[0]), *row[1:])) for row in rows]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._pending = []
        self._cut.clear()
        self._waiting = 0

    def __len__(self) -> int:
        return self.hits

    def __enter__(self) -> HitSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _spill(self) -> None:
        rows = best_rows(self._pending)
        self._pending = []
        unresolved = self._unresolved
        tokens = frozenset(unresolved.intersection(map(_FILE_OF, rows))) if unresolved else frozenset()
        if self._live and ((not tokens and not self._cut) or self._waiting < self._waiting_max):
            self._cut.append((rows, tokens))  # kept for released(): nothing before it waits, or room to wait
            self._waiting += 1
            return
        self._cut.append((None, tokens))  # what released() needs to know of it without reading it
        if self._file is None:
            self._file = tempfile.TemporaryFile(dir=self._directory)  # noqa: SIM115 - closed by close()
        # Plain tuples: a named tuple pickles through its class, three times slower both ways.
        plain = [tuple(row) for row in rows]
        pickle.dump(plain, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._spilled += 1
