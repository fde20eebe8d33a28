"""Findings and reports describe what happened, never the content: no identifier leaks through them."""

from __future__ import annotations

import pytest
from files_builders import raw_zip, zip_of

from crawlers.files import ReadLimits, read_bytes
from crawlers.model import Finding

PHONE = "010-9876-5432"
EMAIL = "victim.kim@naver.com"
ROW = f"김피해,{PHONE},{EMAIL}\n".encode()

HOSTILE = {
    "binary.txt": b"\x00\x01" + ROW + bytes(range(256)) * 4,
    "broken-utf8.txt": ROW + b"\xff\xfe\xc3\x28" + ROW,
    "long-line.txt": ROW.rstrip(b"\n") * 20_000 + b"\n" + ROW,
    "truncated.zip": zip_of({"users.csv": ROW * 500})[:300],
    "bomb.zip": zip_of({"users.csv": ROW + b"0" * (4 << 20)}),
    "locked.zip": raw_zip([(b"users.csv", ROW)], password=b"pw"),
    "bad.json": b'{"phone": "' + PHONE.encode() + b'",',
    "broken.sql": b"INSERT INTO t VALUES ('" + PHONE.encode() + b"', \n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_findings_and_report_hold_no_content(name: str) -> None:
    reading = read_bytes(name, HOSTILE[name], limits=ReadLimits(max_line_bytes=64 * 1024))
    findings = [item for item in reading if isinstance(item, Finding)]
    stored = repr(findings) + repr(reading.report)
    assert PHONE not in stored
    assert EMAIL not in stored
    assert "김피해" not in stored
