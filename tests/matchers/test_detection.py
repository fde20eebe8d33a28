"""Issue 13: every de-obfuscation class with a decoy beside it, addresses written loosely, households,
e-mail domain aliases and grouped custom identifiers.

The protected set has a household (subjects 10 and 11 share an address), a stranger who shares
subject 10's name (12), and decoys one digit off that are not protected. Every row must find the
protected value for the right subject and nothing for the decoy.
"""

from __future__ import annotations

import pytest

from matchers.engine import Matcher
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.protect import protected_forms
from matchers.registry import IdentifierRegistry
from matchers.types.custom import CustomType

KEY = b"leakmon-test-key-detection-0001"
HOME = "서울특별시 강남구 테헤란로 123, 101동 1001호"
PEOPLE: dict[int, dict[str, str]] = {
    10: {"phone": "010-2222-3333", "email": "park99@gmail.com", "name": "박민수", "address": HOME},
    11: {"phone": "010-4444-5555", "name": "박지민", "address": HOME, "rrn": "900101-1234568"},
    12: {"phone": "010-6666-7777", "name": "박민수", "address": "경기도 성남시 분당구 판교역로 235, 12층"},
    13: {"email": "kim123@hanmail.net", "member": "123456789"},
    14: {"address": "광주광역시 북구 우치로 10, 3층", "phone": "062-123-4567"},
}
MEMBER = CustomType(name="member", pattern=r"\b[0-9]{9}\b", canonical="digits")  # RE2: no look-around


def _matcher(registry: IdentifierRegistry) -> Matcher:
    hasher = KeyedHasher(KEY)
    pairs = [
        (hasher.digest(id_type, canonical, form), sid)
        for sid, ids in PEOPLE.items()
        for id_type, value in ids.items()
        for form, canonical in protected_forms(id_type, value, registry)
    ]
    return Matcher(hasher, ProtectedIndex.from_digests(pairs), registry)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return _matcher(IdentifierRegistry.default(custom=[MEMBER]))


def _got(matcher: Matcher, text: str) -> set[tuple[str, str, tuple[int, ...]]]:
    return {(h.id_type, h.match_kind, h.subject_ids) for h in matcher.scan_text(text, record_scope="all")}


PHONE10 = ("phone", "exact", (10,))
EMAIL10 = ("email", "exact", (10,))
RRN11 = ("rrn", "exact", (11,))

#: (class, text with the protected value and a decoy one digit off or belonging to nobody, expected hits)
CLASS_ROWS: list[tuple[str, str, set[tuple[str, str, tuple[int, ...]]]]] = [
    ("line_break phone", "연락처 010-2222-\n3333 / 다른번호 010-2222-\n3334", {PHONE10}),
    ("line_break phone group", "010-2222\n3333 그리고 010-2222-3334", {PHONE10}),
    ("line_break email", "park99@\ngmail.com park98@gmail.com", {EMAIL10}),
    ("line_break email dot", "park99@gmail.\ncom, park99@gmail.co", {EMAIL10}),
    ("line_break rrn", "900101-\n1234568 또는 900101-1234567", {RRN11}),
    ("line_break <br>", "010-2222-<br>3333 010-2222-3334", {PHONE10}),
    ("line_break table cells", "<td>park99@</td><td>gmail.com</td><td>park98@gmail.com</td>", {EMAIL10}),
    ("spaced_letters email", "p a r k 9 9 @ g m a i l . c o m / p a r k 9 8 @ g m a i l . c o m", {EMAIL10}),
    ("email_words 골뱅이/점", "park99골뱅이gmail점com park98골뱅이gmail점com", {EMAIL10}),
    ("email_words 앳/닷", "park99 앳 gmail 닷 com, park98 앳 gmail 닷 com", {EMAIL10}),
    ("unicode_punctuation", "park99@gmail。com park98@gmail。com", {EMAIL10}),
    ("unicode_punctuation full-width", "park99＠gmail．com park98＠gmail．com", {EMAIL10}),
    ("letter_swap last group", "010-4444-S555 ... 010-4444-S556", {("phone", "exact", (11,))}),
    ("letter_swap last group B", "010-4444-555S 010-4444-555B", {("phone", "exact", (11,))}),
    ("hangul_digits mixed", "공1공-2222-3333 공1공-2222-3334", {PHONE10}),
    ("hangul_digits mixed 2", "010-이222-삼333, 010-이222-삼334", {PHONE10}),
    ("email_words [앳]", "park99 [앳] gmail.com park98 [앳] gmail.com", {EMAIL10}),
    ("letter_swap last l", "010-2222-333l? 010-2222-334l", set()),  # l is 1: 3331 is nobody's
    ("letter_swap last O", "010-4444-555S 010-4444-55O5", {("phone", "exact", (11,))}),
    ("hangul_digits trailing", "010-2222-33삼삼\n010-2222-33삼사", {PHONE10}),
    ("line_break in a tab row", "010-2222- 3333\t010-2222-3334\t박지성", {PHONE10}),
    ("email_words @네이버-like service name", "park99 골뱅이 지메일 / park98 골뱅이 지메일", {EMAIL10}),
    ("email_words 닷컴", "park99@gmail닷컴 park98@gmail닷컴", {EMAIL10}),
    ("email_words 쩜", "park99 앳 gmail 쩜 com, park98 앳 gmail 쩜 com", {EMAIL10}),
    ("line_break inside a group", "010-2222-33\n33 / 010-2222-33\n34", {PHONE10}),
    ("grouped custom commas", "회원 123,456,789 / 123,456,788", {("member", "exact", (13,))}),
    ("grouped custom spaces", "회원 123 456 789 / 123 456 788", {("member", "exact", (13,))}),
]


@pytest.mark.parametrize(("label", "text", "expected"), CLASS_ROWS, ids=[r[0] for r in CLASS_ROWS])
def test_class_with_decoy(matcher: Matcher, label: str, text: str, expected: set[tuple[str, ...]]) -> None:
    assert _got(matcher, text) == expected


NAME_ROWS = [
    ("박 민 수 010-2222-3333", (10,)),
    ("박 민수 010-2222-3333", (10,)),
    ("박\u200b민\u200d수 010-2222-3333", (10,)),
]


@pytest.mark.parametrize(("text", "subjects"), NAME_ROWS, ids=["syllables", "surname", "zero-width"])
def test_spaced_and_zero_width_names_corroborate(matcher: Matcher, text: str, subjects: tuple[int, ...]) -> None:
    assert _got(matcher, text) == {("name", "composite", subjects), ("phone", "exact", subjects)}
    (name,) = [h for h in matcher.scan_text(text) if h.id_type == "name"]
    assert name.obfuscation == (("invisible_chars",) if "\u200b" in text else ("spaced_letters",))


def test_stranger_with_the_same_spaced_name_is_not_composite(matcher: Matcher) -> None:
    # 박민수 is subjects 10 and 12; the phone belongs to 11: the name must not count.
    assert _got(matcher, "박 민 수 010-4444-5555") == {("phone", "exact", (11,))}


ADDRESS_FORMS = [
    "서울 강남구 테헤란로 123, 101동 1001호",
    "서울시 강남구 테헤란로 123 101동 1001호",
    "서울 특별시 강남구 테헤란로 123, 101동 1001호",
    "서울특별시강남구테헤란로123, 101동1001호",
    "서울 강남구테헤란로 123 , 101 동 1001 호",
    "서울특별시  강남구  테헤란로   123 ,  101 동 1001 호",
    "서울 강남 테헤란로 123, 101동 1001호",
    "서울특별시 강남구 테헤란로 123, 제101동 제1001호",
    "서울특별시 강남구 테헤란로 123, 101-1001",
    "(06236) 서울특별시 강남구 테헤란로 123, 101동 1001호 (역삼동)",
    "서울특별시 강남구\n테헤란로 123, 101동 1001호",
    "서울특별시 강남구 테헤란로 123,\n101동 1001호",
]


@pytest.mark.parametrize("form", ADDRESS_FORMS)
def test_address_forms_with_the_same_subjects_phone(matcher: Matcher, form: str) -> None:
    # Beside subject 10's phone the household address is exact for 10 only; the unit next door is a decoy.
    text = f"{form} 010-2222-3333 / 서울특별시 강남구 테헤란로 123, 101동 1002호"
    assert _got(matcher, text) == {PHONE10, ("address", "exact", (10,))}


@pytest.mark.parametrize(
    ("text", "subjects"),
    [
        ("경기 성남 분당구 판교역로 235 12층", (12,)),
        ("경기도 성남시 분당구 판교역로235, 12층", (12,)),
        ("광주 북구 우치로 10, 3층", (14,)),
        ("충남 천안시 동남구 충절로 12", ()),  # not protected
    ],
)
def test_abbreviated_regions_and_spacing(matcher: Matcher, text: str, subjects: tuple[int, ...]) -> None:
    expected = {("address", "partial", subjects)} if subjects else set()
    assert _got(matcher, text) == expected


def test_an_address_alone_is_a_household_not_a_person(matcher: Matcher) -> None:
    (hit,) = matcher.scan_text(HOME)
    assert (hit.match_kind, hit.subject_ids, hit.form) == ("partial", (10, 11), "full")
    assert hit.extra["compatible_subjects"] == "2"
    assert hit.explanation is not None
    assert any("household" in r for r in hit.explanation.reasons)


def test_a_relative_at_the_same_address_is_not_the_subject(matcher: Matcher) -> None:
    # The relative's phone makes the address exact for the relative (11), never for 10.
    assert _got(matcher, f"{HOME} 010-4444-5555") == {("phone", "exact", (11,)), ("address", "exact", (11,))}


def test_a_name_makes_a_household_address_exact_for_its_subject(matcher: Matcher) -> None:
    assert _got(matcher, f"박지민 {HOME}") == {("name", "composite", (11,)), ("address", "exact", (11,))}


def test_a_strangers_name_does_not_make_the_address_exact(matcher: Matcher) -> None:
    # 박민수 is 10 (who lives here) and 12 (who does not): the address narrows to 10 only.
    assert _got(matcher, f"박민수 {HOME}") == {("name", "composite", (10,)), ("address", "exact", (10,))}


def test_email_alias_is_the_default_and_explained(matcher: Matcher) -> None:
    (hit,) = matcher.scan_text("kim123@daum.net")
    assert (hit.id_type, hit.subject_ids) == ("email", (13,))
    assert hit.explanation is not None
    assert any("hanmail.net = daum.net" in r and "aliases" in r for r in hit.explanation.reasons)
    (plain,) = matcher.scan_text("park99@gmail.com")
    assert plain.explanation is not None
    assert not any("alias" in r for r in plain.explanation.reasons)


def test_email_aliases_can_be_turned_off() -> None:
    off = _matcher(IdentifierRegistry.default(custom=[MEMBER], email_aliases={}))
    assert [h.subject_ids for h in off.scan_text("kim123@hanmail.net")] == [(13,)]
    assert off.scan_text("kim123@daum.net") == []
    assert off.registry.get("email").fast_canonicals([b" kim123@hanmail.net"]) == [b"kim123@hanmail.net"]


@pytest.mark.parametrize(
    "aliases", [{"daum": "daum.net"}, {"hanmail.net": "hanmail.net"}, {"a.com": "b.com", "b.com": "c.com"}]
)
def test_bad_aliases_are_refused(aliases: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="alias"):
        IdentifierRegistry.default(email_aliases=aliases)


def test_grouped_separators_can_be_turned_off() -> None:
    strict = CustomType(name="member", pattern=MEMBER.pattern, canonical="digits", separators=False)
    off = _matcher(IdentifierRegistry.default(custom=[strict]))
    assert off.scan_text("회원 123,456,789") == []
    assert [h.id_type for h in off.scan_text("회원 123456789")] == ["member"]


def test_separators_need_a_digit_type() -> None:
    with pytest.raises(ValueError, match="separators"):
        CustomType(name="handle", pattern="[a-z]+", canonical="lowercase", separators=True)
