"""Reading the company's tabular files (CSV/TSV/XLSX with a header row), streaming, row by row.

Company exports come from Excel as often as from databases, so CSVs may be UTF-8 (with or
without BOM) or CP949; the encoding is decided from the first megabyte and fails loudly later
rather than guessing.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from leakmon.errors import InputError

_SNIFF_BYTES = 1 << 20


@dataclass(frozen=True)
class Table:
    """A header and an iterator of (row number, values); row 1 is the header."""

    header: tuple[str, ...]
    rows: Iterator[tuple[int, tuple[str, ...]]]
    size: int
    position: IO[bytes] | None  # for progress: .tell() of the underlying file
    #: CSV/TSV only: the same rows (numbered on from 2) in lists of up to ``n`` cell lists, without a
    #: tuple and a row number per row (what a protected-set import reads). Use ``rows`` or this, not both.
    blocks: Callable[[int], Iterator[list[list[str]]]] | None = None


def open_table(path: Path) -> Table:
    if not path.is_file():
        raise InputError(f"{path} is not a file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _open_xlsx(path)
    return _open_delimited(path, "\t" if suffix in (".tsv", ".tab") else None)


def _open_delimited(path: Path, delimiter: str | None) -> Table:
    raw = path.open("rb")
    head = raw.read(_SNIFF_BYTES)
    raw.seek(0)
    encoding = _detect_encoding(head, path)
    text = io.TextIOWrapper(raw, encoding=encoding, newline="", errors="strict")
    sample = head.decode(encoding, errors="ignore")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",\t;|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = tuple(cell.strip() for cell in next(reader))
    except StopIteration:
        raise InputError(f"{path} is empty: a header row is required") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: cannot decode the header as {encoding}") from None

    def rows() -> Iterator[tuple[int, tuple[str, ...]]]:
        number = 1
        try:
            for number, row in enumerate(reader, start=2):
                yield number, tuple(row)
        except UnicodeDecodeError:
            raise InputError(f"{path}: bytes after row {number} are not valid {encoding}") from None
        except csv.Error as exc:
            raise InputError(f"{path}: malformed CSV near row {number + 1} ({exc})") from None
        finally:
            raw.close()

    def blocks(size: int) -> Iterator[list[list[str]]]:
        number = 1  # the last row read whole
        block: list[list[str]] = []
        try:
            while True:
                block = []
                block.extend(itertools.islice(reader, size))  # keeps the rows read before an error
                if not block:
                    return
                number += len(block)
                yield block
        except UnicodeDecodeError:
            raise InputError(f"{path}: bytes after row {number + len(block)} are not valid {encoding}") from None
        except csv.Error as exc:
            raise InputError(f"{path}: malformed CSV near row {number + len(block) + 1} ({exc})") from None
        finally:
            raw.close()

    return Table(header=header, rows=rows(), size=path.stat().st_size, position=raw, blocks=blocks)


def _detect_encoding(head: bytes, path: Path) -> str:
    """The file's encoding: its byte order mark, checked against the bytes that follow, else UTF-8 or CP949.

    A byte order mark is only believed when the sample decodes under it, and a UTF-16 one only
    when the sample reads as text (a CSV's newlines and delimiters are ASCII, two bytes with a NUL
    in UTF-16): UTF-8 or CP949 bytes behind a UTF-16 mark decode to CJK-looking garbage that would
    otherwise be hashed and imported.
    """
    if head.startswith(codecs.BOM_UTF8):
        if not _decodes(head, "utf-8-sig"):
            raise InputError(f"{path}: starts with a UTF-8 byte order mark but is not UTF-8; re-save it as UTF-8 CSV")
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if not _decodes(head, "utf-16") or not _reads_as_text(head.decode("utf-16", errors="ignore")):
            raise InputError(
                f"{path}: starts with a UTF-16 byte order mark but is not UTF-16 text; re-save it as UTF-8 CSV"
            )
        return "utf-16"
    for encoding in ("utf-8", "cp949"):
        if _decodes(head, encoding):
            return encoding
    raise InputError(f"{path}: neither UTF-8 nor CP949; re-save it as UTF-8 CSV")


def _decodes(head: bytes, encoding: str) -> bool:
    """Does the sample decode strictly?

    The sample may end inside a multi-byte character: an incremental decoder keeps such a tail
    pending (final only when the sample is the whole file) instead of calling it invalid.
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        decoder.decode(head, final=len(head) < _SNIFF_BYTES)
    except UnicodeDecodeError:
        return False
    return True


def _reads_as_text(sample: str) -> bool:
    """A table's text: no control characters but tab and line ends, and a line end or a delimiter in it."""
    body = sample.lstrip("\ufeff")
    if any(ord(char) < 0x20 and char not in "\t\r\n" for char in body):
        return False
    return not body or any(mark in body for mark in "\n\r,\t;|")


def _open_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(f"{path}: not a readable XLSX workbook ({type(exc).__name__})") from None
    sheet = workbook.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    try:
        header = tuple("" if cell is None else str(cell).strip() for cell in next(values))
    except StopIteration:
        workbook.close()
        raise InputError(f"{path} is empty: a header row is required") from None

    def rows() -> Iterator[tuple[int, tuple[str, ...]]]:
        try:
            for number, row in enumerate(values, start=2):
                yield number, tuple("" if cell is None else _cell_text(cell) for cell in row)
        finally:
            workbook.close()

    return Table(header=header, rows=rows(), size=path.stat().st_size, position=None)


def _cell_text(cell: object) -> str:
    # Excel stores phone numbers typed as numbers without the leading zero: keep the digits as
    # they are; the phone canonicalizer restores a lost leading zero.
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)
