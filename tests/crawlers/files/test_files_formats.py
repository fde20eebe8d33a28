"""Text and tabular formats: every format yields newline-aligned blocks with the right locators."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from files_builders import blocks, kinds, lines_at
from openpyxl import Workbook

from crawlers.files import STATUS_OK, STATUS_PARTIAL, read_bytes, read_path

KOREAN_CSV = "이름,전화번호,이메일,주소\n김철수,010-1234-5678,kim@naver.com,서울특별시 강남구\n"


def test_plain_text_lines_keep_numbers(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("첫 줄\n연락처 010-1234-5678\r\n\r\nlast line without newline", encoding="utf-8")
    reading = read_path(path)
    found = lines_at(reading)
    assert found == {
        "notes.txt:line 1": "첫 줄",
        "notes.txt:line 2": "연락처 010-1234-5678",
        "notes.txt:line 4": "last line without newline",
    }
    report = reading.report
    assert (report.status, report.detected_type, report.findings) == (STATUS_OK, "text", ())
    assert report.size == path.stat().st_size
    assert report.sha256 is not None
    assert len(report.sha256) == 64


@pytest.mark.parametrize(
    ("name", "delimiter"),
    [("users.csv", ","), ("users.tsv", "\t"), ("users.txt", "|"), ("users.dat", ";")],
)
def test_delimited_tables_sniff_delimiter_and_korean_header(name: str, delimiter: str) -> None:
    text = (
        KOREAN_CSV.replace(",", delimiter) + delimiter.join(["이영희", "010-2222-3333", "lee@daum.net", "부산"]) + "\n"
    )
    reading = read_bytes(name, text.encode())
    items = list(reading)
    (block,) = blocks(items)
    assert block.columns == ("이름", "전화번호", "이메일", "주소")
    assert (block.delimiter, block.unit, block.first_line) == (delimiter, "row", 1)
    rows = block.text.split("\n")
    assert rows[0].split(delimiter)[0] == "이름"  # the header stays as row 1
    assert rows[2].split(delimiter)[2] == "lee@daum.net"
    assert kinds(items) == []
    assert reading.report.detected_type == "csv"


def test_csv_quoted_fields_stay_on_their_physical_line() -> None:
    data = 'name,phone,memo\n"Kim, C",010-1111-2222,"two\nlines"\nLee,010-3333-4444,plain\n'
    reading = read_bytes("q.csv", data.encode())
    found = lines_at(reading)
    assert reading.report.findings == ()
    assert found == {
        "q.csv:row 1": "name,phone,memo",
        "q.csv:row 2": "Kim  C,010-1111-2222,two lines",
        "q.csv:row 4": "Lee,010-3333-4444,plain",
    }


def test_csv_without_header_has_no_columns() -> None:
    data = "김철수,010-1234-5678\n이영희,010-2222-3333\n"
    items = list(read_bytes("noheader.csv", data.encode()))
    (block,) = blocks(items)
    assert (block.columns, block.first_line, block.text) == (None, 1, data.rstrip("\n"))
    assert kinds(items) == []


def test_cp949_text_with_cp949_only_syllables_decodes() -> None:
    text = "똠방각하,샾,쌰\n주소,서울,010-1234-5678\n"
    reading = read_bytes("legacy.txt", text.encode("cp949"))
    items = list(reading)
    assert "\n".join(block.text for block in blocks(items)) == text.rstrip("\n")
    assert kinds(items) == []


def test_utf16_with_bom() -> None:
    text = "이름\t전화번호\n홍길동\t010-9876-5432\n"
    items = list(read_bytes("u16.txt", text.encode("utf-16")))
    assert kinds(items) == []
    (block,) = blocks(items)
    assert block.text == "이름\t전화번호\n홍길동\t010-9876-5432"
    assert block.columns == ("이름", "전화번호")


def test_invalid_utf8_is_replaced_and_recorded() -> None:
    data = "정상 줄 kim@naver.com\n".encode() + b"broken \xff\xfe\xc3 line 010-1234-5678\n" + "끝\n".encode()
    reading = read_bytes("mixed.txt", data)
    items = list(reading)
    text = "\n".join(block.text for block in blocks(items))
    assert "kim@naver.com" in text
    assert "010-1234-5678" in text
    assert "\ufffd" in text
    assert kinds(items) == ["decode_fallback"]
    assert reading.report.status == STATUS_PARTIAL


def test_combolist_keeps_login_only_never_the_password() -> None:
    data = (
        "kim@naver.com:Secr3t!pw\nlee@daum.net:hunter2\npark@gmail.com:pa:ss:word\n"
        "https://site.kr/login:choi:pw9\njung@nate.com;semi9colon\n"
    )
    reading = read_bytes("combo.txt", data.encode())
    items = list(reading)
    (block,) = blocks(items)
    assert kinds(items) == []
    assert block.text.split("\n") == [
        "kim@naver.com",
        "lee@daum.net",
        "park@gmail.com",
        "https://site.kr/login:choi",
        "jung@nate.com",
    ]
    everything = repr(items) + repr(reading.report)
    for secret in ("Secr3t", "hunter2", "pa:ss", "pw9", "semi9colon"):
        assert secret not in everything
    assert reading.report.detected_type == "combolist"


def test_xlsx_rows_with_header_columns(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "회원"
    sheet.append(["이름", "전화번호", "가입일"])
    sheet.append(["김철수", "010-1234-5678", 20240101])
    sheet.append(["이영희", 1022223333.0, None])
    other = workbook.create_sheet("Sheet2")
    other.append(["only one row kim@naver.com"])
    path = tmp_path / "members.xlsx"
    workbook.save(path)
    reading = read_path(path)
    items = list(reading)
    first, second = blocks(items)
    assert (first.locator, first.columns, first.first_line, first.delimiter) == (
        "members.xlsx#회원",
        ("이름", "전화번호", "가입일"),
        1,
        "\t",
    )
    assert first.text == "이름\t전화번호\t가입일\n김철수\t010-1234-5678\t20240101\n이영희\t1022223333"
    assert (second.locator, second.text, second.columns) == ("members.xlsx#Sheet2", "only one row kim@naver.com", None)
    assert kinds(items) == []
    assert reading.report.detected_type == "xlsx"


def test_json_array_one_record_per_row_flattened() -> None:
    records = [
        {"name": "김철수", "contact": {"phone": "010-1234-5678", "email": "kim@naver.com"}},
        {"name": "이영희", "contact": {"phone": "010-2222-3333"}, "extra": "x"},
    ]
    data = json.dumps({"meta": 1, "users": records}, ensure_ascii=False).encode()
    items = list(read_bytes("dump.json", data))
    assert kinds(items) == []
    block, root = blocks(items)
    assert block.locator == "dump.json#users"
    assert block.columns == ("name", "contact.phone", "contact.email", "extra")
    assert block.text.split("\n") == ["김철수\t010-1234-5678\tkim@naver.com\t", "이영희\t010-2222-3333\t\tx"]
    assert (block.locate(0), block.locate(1)) == ("dump.json#users[0]", "dump.json#users[1]")
    assert (root.locate(0), root.text, root.columns) == ("dump.json#$", "1", ("meta",))


def test_invalid_json_falls_back_to_text() -> None:
    items = list(read_bytes("broken.json", b'{"phone": "010-1234-5678",\n'))
    assert lines_at(items) == {"broken.json:line 1": '{"phone": "010-1234-5678",'}
    assert kinds(items) == ["format_fallback"]


def test_json_lines_keep_line_numbers_and_bad_lines() -> None:
    data = b'{"email": "a@naver.com", "phone": "010"}\nnot json a@b.com\n\n{"email": "c@daum.net"}\n'
    items = list(read_bytes("log.jsonl", data))
    assert kinds(items) == []
    found = lines_at(items)
    assert found == {
        "log.jsonl:line 1": "a@naver.com\t010",
        "log.jsonl:line 2": "not json a@b.com",
        "log.jsonl:line 4": "c@daum.net\t",
    }


MYSQL_DUMP = """-- MySQL dump 10.13
CREATE TABLE `members` (
  `id` int NOT NULL,
  `name` varchar(20),
  `phone` varchar(20),
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;
INSERT INTO `members` VALUES (1,'김철수','010-1234-5678'),(2,'O\\'Brien','010-2222-3333');
INSERT INTO `orders` (`order_id`, `email`) VALUES (7,'kim@naver.com');
INSERT INTO `members` VALUES (3,NULL,'010-4444-5555');
UPDATE members SET phone='010-9999-0000' WHERE id=1;
"""


def test_sql_dump_inserts_become_rows_with_columns() -> None:
    items = list(read_bytes("shop.sql", MYSQL_DUMP.encode()))
    assert kinds(items) == []
    found = lines_at(items)
    assert found["shop.sql#members:row 1"] == "1\t김철수\t010-1234-5678"
    assert found["shop.sql#members:row 2"] == "2\tO'Brien\t010-2222-3333"
    assert found["shop.sql#members:row 3"] == "3\t\t010-4444-5555"
    assert found["shop.sql#orders:row 1"] == "7\tkim@naver.com"
    assert found["shop.sql:line 11"] == "UPDATE members SET phone='010-9999-0000' WHERE id=1;"
    columns = {block.locator: block.columns for block in blocks(items)}
    assert columns["shop.sql#members"] == ("id", "name", "phone")
    assert columns["shop.sql#orders"] == ("order_id", "email")


def test_postgres_copy_rows_keep_line_numbers() -> None:
    dump = "COPY public.users (id, email) FROM stdin;\n1\tkim@naver.com\n2\tlee@daum.net\n\\.\n"
    items = list(read_bytes("pg.sql", dump.encode()))
    assert kinds(items) == []
    copy_block = next(block for block in blocks(items) if block.columns)
    assert (copy_block.columns, copy_block.first_line, copy_block.delimiter) == (("id", "email"), 2, "\t")
    assert copy_block.text == "1\tkim@naver.com\n2\tlee@daum.net"


def test_html_text_only() -> None:
    page = (
        "<html><head><style>.x{}</style><script>var leak='010-0000-0000'</script></head>"
        "<body><h1>판매</h1><p>샘플: kim@naver.com</p><p>010-1234-5678</p></body></html>"
    )
    items = list(read_bytes("post.html", page.encode()))
    assert kinds(items) == []
    (block,) = blocks(items)
    assert block.text == "판매\n샘플: kim@naver.com\n010-1234-5678"


def test_utf16_without_bom_is_recognised() -> None:
    text = "name\tphone\nkim\t010-1234-5678\n"
    items = list(read_bytes("export.txt", text.encode("utf-16-le")))
    assert kinds(items) == []
    (block,) = blocks(items)
    assert block.text == text.rstrip("\n")


def test_insert_with_one_tuple_per_line_becomes_rows_with_columns() -> None:
    dump = (
        "INSERT INTO `members` (`name`, `phone`) VALUES\n"
        "('김철수', '010-1234-5678'),\n"
        "\n"
        "('이영희', '010-2222-3333');\n"
        "UPDATE members SET phone='010-9999-0000';\n"
        "INSERT INTO `members` (`name`, `phone`) VALUES\n"
        "('박지성', '011-456-7890')\n"
        "-- the statement above lost its ';'\n"
    )
    items = list(read_bytes("pma.sql", dump.encode()))
    assert kinds(items) == []
    found = lines_at(items)
    assert found["pma.sql#members:row 1"] == "김철수\t010-1234-5678"
    assert found["pma.sql#members:row 2"] == "이영희\t010-2222-3333"
    assert found["pma.sql#members:row 3"] == "박지성\t011-456-7890"
    assert found["pma.sql:line 5"] == "UPDATE members SET phone='010-9999-0000';"
    assert found["pma.sql:line 8"] == "-- the statement above lost its ';'"
    assert {block.locator: block.columns for block in blocks(items)}["pma.sql#members"] == ("name", "phone")


def test_a_tuple_cut_across_lines_stays_plain_text() -> None:
    dump = "INSERT INTO t (memo, phone) VALUES\n('line one\nline two', '010-1234-5678');\n"
    items = list(read_bytes("cut.sql", dump.encode()))
    assert kinds(items) == []
    found = lines_at(items)
    assert found["cut.sql:line 2"] == "('line one"
    assert found["cut.sql:line 3"] == "line two', '010-1234-5678');"


def test_display_name_is_the_locator_root(tmp_path: Path) -> None:
    path = tmp_path / "0f3a9c.bin"
    path.write_bytes(b"kim@naver.com\n")
    reading = read_path(path, display_name="유출샘플.txt")
    assert lines_at(reading) == {"유출샘플.txt:line 1": "kim@naver.com"}
    assert reading.report.findings == ()


def test_text_with_stray_nul_bytes_is_still_read() -> None:
    data = b"kim@naver.com\x00\x00\n" + b"lee@daum.net 010-1234-5678\n" * 50
    reading = read_bytes("padded.txt", data)
    items = list(reading)
    assert lines_at(items)["padded.txt:line 2"] == "lee@daum.net 010-1234-5678"
    assert kinds(items) == []


def test_csv_malformed_quoting_keeps_raw_lines_and_reads_on() -> None:
    data = 'name,phone\n"Kim"x,010-1111-2222\nLee,"010-3333-4444"\n"Park"y,010-5555-6666\nChoi,010-7777-8888\n'
    items = list(read_bytes("bad.csv", data.encode()))
    assert lines_at(items) == {
        "bad.csv:row 1": "name,phone",
        "bad.csv:row 2": '"Kim"x,010-1111-2222',
        "bad.csv:row 3": "Lee,010-3333-4444",
        "bad.csv:row 4": '"Park"y,010-5555-6666',
        "bad.csv:row 5": "Choi,010-7777-8888",
    }
    assert kinds(items) == []


def test_html_inline_markup_does_not_split_a_value() -> None:
    # Issue 13: a page scanned as a file kept every text node on its own line, so a phone number
    # split by inline tags was three lines; inline elements now join, block elements still break.
    page = (
        "<html><body><p>연락처 <span>010</span>-<span>1234</span>-<b>5678</b></p>"
        "<table><tr><td>kim@naver.com</td><td>서울</td></tr></table><p>a<br>b</p></body></html>"
    )
    (block,) = blocks(list(read_bytes("page.html", page.encode())))
    assert block.text.split("\n") == ["연락처 010-1234-5678", "kim@naver.com", "서울", "a", "b"]


def test_html_source_indentation_between_inline_tags_is_a_space() -> None:
    page = (
        "<html><body><p>연락처\n  <span>010</span>\n  <span>1234</span>\n  <span>5678</span>\n</p>"
        "<pre>kim,010-1111-2222\nlee,010-3333-4444</pre></body></html>"
    )
    (block,) = blocks(list(read_bytes("page.html", page.encode())))
    assert block.text.split("\n") == ["연락처 010 1234 5678", "kim,010-1111-2222", "lee,010-3333-4444"]
