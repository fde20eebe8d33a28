"""Caps and hostile input: every limit ends as a finding with a reason, never as a dead process."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import py7zr
import pytest
from files_builders import blocks, gzip_bytes, kinds, lines_at, zip_of

from crawlers.files import (
    STATUS_OK,
    STATUS_PARTIAL,
    STATUS_SKIPPED,
    ReadLimits,
    read_attachment,
    read_bytes,
    read_path,
    read_stream,
)
from crawlers.files.limits import MiB
from crawlers.model import Attachment, Finding

LIMITS = ReadLimits(block_bytes=64 * 1024)


def test_zip_bomb_member_is_cut_by_ratio_and_other_members_are_read() -> None:
    data = zip_of({"bomb.txt": b"0" * (16 * MiB), "users.txt": b"kim@naver.com 010-1234-5678\n"})
    assert len(data) < 50_000
    reading = read_bytes("bomb.zip", data, limits=LIMITS)
    items = list(reading)
    assert lines_at(items)["bomb.zip!users.txt:line 1"] == "kim@naver.com 010-1234-5678"
    (cap,) = [item for item in items if isinstance(item, Finding)]
    assert (cap.kind, cap.locator) == ("cap_ratio", "bomb.zip!bomb.txt")
    assert "max_ratio=200" in cap.reason
    # what came out before the cap was still scanned, and the member stopped there
    bomb_text = sum(len(block.text) for block in blocks(items) if block.locator == "bomb.zip!bomb.txt")
    assert bomb_text < 4 * MiB
    assert reading.report.expanded_bytes < 4 * MiB
    assert reading.report.status == STATUS_PARTIAL


def test_total_expanded_bytes_cap_stops_the_whole_file() -> None:
    members = {f"part{i}.txt": (f"row {i} ".encode() * 40_000) for i in range(20)}  # ~300 KB each, low ratio
    reading = read_bytes("many.zip", zip_of(members), limits=ReadLimits(max_total_bytes=1 * MiB, block_bytes=65536))
    items = list(reading)
    assert kinds(items) == ["cap_bytes"]
    read_members = {block.locator for block in blocks(items)}
    assert "many.zip!part0.txt" in read_members
    assert "many.zip!part19.txt" not in read_members
    assert reading.report.status == STATUS_PARTIAL


def test_gzip_bomb_is_cut() -> None:
    data = gzip_bytes(b"\n" * (16 * MiB))
    reading = read_bytes("bomb.csv.gz", data, limits=LIMITS)
    items = list(reading)
    assert kinds(items) == ["cap_ratio"]
    assert reading.report.expanded_bytes < len(data) * 200 + 2 * MiB < 16 * MiB


def test_7z_bomb_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "bomb.7z"
    with py7zr.SevenZipFile(path, "w") as archive:
        archive.writestr(b"\x00" * (8 * MiB), "zeros.txt")
    reading = read_path(path, limits=LIMITS)
    items = list(reading)
    assert "cap_ratio" in kinds(items)
    assert reading.report.expanded_bytes < 8 * MiB


def test_member_count_cap() -> None:
    data = zip_of({f"m{i}.txt": f"line {i}\n".encode() for i in range(30)})
    reading = read_bytes("wide.zip", data, limits=ReadLimits(max_members=10))
    items = list(reading)
    assert len(blocks(items)) == 10
    assert kinds(items) == ["cap_members"]
    assert reading.report.members == 11


def test_20_mb_single_line_is_scanned_in_pieces_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "oneline.txt"
    filler = "kim@naver.com,010-1234-5678," * (20 * MiB // 28)
    path.write_text("before 010-1111-2222\n" + filler + "\nafter lee@daum.net\n")
    limits = ReadLimits(max_line_bytes=1 * MiB)
    reading = read_path(path, limits=limits)
    pieces = 0
    tail = []
    for item in reading:
        if isinstance(item, Finding):
            assert item.kind == "cap_line"
            assert "line 2" in item.reason
        elif item.first_line == 2:
            pieces += 1
            assert len(item.text) <= limits.max_line_bytes
            assert item.text.startswith("kim@naver.com") or item.text.startswith("010-1234-5678")
        else:
            tail.append((item.first_line, item.text))
    assert 20 <= pieces <= 22  # pieces end after a delimiter, so a little under 1 MiB each
    assert tail == [(1, "before 010-1111-2222"), (3, "after lee@daum.net")]
    assert reading.report.status == STATUS_PARTIAL
    assert kinds(reading.report.findings) == ["cap_line"]


def test_binary_file_with_text_extension_is_skipped() -> None:
    reading = read_bytes("users.txt", bytes(range(256)) * 64)
    items = list(reading)
    assert (blocks(items), kinds(items)) == ([], ["skipped_binary"])
    assert "text file name" in items[0].reason  # type: ignore[union-attr]
    assert reading.report.status == STATUS_SKIPPED


def test_known_unsupported_format() -> None:
    items = list(read_bytes("leak.pdf", b"%PDF-1.7\n..."))
    assert kinds(items) == ["unsupported_format"]


def test_time_cap() -> None:
    reading = read_bytes("slow.txt", b"line\n" * 1000, limits=ReadLimits(max_seconds=1e-9))
    items = list(reading)
    assert kinds(items) == ["cap_time"]
    assert reading.report.status == STATUS_SKIPPED


def test_file_size_cap_reads_nothing() -> None:
    reading = read_bytes("big.txt", b"x" * 2048, limits=ReadLimits(max_file_bytes=1024))
    assert kinds(reading) == ["cap_bytes"]
    assert reading.report.sha256 is not None


def test_blocks_stay_newline_aligned_and_bounded() -> None:
    data = "".join(f"{i},user{i}@naver.com,010-{i % 10000:04d}-{i % 9999:04d}\n" for i in range(20_000)).encode()
    items = list(read_bytes("rows.csv", data, limits=LIMITS))
    expected = 1
    for block in blocks(items):
        assert block.first_line == expected
        assert len(block.text) <= 2 * LIMITS.block_bytes
        expected += block.text.count("\n") + 1
    assert expected == 20_001


def test_stream_reader_spools_archives_and_hashes_what_it_read() -> None:
    data = zip_of({"users.txt": b"kim@naver.com\n"})
    reading = read_stream("upload.zip", io.BufferedReader(io.BytesIO(data)))  # type: ignore[arg-type]
    assert lines_at(reading) == {"upload.zip!users.txt:line 1": "kim@naver.com"}
    assert reading.report.status == STATUS_OK


def test_attachment_not_fetched_is_reported() -> None:
    reading = read_attachment(Attachment(name="dump.7z", skipped_reason="over the 20 MB download cap"))
    items = list(reading)
    assert kinds(items) == ["not_fetched"]
    assert reading.report.status == STATUS_SKIPPED


def test_early_close_marks_the_report_aborted(tmp_path: Path) -> None:
    path = tmp_path / "rows.txt"
    path.write_bytes(b"x\n" * 200_000)
    with read_path(path, limits=LIMITS) as reading:
        next(reading)
    assert reading.report.status == STATUS_PARTIAL
    assert kinds(reading.report.findings) == ["aborted"]


def test_report_is_refused_before_the_end() -> None:
    reading = read_bytes("a.txt", b"a\n")
    with pytest.raises(RuntimeError, match="read the file to the end"):
        _ = reading.report


def test_stored_zip_member_is_not_ratio_capped() -> None:
    data = zip_of({"big.txt": b"kim@naver.com\n" * 200_000}, compression=zipfile.ZIP_STORED)
    reading = read_bytes("stored.zip", data, limits=LIMITS)
    items = list(reading)
    assert kinds(items) == []
    assert sum(block.text.count("\n") + 1 for block in blocks(items)) == 200_000


def test_every_limit_is_documented_and_defaulted() -> None:
    for name, field in ReadLimits.model_fields.items():
        assert field.description, name
        assert field.default is not None, name


def test_every_emitted_kind_is_documented() -> None:
    import re

    import crawlers.files
    from crawlers.files.report import FINDING_KINDS

    package = Path(crawlers.files.__file__).parent
    source = "\n".join(path.read_text() for path in package.glob("*.py"))
    emitted = set(re.findall(r'Finding\([^()]*?"([a-z_]+)"', source, re.DOTALL))
    emitted |= set(re.findall(r'CapExceeded\(\s*"([a-z_]+)"', source))
    assert len(emitted) >= 15
    assert emitted <= set(FINDING_KINDS)


def test_close_before_start_still_gives_a_report() -> None:
    reading = read_bytes("a.txt", b"a\n")
    reading.close()
    assert reading.report.status == STATUS_SKIPPED
    assert kinds(reading.report.findings) == ["aborted"]


def test_xlsx_with_huge_shared_strings_is_refused_before_openpyxl_loads_it(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "strings.xlsx"
    workbook = xlsxwriter.Workbook(str(path))  # shared strings (openpyxl would write inline ones)
    sheet = workbook.add_worksheet()
    for row in range(2000):
        sheet.write_row(row, 0, [f"unique-name-{row}", f"user{row}@naver.com"])
    workbook.close()
    reading = read_path(path, limits=ReadLimits(max_xlsx_strings_bytes=10_000))
    items = list(reading)
    assert (blocks(items), kinds(items)) == ([], ["cap_memory"])
    assert reading.report.status == STATUS_SKIPPED
