"""A CSV read in blocks for `protect import` gives the rows, row numbers, errors and digests of the
row-by-row reading."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from leakmon import protect
from leakmon.errors import InputError
from leakmon.protect import ImportReport, hash_rows, plan_columns
from leakmon.tables import open_table
from matchers.keyed_hash import KeyedHasher
from matchers.protect import ProtectedForms
from matchers.registry import IdentifierRegistry

ROWS = [
    "subject_ref,phone,email",
    "s1,010-1234-5678,kim@example.com",
    '"s2","01098765432","multi\nline@example.com"',
    "s3,,lee@example.com",
    ",010-1111-2222,nobody@example.com",
    "s1,010-2222-3333,",
    "s4,not a phone,park@example.com",
    "s5,010 3333 4444",
    '"s,6",+82 10-4444-5555,"choi@example.com"',
    "s7,010.5555.6666,jung@example.com",
]


def _write(tmp_path: Path, text: bytes) -> Path:
    path = tmp_path / "set.csv"
    path.write_bytes(text)
    return path


@pytest.mark.parametrize("size", [1, 3, 100])
def test_blocks_are_the_rows(tmp_path: Path, size: int) -> None:
    path = _write(tmp_path, "\n".join(ROWS).encode() + b"\n")
    rows = [list(row) for _, row in open_table(path).rows]
    blocks = open_table(path).blocks
    assert blocks is not None
    assert [row for block in blocks(size) for row in block] == rows


@pytest.mark.parametrize("size", [1, 3, 4, 10_000])
def test_an_import_reads_the_same_batches_by_blocks_and_by_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """Short rows, empty refs, invalid values, a ref on two rows: the same digests, counts and
    invalid rows (by number) through blocks of any size as row by row."""
    monkeypatch.setattr(protect, "CHUNK_ROWS", size)
    path = _write(tmp_path, "\n".join(ROWS).encode() + b"\n")
    registry = IdentifierRegistry.default()
    hasher = KeyedHasher(os.urandom(32), "k1")
    forms = ProtectedForms(registry, partial=True)

    def run(table) -> tuple[list[tuple[str, str, str, str, bytes]], ImportReport]:  # type: ignore[no-untyped-def]
        report = ImportReport()
        plan = plan_columns(table.header, subject_column="subject_ref", mapping={}, known_types=registry.types)
        staged = [row for batch in hash_rows(table, plan, hasher, forms, report) for row in batch]
        return staged, report

    by_blocks = run(open_table(path))
    by_rows = run(dataclasses.replace(open_table(path), blocks=None))
    assert by_blocks == by_rows
    assert by_blocks[1].rows == len(ROWS) - 1
    assert by_blocks[1].invalid_rows  # the empty ref and the bad phone, by row number


@pytest.mark.parametrize(
    "bad",
    [b's9,"' + b"0" * 200_000 + b'",x@example.com\n', b"s9,010-1234-5678,\xff\xfe@example.com\n"],
    ids=["csv error", "bad bytes"],
)
@pytest.mark.parametrize("size", [2, 5, 10_000])
def test_an_error_in_a_block_names_the_row_the_row_reader_names(tmp_path: Path, bad: bytes, size: int) -> None:
    """A field over the csv module's limit, or bytes that are not UTF-8 past the first megabyte (the
    encoding is decided from it): the same message, row number included, read in blocks or by rows."""
    good = [f"s{i},010-1234-{i % 10_000:04d},u{i}@example.com\n".encode() for i in range(40_003)]
    path = _write(tmp_path, b"subject_ref,phone,email\n" + b"".join(good) + bad + good[0])
    with pytest.raises(InputError) as by_rows:
        list(open_table(path).rows)
    blocks = open_table(path).blocks
    assert blocks is not None
    with pytest.raises(InputError) as by_blocks:
        list(blocks(size))
    assert str(by_blocks.value) == str(by_rows.value)
    if b"\xff" in bad:  # decoding runs ahead of the rows handed out: a row at or before the bad one
        assert int(str(by_rows.value).split("after row ")[1].split()[0]) <= 40_004
    else:
        assert "near row 40005 " in str(by_rows.value)
