"""Table-driven: each identifier type and each obfuscation class, end to end through the Matcher.

Every row: text -> (type, match kind, obfuscation classes, subject ids, form). A hit proves canonical
equivalence: the digest of what was extracted equals the digest of the protected value.
"""

from __future__ import annotations

import pytest

from matchers.engine import Matcher
from matchers.registry import IdentifierRegistry

E, C, P = "exact", "composite", "partial"

ROWS: list[tuple[str, list[tuple[str, str, tuple[str, ...], tuple[int, ...], str]]]] = [
    # phone: plain written forms
    ("010-1234-5678", [("phone", E, (), (1,), "full")]),
    ("01012345678", [("phone", E, (), (1,), "full")]),
    ("010 1234 5678", [("phone", E, (), (1,), "full")]),
    ("010.1234.5678", [("phone", E, (), (1,), "full")]),
    ("(010)1234-5678", [("phone", E, (), (1,), "full")]),
    ("연락처01012345678입니다", [("phone", E, (), (1,), "full")]),
    ("<td>010-1234-5678</td>", [("phone", E, (), (1,), "full")]),
    ("02-345-6789", [("phone", E, (), (2, 3), "full")]),  # shared household landline
    ("011-234-5678", [("phone", E, (), (4,), "full")]),  # legacy 01X
    ("011 234 5678", [("phone", E, (), (4,), "full")]),
    # phone: obfuscation classes
    ("010/1234/5678", [("phone", E, ("separators",), (1,), "full")]),
    ("0 1 0 1 2 3 4 5 6 7 8", [("phone", E, ("separators",), (1,), "full")]),
    ("010-1234-\n5678", [("phone", E, ("line_break",), (1,), "full")]),
    ("+82 10-1234-5678", [("phone", E, ("international",), (1,), "full")]),
    ("+821012345678", [("phone", E, ("international",), (1,), "full")]),
    ("821012345678", [("phone", E, ("international",), (1,), "full")]),
    ("0082-10-1234-5678", [("phone", E, ("international",), (1,), "full")]),
    ("001-82-10-1234-5678", [("phone", E, ("international",), (1,), "full")]),
    ("+82 (0)10 1234 5678", [("phone", E, ("international",), (1,), "full")]),
    ("1012345678", [("phone", E, ("excel_leading_zero",), (1,), "full")]),
    ("０１０－１２３４－５６７８", [("phone", E, ("unicode_digits",), (1,), "full")]),
    ("０１０1234５６７８", [("phone", E, ("unicode_digits",), (1,), "full")]),
    ("010\u200b-1234-5678", [("phone", E, ("invisible_chars",), (1,), "full")]),
    ("010-12\u200d34-5678", [("phone", E, ("invisible_chars",), (1,), "full")]),
    ("o1o-1234-5678", [("phone", E, ("letter_swap",), (1,), "full")]),
    ("010-l234-5678", [("phone", E, ("letter_swap",), (1,), "full")]),
    ("공일공-1234-5678", [("phone", E, ("hangul_digits",), (1,), "full")]),
    ("공일공 일이삼사 오육칠팔", [("phone", E, ("hangul_digits",), (1,), "full")]),
    ("010-<b>1234</b>-5678", [("phone", E, ("markup",), (1,), "full")]),
    ("010&#45;1234&#45;5678", [("phone", E, ("markup",), (1,), "full")]),
    ("010–1234–5678", [("phone", E, ("separators",), (1,), "full")]),  # en dashes
    ("010 − 1234 − 5678", [("phone", E, ("separators",), (1,), "full")]),  # minus signs
    # email
    ("kim.chulsoo@daum.net", [("email", E, (), (1,), "full")]),  # protected as @hanmail.net
    ("KIM.CHULSOO@HANMAIL.NET", [("email", E, (), (1,), "full")]),
    ("kim.chulsoo (at) daum (dot) net", [("email", E, ("email_words",), (1,), "full")]),
    ("kim.chulsoo 골뱅이 hanmail.net", [("email", E, ("email_words",), (1,), "full")]),
    ("kim.chulsoo @ daum.net", [("email", E, ("email_words",), (1,), "full")]),
    ("kim.chulsoo[at]daum.net", [("email", E, ("email_words",), (1,), "full")]),
    ("kim.chulsoo @ daum . net", [("email", E, ("email_words",), (1,), "full")]),
    ("kim.chulsoo@daum. net 으로 연락", [("email", E, ("email_words",), (1,), "full")]),
    ("kim.chulsoo at daum dot net", [("email", E, ("email_words",), (1,), "full")]),
    ("메일 KIM.CHULSOO AT HANMAIL DOT NET", [("email", E, ("email_words",), (1,), "full")]),
    ("kim.chulsoo (at) daum.net. Thanks", [("email", E, ("email_words",), (1,), "full")]),  # a sentence after
    # rrn / frn / card / address
    ("900101-1234568", [("rrn", E, (), (1,), "full")]),
    ("9001011234568", [("rrn", E, (), (1,), "full")]),
    ("030303-4123456", [("rrn", E, (), (3,), "full")]),  # bad check digit: still a hit
    ("850505-5123456", [("frn", E, (), (4,), "full")]),
    ("4111 1111 1111 1111", [("card", E, (), (1,), "full")]),
    ("4111111111111111", [("card", E, (), (1,), "full")]),
    ("4111-11**-****-1111", [("card", P, ("masked",), (1,), "p6s4")]),
    ("call +44 20 7946 0958", [("phone", E, ("international",), (7,), "full")]),
    ("John Smith +44 20 7946 0958", [("name", C, (), (7,), "full"), ("phone", E, ("international",), (7,), "full")]),
    ("서울 강남구 테헤란로 123, 101동 1001호", [("address", P, (), (5,), "full")]),
    ("(06236) 서울시 강남구 테헤란로123, 101동 1001호 (역삼동)", [("address", P, (), (5,), "full")]),
    # a CSV reader replaces the comma inside a quoted field with a space: two spaces before the unit
    ("서울특별시 강남구 테헤란로 123  101동  1001호", [("address", P, (), (5,), "full")]),
    # masked -> partial, with the compatible subjects
    ("010-****-5678", [("phone", P, ("masked",), (1, 6), "p3s4")]),
    ("010-1234-****", [("phone", P, ("masked",), (1,), "p7")]),
    ("900101-1******", [("rrn", P, ("masked",), (1,), "p7")]),
    ("k***@daum.net", [("email", P, ("masked",), (1,), "p1d")]),
    ("김*수 010-****-5678", [("phone", P, ("masked",), (1,), "p3s4")]),  # masked name narrows 1,6 -> 1
    # weak types: composite only beside the same subject's strong identifier
    ("김철수 010-1234-5678", [("name", C, (), (1,), "full"), ("phone", E, (), (1,), "full")]),
    ("김철수 011-234-5678", [("name", C, (), (4,), "full"), ("phone", E, (), (4,), "full")]),
    ("1990.01.01 kim.chulsoo@daum.net", [("birthdate", C, (), (1,), "full"), ("email", E, (), (1,), "full")]),
]

NO_HIT = [
    "김철수",  # a name alone is never a hit
    "1990-01-01",  # nor a birth date
    "김철수 1990-01-01",
    "서울특별시 강남구 테헤란로 123",  # address without the protected unit
    "010-1234-56789",  # too long
    "9010-1234-5678",
    "010-5555-6666",  # not protected
    "nobody@daum.net",
    "4111 1111 1111 1112",  # Luhn fails
    "김*수",
]


@pytest.mark.parametrize(("text", "expected"), ROWS, ids=[r[0][:30] for r in ROWS])
def test_extraction_table(matcher: Matcher, text: str, expected: list[tuple[str, ...]]) -> None:
    hits = matcher.scan_text(text)
    got = [(h.id_type, h.match_kind, h.obfuscation, h.subject_ids, h.form) for h in hits]
    assert sorted(got) == sorted(expected)
    assert all(h.line == 0 for h in hits)
    assert all(0.0 < h.confidence < 1.0 for h in hits)


@pytest.mark.parametrize("text", NO_HIT)
def test_no_hit(matcher: Matcher, text: str) -> None:
    assert matcher.scan_text(text) == []


def test_stranger_with_common_name_is_not_composite(matcher: Matcher) -> None:
    # 김철수 is subjects 1 and 4; the phone belongs to 2 and 3: the name must not count.
    hits = matcher.scan_text("김철수 02-345-6789")
    assert [(h.id_type, h.subject_ids) for h in hits] == [("phone", (2, 3))]


def test_name_of_one_subject_with_phone_of_another(matcher: Matcher) -> None:
    hits = matcher.scan_text("이영희 010-1234-5678")  # name of 2, phone of 1
    assert [(h.id_type, h.match_kind) for h in hits] == [("phone", E)]


def test_composite_upgrades_strong_confidence(matcher: Matcher) -> None:
    alone = matcher.scan_text("010-1234-5678")[0]
    with_name = next(h for h in matcher.scan_text("김철수 010-1234-5678") if h.id_type == "phone")
    assert with_name.confidence > alone.confidence
    assert with_name.extra["corroborated_by"] == "name"


def test_partial_reports_compatible_count(matcher: Matcher) -> None:
    (hit,) = matcher.scan_text("010-****-5678")
    assert hit.extra["compatible_subjects"] == "2"
    assert hit.masked == "010-****-5678"


def test_line_scope_versus_whole_post(matcher: Matcher) -> None:
    text = "판매합니다\n김철수\n연락 010-1234-5678\n"
    by_line = matcher.scan_text(text)
    assert [(h.id_type, h.line) for h in by_line] == [("phone", 2)]
    whole = matcher.scan_text(text, record_scope="all")
    assert sorted((h.id_type, h.match_kind, h.line) for h in whole) == [("name", C, 1), ("phone", E, 2)]


def test_lines_are_counted_across_blocks(hasher: object, index: object, registry: object) -> None:
    from matchers.engine import MatcherOptions

    small = Matcher(hasher, index, registry, options=MatcherOptions(chunk_size=64))  # type: ignore[arg-type]
    text = "".join(f"row {i}, nothing here\n" for i in range(50)) + "x 010-1234-5678\n" + "tail\n" * 5
    (hit,) = small.scan_text(text)
    assert hit.line == 50


def test_column_header_raises_confidence_and_is_explained(matcher: Matcher) -> None:
    plain = matcher.scan_text("x,010-1234-5678")[0]
    with_header = matcher.scan_text("x,010-1234-5678", columns=["memo", "휴대폰"], delimiter=",")[0]
    assert with_header.confidence > plain.confidence
    assert with_header.explanation is not None
    assert "휴대폰" in with_header.explanation.context
    assert with_header.extra["column"] == "휴대폰"


def test_context_words_are_explained(matcher: Matcher) -> None:
    (hit,) = matcher.scan_text("연락처: 010-1234-5678")
    assert hit.explanation is not None
    assert hit.explanation.context
    assert any("context" in r for r in hit.explanation.reasons)
    assert hit.explanation.extractor == "phone.fast"


def test_rrn_checksum_is_evidence_not_a_gate(matcher: Matcher) -> None:
    ok = matcher.scan_text("900101-1234568")[0]
    bad = matcher.scan_text("030303-4123456")[0]
    assert ok.explanation is not None
    assert ok.explanation.validation == "checksum_ok"
    assert bad.explanation is not None
    assert bad.explanation.validation == "checksum_mismatch"
    assert ok.confidence > bad.confidence


def test_several_hits_on_many_lines(matcher: Matcher) -> None:
    text = "\n".join(["010-1234-5678,kim.chulsoo@daum.net", "noise 123", "02-345-6789", "o1o-1234-5678"])
    got = sorted((h.line, h.id_type) for h in matcher.scan_text(text))
    assert got == [(0, "email"), (0, "phone"), (2, "phone"), (3, "phone")]


SALE_POST = """[판매] 실시간 디비 팝니다 (샘플 첨부)
김*수 / 010-****-5678 / 900101-1******
박지성 공일공-구구구구-오육칠팔 park (at) naver (dot) com
이영희 02 345 6789
문의는 텔레그램으로. 1건당 300원
"""


def test_sale_post_as_one_record(matcher: Matcher) -> None:
    got = sorted(
        (h.line, h.id_type, h.match_kind, h.obfuscation, h.subject_ids)
        for h in matcher.scan_text(SALE_POST, record_scope="all")
    )
    assert got == [
        (1, "phone", P, ("masked",), (1,)),  # 1 and 6 fit; the masked name on its line picks 1
        (1, "rrn", P, ("masked",), (1,)),
        (2, "email", E, ("email_words",), (6,)),
        (2, "name", C, (), (6,)),
        (2, "phone", E, ("hangul_digits",), (6,)),
        (3, "name", C, (), (2,)),
        (3, "phone", E, (), (2, 3)),
    ]


@pytest.mark.parametrize(
    ("option", "absent"),
    [
        ("weak", {"name"}),
        ("deobfuscate", {"email"}),
        ("partial", {"rrn"}),
    ],
)
def test_options_switch_features_off(
    hasher: object, index: object, registry: object, option: str, absent: set[str]
) -> None:
    from matchers.engine import MatcherOptions

    off = Matcher(hasher, index, registry, options=MatcherOptions(**{option: False}))  # type: ignore[arg-type]
    types = {h.id_type for h in off.scan_text(SALE_POST, record_scope="all")}
    assert types
    assert not types & absent


def test_invalid_utf8_and_crlf(matcher: Matcher) -> None:
    data = b"\xff\xfe garbage\r\n\xc3 tel 010-1234-5678\r\n"
    (hit,) = matcher.scan_bytes(data)
    assert (hit.id_type, hit.line) == ("phone", 1)


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (b"Kim@Naver.com", [b"kim@naver.com"]),  # at the start of a block: no boundary byte
        ("이름:lee.y@HANMAIL.NET,park@daum.net".encode(), [b"lee.y@daum.net", b"park@daum.net"]),
        (b"\x00a@b.co\x00c@d.io", [b"a@b.co", b"c@d.io"]),  # NUL boundary bytes
        (b"q@w.io@Kim@naver.com", [b"q@w.io", b"kim@naver.com"]),  # "@" as the boundary byte
    ],
)
def test_email_fast_canonicals_drop_boundary_bytes_batch_wise(block: bytes, expected: list[bytes]) -> None:
    email = IdentifierRegistry.default().get("email")
    raws = email.find_all(block)
    assert email.fast_canonicals(raws) == expected


def test_phone_batch_canonicals_equal_the_one_at_a_time_rule() -> None:
    """The batch shortcut (one replace for 010 numbers) must agree with the general rule everywhere."""
    import random

    from matchers.types.base import NONDIGIT
    from matchers.types.phone import _full

    rng = random.Random(3)
    heads = ["010", "011", "016", "02", "031", "070", "0505", "82 10", "+82 10", "+82 (0)10", "0082 10", "10", "1", ""]
    raws: list[bytes] = []
    for _ in range(3000):
        number = rng.choice(heads) + "".join(rng.choice("0123456789-. ") for _ in range(rng.randrange(4, 12)))
        raws.append((rng.choice(["", ",", " ", "+", "가"]) + number).encode())
    phone = IdentifierRegistry.default().get("phone")
    expected = [_full(raw.translate(None, NONDIGIT), raw) for raw in raws]
    assert phone.fast_canonicals(raws) == expected
    assert sum(c is not None and c.startswith(b"8210") and len(c) == 12 for c in expected) > 100  # the shortcut ran


@pytest.mark.parametrize("id_type", ["phone", "email", "rrn", "card"])
def test_valid_canonicals_drop_invalid_items_and_keep_positions(id_type: str) -> None:
    rec = IdentifierRegistry.default().get(id_type)
    raws = [b",010-1234-5678", b",099-1234-5678", b",a@b.co", b",900101-1234567", b",4111111111111111", b",0123"]
    raws = raws * 3
    maybe = rec.fast_canonicals(raws)
    canon, positions = rec.valid_canonicals(raws)
    assert list(positions) == [i for i, c in enumerate(maybe) if c is not None]
    assert canon == [maybe[i] for i in positions]
