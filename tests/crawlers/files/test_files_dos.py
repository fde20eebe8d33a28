"""Issue 15 item 7: hostile files end as findings within the limits (generated here, never committed)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from files_builders import blocks, kinds

from crawlers.files import STATUS_SKIPPED, ReadLimits, read_path


def _workbook_with_renamed_strings(tmp_path: Path, part: str) -> Path:
    """An xlsx whose shared-strings table is stored as ``part``, named so by its content type and relationship."""
    import xlsxwriter

    plain = tmp_path / "plain.xlsx"
    workbook = xlsxwriter.Workbook(str(plain))  # shared strings (openpyxl would write inline ones)
    sheet = workbook.add_worksheet()
    for row in range(2000):
        sheet.write_row(row, 0, [f"unique-name-{row}", f"user{row}@naver.com"])
    workbook.close()
    renamed = tmp_path / "renamed.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(renamed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename in ("[Content_Types].xml", "xl/_rels/workbook.xml.rels"):
                data = data.replace(b"sharedStrings.xml", part.removeprefix("xl/").encode())
            name = part if info.filename == "xl/sharedStrings.xml" else info.filename
            target.writestr(name, data)
    return renamed


@pytest.mark.parametrize("part", ["xl/strs.xml", "xl/worksheets/notes.xml"])
def test_a_renamed_shared_strings_part_is_still_capped(tmp_path: Path, part: str) -> None:
    path = _workbook_with_renamed_strings(tmp_path, part)
    opened = list(read_path(path))  # openpyxl does load the renamed table: the rows are there
    assert "user1999@naver.com" in "\n".join(block.text for block in blocks(opened))
    reading = read_path(path, limits=ReadLimits(max_xlsx_strings_bytes=10_000))
    items = list(reading)
    assert (blocks(items), kinds(items)) == ([], ["cap_memory"])
    assert part in items[0].reason  # type: ignore[union-attr]
    assert reading.report.status == STATUS_SKIPPED
