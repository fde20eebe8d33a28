"""Table output: rich for short listings, a plain aligned layout for long ones (rich is slow per row)."""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len

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
    assert lines[0] == f"hits ({RICH_TABLE_ROWS + 1} rows)"
    assert lines[1].split() == COLUMNS
    body = lines[3:]
    assert len(body) == RICH_TABLE_ROWS + 1
    assert body[-1].split() == [f"cust-{RICH_TABLE_ROWS}", "010-****-5678", "name"]
    starts = {cell_len(line[: line.index("name")]) for line in body}  # Hangul is two cells wide
    assert len(starts) == 1


def test_a_short_table_is_drawn_by_rich(tmp_path: Path) -> None:
    out = tmp_path / "hits.txt"
    write_records(_records(3), fmt="table", columns=COLUMNS, output=str(out), title="hits")
    text = out.read_text(encoding="utf-8")
    assert "┏" in text
    assert "cust-2" in text
