"""XLSX workbooks, streamed with openpyxl read-only: one line per sheet row, cells joined by a tab."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from typing import IO

from openpyxl import load_workbook
from openpyxl.packaging.manifest import Manifest
from openpyxl.packaging.relationship import get_dependents
from openpyxl.xml.constants import ARC_CONTENT_TYPES, ARC_WORKBOOK_RELS, SHARED_STRINGS
from openpyxl.xml.functions import fromstring

from crawlers.files.budget import CapExceeded
from crawlers.files.context import Context, Item
from crawlers.files.records import ROW_DELIMITER, RowBlocks, cell_text
from crawlers.files.tabular import header_of

#: The relationship type of the shared-strings part (openpyxl finds it by content type; both are checked).
SHARED_STRINGS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
#: [Content_Types].xml and the workbook's relationships are tiny in real workbooks; bigger ones are refused.
INDEX_PART_BYTES = 1024 * 1024


def check_expansion(handle: IO[bytes], ctx: Context, where: str) -> None:
    """Charge the workbook's declared unpacked size before openpyxl unzips it.

    zipfile never returns more than a member's declared ``file_size``, so the declared sizes bound
    what openpyxl can expand; an over-budget or over-ratio workbook is refused up front, and so is
    one whose shared-strings table (held in memory by openpyxl) is too big. That part is found the
    way openpyxl finds it (its content type) and through the workbook's relationships, whatever its name.
    """
    with zipfile.ZipFile(handle) as archive:
        infos = archive.infolist()
        strings = shared_strings_parts(archive, where)
    limits = ctx.limits
    for info in infos:
        if info.filename in strings and info.file_size > limits.max_xlsx_strings_bytes:
            raise CapExceeded(
                "cap_memory",
                f"{where} shared strings ({info.filename!r}) unpack to {info.file_size} bytes, over "
                f"max_xlsx_strings_bytes={limits.max_xlsx_strings_bytes}; workbook not read",
            )
        ratio_cap = max(limits.ratio_min_bytes, info.compress_size * limits.max_ratio)
        if info.file_size > ratio_cap:
            raise CapExceeded(
                "cap_ratio", f"{where} part {info.filename!r} declares a ratio over max_ratio={limits.max_ratio:g}"
            )
    ctx.budget.charge(sum(info.file_size for info in infos))
    handle.seek(0)


def shared_strings_parts(archive: zipfile.ZipFile, where: str) -> set[str]:
    """Names of the parts openpyxl would load as the shared-strings table (by content type or relationship)."""
    parts = {"xl/sharedStrings.xml"}
    for index in (ARC_CONTENT_TYPES, ARC_WORKBOOK_RELS):
        info = archive.NameToInfo.get(index)
        if info is not None and info.file_size > INDEX_PART_BYTES:
            raise CapExceeded(
                "cap_memory", f"{where} part {index!r} unpacks to {info.file_size} bytes; workbook not read"
            )
    if ARC_CONTENT_TYPES in archive.NameToInfo:
        manifest = Manifest.from_tree(fromstring(archive.read(ARC_CONTENT_TYPES)))
        parts |= {override.PartName.lstrip("/") for override in manifest.findall(SHARED_STRINGS)}
    if ARC_WORKBOOK_RELS in archive.NameToInfo:
        rels = get_dependents(archive, ARC_WORKBOOK_RELS)
        parts |= {rel.target for rel in rels if rel.Type == SHARED_STRINGS_REL}
    return parts


def xlsx_blocks(handle: IO[bytes], locator: str, ctx: Context) -> Iterator[Item]:
    """Rows of every sheet as ``book.xlsx#Sheet``; the first row names the columns when it is a header
    (and stays in the text as row 1)."""
    check_expansion(handle, ctx, locator)
    workbook = load_workbook(handle, read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            sheet.reset_dimensions()  # a forged <dimension> must not pad every row to 16384 cells
            yield from _sheet_rows(sheet.iter_rows(values_only=True), f"{locator}#{sheet.title}", ctx)
    finally:
        workbook.close()


def _sheet_rows(rows: Iterator[tuple[object, ...]], locator: str, ctx: Context) -> Iterator[Item]:
    blocks = RowBlocks(locator, ctx.limits.block_bytes)
    first: list[str] = []
    count = 0
    for count, values in enumerate(rows, start=1):
        fields = [cell_text(value) for value in values]
        while fields and not fields[-1]:
            fields.pop()
        if count == 1:
            first = fields
            continue
        if count == 2:
            blocks.columns = header_of(first, fields)
            yield from blocks.add(1, ROW_DELIMITER.join(first))
        yield from blocks.add(count, ROW_DELIMITER.join(fields))
        if count % 1000 == 0:
            ctx.budget.check_time()
    if count == 1 and first:
        yield from blocks.add(1, ROW_DELIMITER.join(first))
    yield from blocks.flush()
