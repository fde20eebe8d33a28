"""JSON documents are streamed element by element: each element is a record with its own locator."""

from __future__ import annotations

import json

import pytest
from files_builders import blocks, kinds, lines_at

from crawlers.files import ReadLimits, read_bytes
from crawlers.files.jsondoc import MAX_ELEMENT_DEPTH
from crawlers.model import Finding


def _members(n: int) -> list[dict[str, object]]:
    return [{"id": i, "name": f"user{i}", "email": f"user{i}@example.com"} for i in range(n)]


def test_one_line_array_bigger_than_the_document_cap_is_one_record_per_element() -> None:
    data = json.dumps(_members(300), separators=(",", ":")).encode()
    assert b"\n" not in data
    limits = ReadLimits(max_document_bytes=1024, max_line_bytes=2048, block_bytes=1024)
    reading = read_bytes("users.json", data, limits=limits)
    found = lines_at(reading)
    assert kinds(reading) == []
    assert len(found) == 300
    assert found["users.json#[0]"] == "0\tuser0\tuser0@example.com"
    assert found["users.json#[299]"] == "299\tuser299\tuser299@example.com"
    assert reading.report.detected_type == "json"


def test_object_with_a_nested_main_list_and_metadata() -> None:
    document = {"exported": "2025-11-30", "data": {"count": 2, "members": _members(2)}}
    data = json.dumps(document, indent=2).encode()  # many lines: the structure decides, not the lines
    found = lines_at(read_bytes("dump.json", data))
    assert found == {
        "dump.json#data.members[0]": "0\tuser0\tuser0@example.com",
        "dump.json#data.members[1]": "1\tuser1\tuser1@example.com",
        "dump.json#$": "2025-11-30\t2",
    }


def test_scalar_elements_and_nested_lists_inside_an_element() -> None:
    document = [{"name": "kim", "phones": ["010-1", "010-2"], "addr": {"city": "Seoul"}}, "loose text", 7]
    found = lines_at(read_bytes("mixed.json", json.dumps(document).encode()))
    assert found == {
        "mixed.json#[0]": "kim\t010-1\t010-2\tSeoul",
        "mixed.json#[1]": "loose text",
        "mixed.json#[2]": "7",
    }


def _nested(depth: int) -> str:
    """An object ``depth`` levels deep, as JSON text (json.dumps itself recurses too deep)."""
    return '{"x":' * depth + '"deep@example.com"' + "}" * depth


def test_an_element_nested_1000_deep_is_skipped_alone_with_a_finding() -> None:
    data = ('[{"email": "a@example.com"},' + _nested(1000) + ',{"email": "b@example.com"}]').encode()
    reading = read_bytes("deep.json", data)
    items = list(reading)
    found = lines_at(items)
    assert found == {"deep.json#[0]": "a@example.com", "deep.json#[2]": "b@example.com"}
    (finding,) = [item for item in items if isinstance(item, Finding)]
    assert (finding.locator, finding.kind) == ("deep.json#[1]", "cap_depth")
    assert str(MAX_ELEMENT_DEPTH) in finding.reason


def test_an_element_at_the_depth_limit_is_read() -> None:
    found = lines_at(read_bytes("ok.json", f"[{_nested(MAX_ELEMENT_DEPTH)}]".encode()))
    assert list(found.values()) == ["deep@example.com"]


def test_damage_after_some_elements_keeps_them_and_reads_the_rest_as_text() -> None:
    data = json.dumps(_members(3000)).encode()[:-1] + b', {"email": "tail@example.com", oops}'
    assert len(data) > 2 * 64 * 1024  # more than the one chunk read again as text
    items = list(read_bytes("cut.json", data))
    found = lines_at(items)
    assert found["cut.json#[2]"] == "2\tuser2\tuser2@example.com"
    assert any("tail@example.com" in line for key, line in found.items() if key.startswith("cut.json:line"))
    assert kinds(items) == ["format_fallback"]


@pytest.mark.filterwarnings("error::DeprecationWarning")  # ijson is given bytes, never a text stream
def test_cp949_json_is_decoded() -> None:
    data = json.dumps([{"이름": "김철수", "email": "kim@naver.com"}], ensure_ascii=False).encode("cp949")
    found = lines_at(read_bytes("kr.json", data))
    assert found == {"kr.json#[0]": "김철수\tkim@naver.com"}


@pytest.mark.filterwarnings("error::DeprecationWarning")
def test_json_with_a_byte_order_mark_is_decoded() -> None:
    members = [{"이름": f"김철수{i}", "memo": "가" * 3000, "email": f"kim{i}@naver.com"} for i in range(40)]
    data = b"\xef\xbb\xbf" + json.dumps(members, ensure_ascii=False).encode()
    found = lines_at(read_bytes("bom.json", data))
    assert len(found) == 40
    assert found["bom.json#[39]"] == f"김철수39\t{'가' * 3000}\tkim39@naver.com"


def test_an_overlong_element_is_cut_into_pieces_with_a_finding() -> None:
    document = [{"memo": "word " * 2000, "email": "x@example.com"}]
    items = list(read_bytes("long.json", json.dumps(document).encode(), limits=ReadLimits(max_line_bytes=1000)))
    pieces = blocks(items)
    assert len(pieces) > 5
    assert all(len(block.text) <= 1000 and block.locate(0) == "long.json#[0]" for block in pieces)
    assert kinds(items) == ["cap_line"]
