"""Issue 15 item 10: inputs that used to be skipped or misread without a word."""

from __future__ import annotations

import pytest
from files_builders import blocks, kinds, lines_at

from crawlers.files import STATUS_OK, STATUS_SKIPPED, read_bytes
from crawlers.model import Finding

ROWS = "name,phone,email\n" + "".join(f"user{i},010-1234-{i:04d},u{i}@naver.com\n" for i in range(40))


@pytest.mark.parametrize("extra", [b"", b"x"], ids=["even", "odd"])
def test_a_stray_utf16_bom_on_an_ascii_csv_is_dropped_and_reported(extra: bytes) -> None:
    reading = read_bytes("users.csv", b"\xff\xfe" + ROWS.encode() + extra)
    items = list(reading)
    text = "\n".join(block.text for block in blocks(items))
    assert "010-1234-0039,u39@naver.com" in text
    assert blocks(items)[0].columns == ("name", "phone", "email")
    (finding,) = [item for item in items if isinstance(item, Finding)]
    assert finding.kind == "decode_bom"
    assert "utf-8" in finding.reason
    assert reading.report.status == STATUS_OK


def test_a_stray_bom_before_cp949_text_reads_the_cp949() -> None:
    items = list(read_bytes("users.txt", b"\xfe\xff" + "똠방각하 010-1234-5678\n".encode("cp949")))
    assert lines_at(items) == {"users.txt:line 1": "똠방각하 010-1234-5678"}
    assert kinds(items) == ["decode_bom"]


def test_real_utf16_keeps_its_bom() -> None:
    for encoding in ("utf-16", "utf-16-be"):
        data = ROWS.encode(encoding) if encoding == "utf-16" else b"\xfe\xff" + ROWS.encode(encoding)
        items = list(read_bytes("u16.csv", data))
        assert kinds(items) == []
        assert "u39@naver.com" in blocks(items)[-1].text


def test_text_delimited_by_control_bytes_is_read_not_skipped() -> None:
    """Hive-style rows (\\x01 between fields) have far over 3 % control bytes in the first 4 KB."""
    rows = "".join(f"user{i}\x01010-2222-{i:04d}\x01k{i}@daum.net\x02\n" for i in range(200))
    reading = read_bytes("export.txt", rows.encode())
    items = list(reading)
    text = "\n".join(block.text for block in blocks(items))
    assert "010-2222-0199" in text
    assert "k150@daum.net" in text
    (finding,) = [item for item in items if isinstance(item, Finding)]
    assert finding.kind == "control_bytes"
    assert "%" in finding.reason
    assert reading.report.status == STATUS_OK


def test_binary_still_skipped_with_the_share_in_the_finding() -> None:
    for data in (bytes(range(256)) * 64, b"\x00" * 8192):
        reading = read_bytes("users.txt", data)
        items = list(reading)
        assert (blocks(items), kinds(items)) == ([], ["skipped_binary"])
        assert "% control bytes" in items[0].reason  # type: ignore[union-attr]
        assert reading.report.status == STATUS_SKIPPED
