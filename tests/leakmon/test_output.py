"""Table output: rich for short listings, a plain aligned layout for long ones (rich is slow per row)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from leakmon import output
from leakmon.output import RICH_TABLE_ROWS, write_records

COLUMNS = ["subject_ref", "masked", "id_type"]  # Hangul in the middle: the next column must still line up


def _records(n: int) -> list[dict[str, object]]:
    return [
        {"subject_ref": f"cust-{i}", "id_type": "name", "masked": "김*수" if i % 2 else "010-****-5678"}
        for i in range(n)
    ]


def test_a_long_table_is_plain_aligned_text_with_every_row(tmp_path: Path) -> None:
    out = tmp_path / "hits.txt"
    write_records(_records(RICH_TABLE_ROWS + 1), fmt="table", columns=COLUMNS, output=str(out), title="hits")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "hits"
    assert lines[1].split() == COLUMNS
    assert lines[-1] == f"({RICH_TABLE_ROWS + 1} rows)"
    body = lines[3:-1]
    assert len(body) == RICH_TABLE_ROWS + 1
    assert body[-1].split() == [f"cust-{RICH_TABLE_ROWS}", "010-****-5678", "name"]
    starts = {cell_len(line[: line.index("name")]) for line in body}  # Hangul is two cells wide
    assert len(starts) == 1


def test_a_short_table_is_drawn_by_rich_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(output, "console", Console(file=screen, force_terminal=True, width=120))
    write_records(_records(3), fmt="table", columns=COLUMNS, title="hits")
    text = screen.getvalue()
    assert "┏" in text
    assert "cust-2" in text


def test_a_piped_table_has_full_width_rows_never_letter_wrapped(capsys: pytest.CaptureFixture[str]) -> None:
    long_ref = "customer-reference-" + "x" * 150  # wider than any 80-column terminal
    write_records([{"subject_ref": long_ref, "masked": "김*수", "id_type": "name"}], fmt="table", columns=COLUMNS)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == COLUMNS
    assert lines[2].split() == [long_ref, "김*수", "name"]  # one row, one line, the cell whole


def test_records_are_written_as_they_come(tmp_path: Path) -> None:
    out = tmp_path / "hits.jsonl"
    with output.RecordWriter(fmt="jsonl", columns=COLUMNS, output=str(out)) as writer:
        writer.write(_records(1)[0])
        writer._target.flush()
        assert out.read_text(encoding="utf-8").count("\n") == 1  # on disk before the writer closes
