from __future__ import annotations

import itertools
import pickle
from pathlib import Path

import pytest

from crawlers.parallel import block_ranges, confirm_hits, scan_file
from matchers.engine import Matcher
from matchers.headers import detect_header, header_type, map_headers
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.protect import protected_forms
from matchers.registry import IdentifierRegistry
from matchers.types.custom import CustomType
from tests.matchers.conftest import TEST_KEY


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


@pytest.mark.slow
def test_parallel_equals_serial(tmp_path: Path, matcher: Matcher) -> None:
    path = _dump(tmp_path)
    serial = list(scan_file(matcher, path, jobs=1, block_size=4096))
    parallel = list(scan_file(matcher, path, jobs=2, block_size=4096))
    assert serial == parallel
    assert [h.line for h in serial] == sorted(h.line for h in serial)
    assert {h.line for h in serial} == {7, 507, 1007, 1507, 2007, 2507, 3, 703, 1403, 2103, 2803}
    whole = matcher.scan_text(path.read_text(encoding="utf-8"))
    assert whole == serial


def test_hits_survive_the_trip_between_processes(matcher: Matcher) -> None:
    hits = matcher.scan_text("이름,전화\n김철수,010-1234-5678\n", columns=["이름", "전화"], delimiter=",")
    assert hits
    copies = pickle.loads(pickle.dumps(hits, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301 - our own bytes
    assert copies == hits
    assert [h.extra for h in copies] == [h.extra for h in hits]
    assert copies[0].explanation == hits[0].explanation


def test_confirm_hits_in_parent(matcher: Matcher) -> None:
    hits = matcher.scan_text("02-345-6789\n010-1234-5678")
    kept = confirm_hits(hits, lambda ds: {hits[0].digest: [2]})
    assert [(h.line, h.subject_ids) for h in kept] == [(0, (2,))]


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


def test_scan_file_detects_the_header_row(tmp_path: Path, matcher: Matcher) -> None:
    path = tmp_path / "leak.tsv"
    path.write_text("번호\t성명\t휴대폰\n1\t김철수\t010-1234-5678\n", encoding="utf-8")
    hits = list(scan_file(matcher, path))
    phone = next(h for h in hits if h.id_type == "phone")
    assert phone.line == 1
    assert phone.extra["column"] == "휴대폰"
    assert {h.id_type for h in hits} == {"phone", "name"}


def test_scan_file_transcodes_cp949(tmp_path: Path, matcher: Matcher) -> None:
    path = tmp_path / "leak.txt"
    path.write_bytes("이름 김철수 연락처 010-1234-5678\n".encode("cp949"))
    hits = list(scan_file(matcher, path, encoding="cp949"))
    assert sorted(h.id_type for h in hits) == ["name", "phone"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_scan_items_keeps_order_and_per_item_lines(matcher: Matcher, jobs: int) -> None:
    from crawlers.parallel import scan_items

    items = [
        ("x\n010-1234-5678", None, None, "line"),
        (b"nothing", None, None, "line"),
        ("김철수\n연락 010-1234-5678", None, None, "all"),
        ("성명,휴대폰\n김철수,010-1234-5678", ["성명", "휴대폰"], ",", "line"),
    ]
    got = [[(h.id_type, h.line) for h in hits] for hits in scan_items(matcher, items, jobs=jobs)]
    assert got == [[("phone", 1)], [], [("name", 0), ("phone", 1)], [("name", 1), ("phone", 1)]]
