"""A streaming XLSX writer for big row lists: a row is one string, never an object per cell.

XlsxWriter costs about 47 µs a row of ten cells even in ``constant_memory`` mode (a call chain per
cell), so a million-row export spent about 50 s of CPU there. This writer emits the worksheet XML
itself, row by row, into a deflated zip entry: text cells are inline strings (``t="inlineStr"``, as
XlsxWriter's constant-memory mode writes them), so no spreadsheet evaluates them as formulas and the
value stays exactly as given; numbers and booleans are typed cells.
Escaping follows XlsxWriter: ``& < >`` as entities, control characters as ``_xHHHH_`` (and a literal
``_xHHHH_`` keeps its underscore escaped as ``_x005F_``), text cut at Excel's 32,767 characters.
Rows past ``sheet_rows`` go on to sheets ``rows 2``, ``rows 3``, ... (a sheet holds 1,048,576 rows,
the first is the header). Memory holds one chunk of rows and a bounded cache of repeated cells.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import quoteattr

#: Excel's longest cell text.
MAX_TEXT = 32_767
#: Rows joined into one write of the zip entry.
_CHUNK_ROWS = 2_000
_CACHE_ENTRIES = 4_096
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_LITERAL = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SPACE = (" ", "\t", "\n", "\r")

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_HEAD = f'{_DECL}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><sheetData>'
_SHEET_TAIL = "</sheetData></worksheet>"
_STYLES = (
    f'{_DECL}<styleSheet xmlns="{_MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def escape_text(value: str) -> str:
    """Text as the body of an inline string's ``<t>`` element (see the module docstring)."""
    if len(value) > MAX_TEXT:
        value = value[:MAX_TEXT]
    if _NEEDS_ESCAPE.search(value) is not None:
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        value = _LITERAL.sub(r"_x005F\1", value)
        value = _CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", value)
    return value


def _text_cell(value: str) -> str:
    """The part of a text cell after its reference: ``" t="inlineStr"><is><t>...</t></is></c>``."""
    body = escape_text(value)
    space = ' xml:space="preserve"' if body.startswith(_SPACE) or body.endswith(_SPACE) else ""
    return f'" t="inlineStr"><is><t{space}>{body}</t></is></c>'


def _flat(value: Any) -> Any:
    """Text, a number or a boolean, as :func:`leakmon.workflows.tables.flat` makes them."""
    from leakmon.workflows.tables import flat

    return flat(value)


def _cell_tail(value: Any) -> str:
    """A value's cell after its reference (None is an empty text cell, as XlsxWriter wrote it)."""
    kind = type(value)
    if kind is str:
        return _text_cell(value)
    if kind is bool:
        return f'" t="b"><v>{int(value)}</v></c>'
    if kind is int:
        return f'"><v>{value}</v></c>'
    if kind is float and math.isfinite(value):
        return f'"><v>{value:.16G}</v></c>'  # as XlsxWriter writes a number
    if kind is float:
        return _text_cell(str(value))  # a cell holds no NaN or infinity: written as its text
    return _cell_tail(_flat(value))


def column_letters(count: int) -> list[str]:
    """``A``, ``B``, ... ``Z``, ``AA``, ... for ``count`` columns."""
    letters = []
    for index in range(count):
        name, number = "", index + 1
        while number:
            number, rest = divmod(number - 1, 26)
            name = chr(65 + rest) + name
        letters.append(name)
    return letters


def write_xlsx(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], output: Path, *, sheet_rows: int, compresslevel: int = 1
) -> int:
    """Write ``rows`` (``columns`` of each, a header first) as a workbook; returns the rows written."""
    return write_xlsx_pieces(
        _mapping_pieces(rows, columns), columns, output, sheet_rows=sheet_rows, compresslevel=compresslevel
    )


def cell_refs(count: int) -> list[str]:
    """``<c r="A``, ``<c r="B``, ...: the start of each column's cell, before the row number."""
    return [f'<c r="{letter}' for letter in column_letters(count)]


def cell_tail(value: Any) -> str:
    """A value's cell after its reference and row number, as :func:`write_xlsx` writes it."""
    return _cell_tail(value)


def _mapping_pieces(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> Iterator[list[str]]:
    refs = cell_refs(len(columns))
    pairs = list(zip(columns, refs, strict=True))
    memo: dict[Any, str] = {}
    for row in rows:
        pieces = ['<row r="']
        current = '">'
        for name, ref in pairs:
            value: Any = row.get(name)
            kind = type(value)
            if kind is str:
                tail = _text_cell(value)
            elif kind is int:
                tail = f'"><v>{value}</v></c>'
            elif kind is tuple or (kind is datetime and value.tzinfo is UTC):
                # Repeated cells (a dump's subjects share their types, venues and times):
                # made once. Other zones are not cached: equal instants print differently.
                tail = memo.get(value, "")
                if tail == "":
                    if len(memo) >= _CACHE_ENTRIES:
                        memo.clear()
                    tail = memo[value] = _cell_tail(value)
            else:
                tail = _cell_tail(value)
            pieces.append(current + ref)
            current = tail
        pieces.append(current + "</row>")
        yield pieces


def write_xlsx_pieces(
    rows: Iterable[Sequence[str]], columns: Sequence[str], output: Path, *, sheet_rows: int, compresslevel: int = 1
) -> int:
    """Write rows given as their XML cut where the row number goes (the row's XML is the number
    joined between the pieces: ``<row r="`` N ``"><c r="A`` N ``"><v>1</v></c>...</row>``), a header
    of ``columns`` first; returns the rows written. A caller that renders the cells it repeats once
    hands over a few shared strings a row."""
    refs = cell_refs(len(columns))
    header = "".join(f"{ref}1{_text_cell(name)}" for name, ref in zip(columns, refs, strict=True))
    header_row = f'<row r="1">{header}</row>'
    sheets: list[str] = []
    count = 0
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as book:
        entry: IO[bytes] | None = None
        line = 0
        chunk: list[str] = []
        try:
            for pieces in rows:
                if entry is None or line == sheet_rows:
                    if entry is not None:
                        chunk.append(_SHEET_TAIL)
                        entry.write("".join(chunk).encode("utf-8"))
                        entry.close()
                        chunk = []
                    sheets.append("rows" if not sheets else f"rows {len(sheets) + 1}")
                    entry = book.open(f"xl/worksheets/sheet{len(sheets)}.xml", "w", force_zip64=True)
                    chunk.append(_SHEET_HEAD + header_row)
                    line = 0
                line += 1  # data rows of this sheet; the header is row 1
                count += 1
                chunk.append(str(line + 1).join(pieces))
                if len(chunk) >= _CHUNK_ROWS:
                    entry.write("".join(chunk).encode("utf-8"))
                    chunk = []
            if entry is None:
                sheets.append("rows")
                entry = book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
                chunk.append(_SHEET_HEAD + header_row)
            chunk.append(_SHEET_TAIL)
            entry.write("".join(chunk).encode("utf-8"))
        finally:
            if entry is not None:
                entry.close()
        _write_parts(book, sheets)
    return count


def _write_parts(book: zipfile.ZipFile, sheets: list[str]) -> None:
    """The workbook, its relationships, styles and content types around the written sheets."""
    names = "".join(
        f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, start=1)
    )
    book.writestr(
        "xl/workbook.xml", f'{_DECL}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{names}</sheets></workbook>'
    )
    sheet_type = f"{_REL}/worksheet"
    links = "".join(
        f'<Relationship Id="rId{i}" Type="{sheet_type}" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    styles = f'<Relationship Id="rId{len(sheets) + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
    book.writestr(
        "xl/_rels/workbook.xml.rels", f'{_DECL}<Relationships xmlns="{_PKG_REL}">{links}{styles}</Relationships>'
    )
    book.writestr("xl/styles.xml", _STYLES)
    book.writestr(
        "_rels/.rels",
        f'{_DECL}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" Type="{_REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>',
    )
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{kind}.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    book.writestr(
        "[Content_Types].xml",
        f'{_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{kind}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{kind}.styles+xml"/>{overrides}</Types>',
    )
