"""The streamed XLSX and JSON-lines writers read back as XlsxWriter's workbook and ``json.dumps`` did."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from leakmon.workflows import tables
from leakmon.workflows.xlsx_stream import MAX_TEXT, column_letters

T = datetime(2026, 12, 1, 3, 4, 5, tzinfo=UTC)
KST = timezone(timedelta(hours=9))
AWKWARD = [
    "plain",
    '=HYPERLINK("http://127.0.0.1/","x")',
    "+82-10-0000",
    "@cmd",
    "<b>&amp;</b> & <",
    "bell\x07 and nul\x00 and tab\t and lf\n",
    "_x0041_ is a literal",
    "  leading and trailing  ",
    "한글 이름 김민서",
    "\ufffe odd",
    "x" * (MAX_TEXT + 10),
    "",
]
COLUMNS = ["text", "number", "flag", "share", "when", "types", "none"]


def _rows() -> list[dict[str, Any]]:
    rows = []
    for i, text in enumerate(AWKWARD):
        rows.append(
            {
                "text": text,
                "number": i * 1000,
                "flag": i % 2 == 0,
                "share": i / 7,
                "when": T if i % 3 else T.astimezone(KST),
                "types": ("email", "phone") if i % 2 else (),
                "none": None,
            }
        )
    return rows


def _xlsxwriter_book(rows: list[dict[str, Any]], path: Path) -> None:
    """The writer this module replaced (constant memory, ``strings_to_*`` off): the oracle."""
    import xlsxwriter

    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    book = xlsxwriter.Workbook(str(path), {**options, "constant_memory": True})
    sheet = book.add_worksheet("rows")
    for col, name in enumerate(COLUMNS):
        sheet.write_string(0, col, name)
    for line, row in enumerate(rows, start=1):
        for col, name in enumerate(COLUMNS):
            value = tables.flat(row[name])
            if isinstance(value, str):
                sheet.write_string(line, col, value)
            else:
                sheet.write(line, col, value)
    book.close()


def _cells(path: Path) -> list[list[tuple[Any, str]]]:
    sheet = openpyxl.load_workbook(path)["rows"]
    return [[(c.value, c.data_type) for c in row] for row in sheet.iter_rows()]


def test_xlsx_reads_back_as_xlsxwriter_wrote_it(tmp_path: Path) -> None:
    rows = _rows()
    ours, theirs = tmp_path / "ours.xlsx", tmp_path / "theirs.xlsx"
    assert tables.write_rows(rows, COLUMNS, "xlsx", ours, io.StringIO()) == len(rows)
    _xlsxwriter_book(rows, theirs)
    mine, oracle = _cells(ours), _cells(theirs)
    assert mine == oracle
    assert all(kind != "f" for line in mine for _, kind in line)  # never a formula
    assert mine[2][0] == ('=HYPERLINK("http://127.0.0.1/","x")', "s")
    assert len(mine[11][0][0]) == MAX_TEXT  # cut at Excel's limit, as XlsxWriter cut it
    with zipfile.ZipFile(ours) as book:
        assert book.testzip() is None
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "\x07" not in sheet  # a control character is escaped, not written raw
    assert "_x0007_" in sheet


def test_column_letters_go_past_z() -> None:
    assert column_letters(28)[:3] == ["A", "B", "C"]
    assert column_letters(28)[25:] == ["Z", "AA", "AB"]
    assert column_letters(703)[-1] == "AAA"


@pytest.mark.parametrize("rows", [_rows(), []], ids=["awkward", "empty"])
def test_jsonl_lines_are_json_dumps_lines(rows: list[dict[str, Any]]) -> None:
    out = io.StringIO()
    assert tables.write_rows(rows, COLUMNS, "jsonl", None, out) == len(rows)
    expected = "".join(
        json.dumps({c: tables.json_value(r.get(c)) for c in COLUMNS}, ensure_ascii=False) + "\n" for r in rows
    )
    assert out.getvalue() == expected
    if rows:
        assert json.loads(out.getvalue().splitlines()[0])["when"] == T.astimezone(KST).isoformat()
