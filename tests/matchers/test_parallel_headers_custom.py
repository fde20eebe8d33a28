"""Headers, custom types, hits crossing process boundaries, and big files matched by
:class:`crawlers.parallel.ParallelScanner` (one and two jobs give the same rows)."""

from __future__ import annotations

import itertools
import json
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from crawlers.files import ReadLimits
from crawlers.model import TextBlock
from crawlers.parallel import ParallelScanner, block_ranges
from matchers.engine import Matcher
from matchers.headers import detect_header, header_type, map_headers
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.protect import protected_forms
from matchers.registry import IdentifierRegistry
from matchers.types.custom import CustomType
from storage.repositories.hits import HitRow
from tests.matchers.conftest import TEST_KEY

LIMITS = ReadLimits(block_bytes=4096)


def _dump(tmp_path: Path) -> Path:
    lines = []
    for i in range(3000):
        if i % 500 == 7:
            lines.append(f"{i},김철수,010-1234-5678,x")
        elif i % 700 == 3:
            lines.append(f"{i},someone,o1o-1234-5678,02-345-6789")
        else:
            lines.append(f"{i},홍길동,010-{i:04d}-0000,user{i}@example.com")
    path = tmp_path / "dump.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_block_ranges_cover_the_file_on_line_boundaries(tmp_path: Path) -> None:
    path = _dump(tmp_path)
    ranges = block_ranges(path, 4096)
    data = path.read_bytes()
    assert ranges[0][0] == 0
    assert ranges[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert all(data[e - 1 : e] == b"\n" for _, e in ranges)


def _line_rows(matcher: Matcher, path: Path, jobs: int, range_bytes: int = 4096) -> list[HitRow]:
    """The finished rows of ``path`` read in ranges by ``jobs`` workers, in file order."""
    scanner = ParallelScanner(matcher, jobs)
    scanner.range_bytes = range_bytes
    scan = scanner.line_file(path, path.name, LIMITS, "scan", None)
    assert scan is not None, "this file should be read in ranges"
    return [row for rows, _ in scan.rows for row in rows]


def _line(row: HitRow) -> int:
    """The 0-based line of a row located ``name:row N`` / ``name:line N`` (N 1-based)."""
    return int(row.locator.rpartition(" ")[2]) - 1


@pytest.mark.slow
def test_parallel_equals_serial(tmp_path: Path, matcher: Matcher) -> None:
    path = _dump(tmp_path)
    serial = _line_rows(matcher, path, 1)
    parallel = _line_rows(matcher, path, 2)
    assert serial == parallel
    lines = [_line(row) for row in serial]
    assert lines == sorted(lines)
    assert set(lines) == {7, 507, 1007, 1507, 2007, 2507, 3, 703, 1403, 2103, 2803}
    whole = matcher.scan_text(path.read_text(encoding="utf-8"))
    assert sorted({(h.line, h.id_type, h.digest) for h in whole}) == sorted(
        {(_line(row), row.id_type, row.digest) for row in serial}
    )


def test_hits_survive_the_trip_between_processes(matcher: Matcher) -> None:
    hits = matcher.scan_text("이름,전화\n김철수,010-1234-5678\n", columns=["이름", "전화"], delimiter=",")
    assert hits
    copies = pickle.loads(pickle.dumps(hits, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301 - our own bytes
    assert copies == hits
    assert [h.extra for h in copies] == [h.extra for h in hits]
    assert copies[0].explanation == hits[0].explanation


@pytest.mark.parametrize("jobs", [1, 2])
def test_digests_storage_does_not_confirm_are_dropped_and_subjects_narrowed(matcher: Matcher, jobs: int) -> None:
    """A matcher that confirms without a way for workers to (no ``after_fork``) scans in this process."""
    hits = matcher.scan_text("02-345-6789\n010-1234-5678")
    assert {h.subject_ids for h in hits if h.id_type == "phone"} == {(2, 3), (1,)}
    kept = hits[0].digest

    def confirm(digests: Sequence[bytes]) -> Mapping[bytes, Sequence[int]]:
        return {kept: [2]} if kept in digests else {}

    confirming = Matcher(matcher.hasher, matcher.index, matcher.registry, confirm, matcher.options)
    scanner = ParallelScanner(confirming, jobs)
    assert scanner.jobs == 1
    block = TextBlock("t.txt", "02-345-6789\n010-1234-5678", 1, "line")
    ((_, rows),) = list(scanner.blocks([block], "scan", None))
    assert [(row.locator, row.id_type, row.subject_id) for row in rows] == [("t.txt:line 1", "phone", 2)]


@pytest.mark.parametrize(
    ("header", "id_type"),
    [
        ("이름", "name"),
        ("성명", "name"),
        ("Name", "name"),
        ("휴대폰 번호", "phone"),
        ("연락처", "phone"),
        ("phone_number", "phone"),
        ("Mobile", "phone"),
        ("이메일", "email"),
        ("E-Mail", "email"),
        ("주소", "address"),
        ("주민등록번호", "rrn"),
        ("SSN", "rrn"),
        ("생년월일", "birthdate"),
        ("DOB", "birthdate"),
        ("카드번호", "card"),
        ("외국인등록번호", "frn"),
        ("memo", None),
        ("", None),
    ],
)
def test_header_types(header: str, id_type: str | None) -> None:
    assert header_type(header) == id_type


def test_map_and_detect_headers() -> None:
    assert map_headers(["id", "성명", "핸드폰"]) == [None, "name", "phone"]
    assert detect_header("no,이름,전화번호,email\n", ",") == ["no", "이름", "전화번호", "email"]
    assert detect_header("1,김철수,010-1234-5678", ",") is None


def test_custom_type_end_to_end() -> None:
    custom = CustomType(name="member_no", pattern=r"M[0-9]{8}", canonical="lowercase", context=["회원번호"])
    registry = IdentifierRegistry.default(custom=[custom])
    hasher = KeyedHasher(TEST_KEY)
    pairs = [(hasher.digest("member_no", c, f), 42) for f, c in protected_forms("member_no", "M12345678", registry)]
    m = Matcher(hasher, ProtectedIndex.from_digests(pairs), registry)
    (hit,) = m.scan_text("회원번호: m12345678? no: M12345678")
    assert (hit.id_type, hit.subject_ids, hit.match_kind) == ("member_no", (42,), "exact")
    assert hit.explanation is not None
    assert "회원번호" in hit.explanation.context
    assert "12345678" not in hit.masked


def test_custom_type_with_groups_and_non_ascii_pattern() -> None:
    specs = [CustomType(name="kakao_id", pattern=r"(?:카카오|kakao):([a-z0-9_]{4,20})", canonical="strip")]
    registry = IdentifierRegistry.default(custom=specs)
    hasher = KeyedHasher(TEST_KEY)
    pairs = [(hasher.digest("kakao_id", "카카오:leak_user"), 5)]
    m = Matcher(hasher, ProtectedIndex.from_digests(pairs), registry)
    assert [h.subject_ids for h in m.scan_text("연락 카카오:leak_user 로")] == [(5,)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "phone", "pattern": "x"}, "not a built-in"),
        ({"name": "Bad Name", "pattern": "x"}, "custom type name"),
        ({"name": "ok", "pattern": "("}, "invalid pattern"),
        ({"name": "ok", "pattern": "x", "canonical": "upper"}, "canonical must be"),
    ],
)
def test_custom_type_validation(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CustomType(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_big_file_s_header_row_names_its_columns(tmp_path: Path, matcher: Matcher, jobs: int) -> None:
    path = tmp_path / "leak.tsv"
    path.write_text("번호\t성명\t휴대폰\n1\t김철수\t010-1234-5678\n", encoding="utf-8")
    rows = _line_rows(matcher, path, jobs)
    phone = next(row for row in rows if row.id_type == "phone")
    assert phone.locator == "leak.tsv:row 2"
    explanation = json.loads(phone.explanation)
    assert explanation["context"] == ["휴대폰"]
    assert "column header names the type" in explanation["reasons"]
    assert {row.id_type for row in rows} == {"phone", "name"}


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_big_cp949_file_is_read_in_ranges(tmp_path: Path, matcher: Matcher, jobs: int) -> None:
    path = tmp_path / "leak.txt"
    path.write_bytes("이름 김철수 연락처 010-1234-5678\n".encode("cp949") * 300)
    rows = _line_rows(matcher, path, jobs, range_bytes=1000)
    assert {row.id_type for row in rows} == {"name", "phone"}
    assert len({_line(row) for row in rows}) == 300


@pytest.mark.parametrize("jobs", [1, 2])
def test_blocks_keep_their_order_and_their_own_lines(matcher: Matcher, jobs: int) -> None:
    blocks = [
        TextBlock("a", "x\n010-1234-5678", 1, "line"),
        TextBlock("b", "nothing", 1, "line"),
        TextBlock("c", "김철수\n연락 010-1234-5678", 10, "line"),
        TextBlock("d", "성명,휴대폰\n김철수,010-1234-5678", 1, "row", ("성명", "휴대폰"), ","),
    ]
    got = [
        (block.locator, sorted({(row.id_type, row.locator) for row in rows}))
        for block, rows in ParallelScanner(matcher, jobs).blocks(blocks, "scan", None)
    ]
    assert got == [
        ("a", [("phone", "a:line 2")]),
        ("b", []),
        ("c", [("phone", "c:line 11")]),
        ("d", [("name", "d:row 2"), ("phone", "d:row 2")]),
    ]
