"""Loading the company's protected identifier set: normalize and hash in memory, store digests only.

Plaintext values live only in memory, for as long as one chunk takes: in this process, and with
``--jobs`` also in its forked workers, which get the rows through in-memory pipes and return digests
only. What reaches the database (or a ``protect hash`` output file) is (subject_ref, key id, type,
form, digest).
Invalid values are counted and reported by row number and type, never echoed.
"""

from __future__ import annotations

import csv
import itertools
import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from crawlers.parallel import ordered_map
from leakmon.errors import InputError
from leakmon.tables import Table, open_table
from matchers.engine import collector_paused
from matchers.keyed_hash import KeyedHasher
from matchers.protect import packed_forms
from storage.repositories.protected import DigestBatch, DigestGroup, StagedRow

HASHED_HEADER = ("subject_ref", "id_type", "form", "digest", "key_id")
BATCH_ROWS = 20_000
#: Rows per hashing chunk (the unit handed to a worker process).
CHUNK_ROWS = 10_000
MAX_LISTED_INVALID = 50
IGNORE = "-"

FormsOf = Callable[[str, str], list[tuple[str, str]]]


@dataclass
class ImportReport:
    """What an import or hash run did (counts only; no values)."""

    rows: int = 0
    values: int = 0
    digests: int = 0
    invalid: Counter[str] = field(default_factory=Counter)
    invalid_rows: list[tuple[int, str, str]] = field(default_factory=list)  # (row, type, reason)
    columns: dict[str, str] = field(default_factory=dict)

    def add_invalid(self, row: int, id_type: str, reason: str) -> None:
        self.invalid[id_type] += 1
        if len(self.invalid_rows) < MAX_LISTED_INVALID:
            self.invalid_rows.append((row, id_type, reason))


@dataclass(frozen=True)
class ColumnPlan:
    subject_index: int
    typed: tuple[tuple[int, str], ...]  # (column index, id type)


def plan_columns(
    header: Sequence[str], *, subject_column: str, mapping: dict[str, str], known_types: Iterable[str]
) -> ColumnPlan:
    """Decide which column is the subject and which type every other column holds.

    A column is typed by ``--column HEADER=TYPE`` or by a header equal to a type name; ``TYPE`` may
    be ``-`` to ignore a column on purpose. Any other column is an error that names it.
    """
    known = set(known_types)
    lowered = [h.strip().lower() for h in header]
    if subject_column.lower() not in lowered:
        raise InputError(f"no subject column {subject_column!r} in the header (use --subject-column)")
    for header_name, id_type in mapping.items():
        if header_name.lower() not in lowered:
            raise InputError(f"--column names {header_name!r}, which is not in the header")
        if id_type != IGNORE and id_type not in known:
            raise InputError(f"--column {header_name}={id_type}: unknown type (known: {', '.join(sorted(known))})")
    by_header = {k.lower(): v for k, v in mapping.items()}
    typed: list[tuple[int, str]] = []
    unmapped: list[str] = []
    subject_index = lowered.index(subject_column.lower())
    for index, name in enumerate(lowered):
        if index == subject_index:
            continue
        mapped = by_header.get(name) or (name if name in known else None)
        if mapped is None:
            unmapped.append(header[index])
        elif mapped != IGNORE:
            typed.append((index, mapped))
    if unmapped:
        raise InputError(
            "unmapped columns: "
            + ", ".join(repr(c) for c in unmapped)
            + " (name them by type, map them with --column HEADER=TYPE, or ignore with --column HEADER=-)"
        )
    if not typed:
        raise InputError("no identifier columns to import")
    return ColumnPlan(subject_index=subject_index, typed=tuple(typed))


RowChunk = tuple[int, Sequence[Sequence[str]]]  # (the first row's number, each row's cells)


@dataclass
class ChunkResult:
    """What hashing one chunk of rows produced (merged into the report in file order)."""

    staged: DigestBatch
    values: int
    invalid: list[tuple[int, str, str]]  # (row, type, reason); never the value


def hash_rows(
    table: Table,
    plan: ColumnPlan,
    hasher: KeyedHasher,
    forms_of: FormsOf,
    report: ImportReport,
    *,
    jobs: int = 1,
) -> Iterator[DigestBatch]:
    """Normalize and hash a table chunk by chunk; yields digest batches in file order, fills ``report``.

    With ``jobs`` > 1, forked worker processes normalize and hash while this process reads the file
    and stores what they return; at most ``2 * jobs`` chunks are in flight, so memory stays bounded.
    """
    chunks = _row_chunks(table, report)
    results: Iterator[ChunkResult]
    if jobs <= 1:
        results = (hash_chunk(hasher, forms_of, plan, chunk) for chunk in chunks)
    else:
        results = _hash_in_workers(hasher, forms_of, plan, chunks, jobs)
    # Every row read is a few small container objects that form no reference cycles: with the collector
    # on, its sweeps took about half of the reading-and-hashing time (1M identifiers: 1.4 -> 0.73 s CPU).
    with collector_paused():
        for result in results:
            report.values += result.values
            for row, id_type, reason in result.invalid:
                report.add_invalid(row, id_type, reason)
            report.digests += len(result.staged)
            yield result.staged


def _row_chunks(table: Table, report: ImportReport) -> Iterator[RowChunk]:
    """The table's rows, CHUNK_ROWS at a time: a CSV's straight from its reader (no tuple and row
    number per row: 500k rows 0.81-0.87 -> 0.49-0.55 s CPU), others' from their numbered rows."""
    number = 2
    if table.blocks is not None:
        for block in table.blocks(CHUNK_ROWS):
            report.rows += len(block)
            yield number, block
            number += len(block)
        return
    rows = iter(table.rows)
    while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
        report.rows += len(chunk)
        yield chunk[0][0], [row for _, row in chunk]


def hash_chunk(hasher: KeyedHasher, forms_of: FormsOf, plan: ColumnPlan, chunk: RowChunk) -> ChunkResult:
    """Normalize and hash one chunk (in this process or a worker), column by column: one bulk
    normalization per column (:meth:`matchers.protect.ProtectedForms.many`) and one native hashing
    call per type and form."""
    invalid: list[tuple[int, str, str]] = []
    subject_index, typed = plan.subject_index, plan.typed
    refs: dict[str, int] = {}
    first, kept = chunk
    numbers: Sequence[int] = range(first, first + len(kept))
    width = max(subject_index, *(index for index, _ in typed)) + 1
    columns: list[tuple[str, ...]] | None = None
    row_subjects: Sequence[int] | npt.NDArray[np.intp] = []
    if kept and min(map(len, kept)) >= width:  # the usual file: every row has every column
        columns = list(zip(*kept, strict=False))
        subjects = [cell.strip() for cell in columns[subject_index]]
        if all(subjects):
            refs = dict.fromkeys(subjects, 0)
            if len(refs) == len(subjects):  # one row per subject (the usual file): refs in row order
                row_subjects = np.arange(len(subjects), dtype=np.intp)
            else:
                refs = {}
                row_subjects = [refs.setdefault(subject, len(refs)) for subject in subjects]
        else:
            columns = None
    if columns is None:  # short rows or empty subject references: row by row
        refs = {}
        short_numbers: list[int] = []
        short_kept: list[Sequence[str]] = []
        short_subjects: list[int] = []
        for row_number, row in zip(numbers, kept, strict=True):
            subject = row[subject_index].strip() if subject_index < len(row) else ""
            if not subject:
                invalid.append((row_number, "subject_ref", "empty subject reference"))
                continue
            short_subjects.append(refs.setdefault(subject, len(refs)))
            short_kept.append(row)
            short_numbers.append(row_number)
        numbers, kept, row_subjects = short_numbers, short_kept, short_subjects
    subjects_of = np.array(row_subjects, dtype=np.uint32)
    groups: list[DigestGroup] = []
    values = 0
    for index, id_type in typed:
        if columns is not None:
            cells = [cell.strip() for cell in columns[index]]
        else:
            cells = [row[index].strip() if index < len(row) else "" for row in kept]
        present = list(range(len(cells))) if all(cells) else [i for i, cell in enumerate(cells) if cell]
        values += len(present)
        packed = packed_forms(forms_of, id_type, [cells[i] for i in present] if len(present) < len(cells) else cells)
        invalid += [(numbers[present[i]], id_type, reason) for i, reason in packed.invalid]
        owners = subjects_of[np.array(present, dtype=np.intp)]
        for part in packed.forms:
            digests = hasher.digest_packed(id_type, part.packed, part.width, part.form)
            groups.append(DigestGroup(id_type, part.form, owners[part.rows], digests))
    invalid.sort(key=lambda item: item[0])  # file order; a row's columns stay in plan order
    return ChunkResult(DigestBatch(hasher.key_id, list(refs), groups), values, invalid)


#: What forked workers inherit: (hasher, forms_of, plan). Set in the parent right before forking.
_WORKER: tuple[KeyedHasher, FormsOf, ColumnPlan] | None = None


def _hash_in_worker(chunk: RowChunk) -> ChunkResult:
    assert _WORKER is not None  # noqa: S101 - set by the parent before forking
    with collector_paused():  # as while the parent reads and hashes (above)
        return hash_chunk(*_WORKER, chunk)


def _hash_in_workers(
    hasher: KeyedHasher, forms_of: FormsOf, plan: ColumnPlan, chunks: Iterator[RowChunk], jobs: int
) -> Iterator[ChunkResult]:
    # Fork (not spawn): forms_of is a closure over the registry, and the key must not be pickled.
    # Workers never touch the database connection the parent may hold.
    global _WORKER
    _WORKER = (hasher, forms_of, plan)
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            yield from ordered_map(pool, _hash_in_worker, chunks, 2 * jobs)
    finally:
        _WORKER = None


def read_hashed(path: Path, *, expected_key_id: str, report: ImportReport) -> Iterator[list[StagedRow]]:
    """Read a ``protect hash`` output file (digests only) in batches."""
    table = open_table(path)
    if tuple(h.lower() for h in table.header) != HASHED_HEADER:
        raise InputError(f"{path} is not a `leakmon protect hash` file (header {','.join(HASHED_HEADER)})")
    batch: list[StagedRow] = []
    for row_number, row in table.rows:
        report.rows += 1
        try:
            subject, id_type, form, digest_hex, key_id = (cell.strip() for cell in row)
            digest = bytes.fromhex(digest_hex)
        except ValueError:
            report.add_invalid(row_number, "digest", "malformed hashed row")
            continue
        if len(digest) != 32 or not subject:
            report.add_invalid(row_number, id_type or "digest", "malformed hashed row")
            continue
        if key_id != expected_key_id:
            raise InputError(
                f"{path} row {row_number} was hashed with key {key_id}, but the active key is {expected_key_id}"
            )
        batch.append((subject, key_id, id_type, form, digest))
        report.digests += 1
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def write_hashed(batches: Iterable[Iterable[StagedRow]], out: IO[str]) -> None:
    """Write digests as the ``--hashed`` import format (hex digests; no plaintext)."""
    writer = csv.writer(out)
    writer.writerow(HASHED_HEADER)
    for batch in batches:
        writer.writerows(
            (subject, id_type, form, digest.hex(), key_id) for subject, key_id, id_type, form, digest in batch
        )


def parse_column_options(options: Sequence[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for option in options:
        header, sep, id_type = option.partition("=")
        if not sep or not header.strip() or not id_type.strip():
            raise InputError(f"--column {option!r}: expected HEADER=TYPE")
        mapping[header.strip()] = id_type.strip()
    return mapping


def open_planned(
    path: Path, *, subject_column: str, columns: Sequence[str], known_types: Iterable[str]
) -> tuple[Table, ColumnPlan]:
    """Open a company file and plan its columns (the shared first step of import, hash and rotate)."""
    table = open_table(path)
    plan = plan_columns(
        table.header, subject_column=subject_column, mapping=parse_column_options(columns), known_types=known_types
    )
    return table, plan
