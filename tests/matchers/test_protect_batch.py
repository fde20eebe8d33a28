"""The bulk protected-set normalizer gives exactly the forms of the one-value reference, and the packed
native digests equal the one-value digests."""

from __future__ import annotations

import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.errors import InvalidIdentifier
from matchers.keyed_hash import KeyedHasher, message_header
from matchers.protect import ProtectedForms, protected_forms
from matchers.registry import IdentifierRegistry

REGISTRY = IdentifierRegistry.default()

PHONES = [
    "010-1234-5678",
    "01012345678",
    "010 1234 5678",
    "010.1234.5678",
    "011-234-5678",
    "0161234567",
    "070-1234-5678",
    "070-123-4567",  # 10 digits: not a valid 070 number
    "02-345-6789",
    "0505-123-4567",
    "+82 10 1234 5678",
    "+1 650-253-0000",
    "(010) 1234-5678",
    "1012345678",
    "010-1234-5678 (집)",
    "전화 010-1234-5678",
    "０１０-1234-5678",
    "010-12",
    "hello",
    "0" * 41,
    "010" + "-" * 40 + "12345678",
    "821012345678",
    "0082-10-1234-5678",
]
EMAILS = [
    "kim@naver.com",
    "Kim@HanMail.net",
    "a@daum.net",
    "ab@daum.net",
    "abc@x.co",
    "abcd@x.co",
    ".kim@naver.com",
    "kim.@naver.com",
    "kim@naver.com.",
    "kim.naver.com",
    "김@naver.com",
    "kim@hanmail.net.kr",
    "x@@y.com",
    "KIM+tag@Example.ORG",
    "ß@naver.com",
]


def _reference(forms: ProtectedForms, id_type: str, values: list[str]) -> tuple[set[tuple[int, str, bytes]], set[int]]:
    got: set[tuple[int, str, bytes]] = set()
    invalid: set[int] = set()
    for i, value in enumerate(values):
        try:
            for form, canonical in forms(id_type, value):
                got.add((i, form, canonical.encode()))
        except InvalidIdentifier:
            invalid.add(i)
    return got, invalid


def _bulk(forms: ProtectedForms, id_type: str, values: list[str]) -> tuple[set[tuple[int, str, bytes]], set[int]]:
    packed = forms.many(id_type, values)
    got: set[tuple[int, str, bytes]] = set()
    count = 0
    for part in packed.forms:
        items = part.values()
        assert len(items) == len(part.rows)
        count += len(items)
        got.update((int(i), part.form, c) for i, c in zip(part.rows.tolist(), items, strict=True))
    assert count == len(got)  # no value gets one form twice
    return got, {i for i, _ in packed.invalid}


@pytest.mark.parametrize("partial", [True, False])
@pytest.mark.parametrize(("id_type", "values"), [("phone", PHONES), ("email", EMAILS)])
def test_bulk_forms_equal_the_reference(id_type: str, values: list[str], partial: bool) -> None:
    forms = ProtectedForms(REGISTRY, partial=partial)
    assert _bulk(forms, id_type, values) == _reference(forms, id_type, values)


def test_other_types_take_the_reference_path() -> None:
    forms = ProtectedForms(REGISTRY)
    values = ["900101-1234568", "4111-1111-1111-1111", "nope"]
    assert _bulk(forms, "rrn", values) == _reference(forms, "rrn", values)


_PHONE_CHARS = st.sampled_from([*"0123456789-. ()+*xX\x00\t가０", "010", "82", "070", "011"])
_EMAIL_CHARS = st.sampled_from([*"abkKZ09._%+-@\x00 é", "naver.com", "hanmail.net", "@daum.net", ".kr"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_PHONE_CHARS, max_size=16).map("".join), max_size=12), st.booleans())
def test_bulk_phone_forms_on_random_input(values: list[str], partial: bool) -> None:
    forms = ProtectedForms(REGISTRY, partial=partial)
    values = [v.strip() for v in values if v.strip()]
    assert _bulk(forms, "phone", values) == _reference(forms, "phone", values)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_EMAIL_CHARS, max_size=10).map("".join), max_size=12), st.booleans())
def test_bulk_email_forms_on_random_input(values: list[str], partial: bool) -> None:
    forms = ProtectedForms(REGISTRY, partial=partial)
    values = [v.strip() for v in values if v.strip()]
    assert _bulk(forms, "email", values) == _reference(forms, "email", values)


_LOCAL_PART = st.lists(st.sampled_from([*"abkKZ09._%+-", "kim", "Lee"]), min_size=1, max_size=6).map("".join)
_DOMAIN_PART = st.sampled_from(
    ["naver.com", "hanmail.net", "HanMail.NET", "daum.net", "x.hanmail.net", "hanmail.net.kr"]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_LOCAL_PART, _DOMAIN_PART).map("@".join), min_size=1, max_size=12), st.booleans())
def test_bulk_email_forms_on_mostly_valid_columns(values: list[str], partial: bool) -> None:
    """Columns where every address (or all but one) is well formed take the one-regex column check and
    fold aliases on the joined column: the same forms as one value at a time."""
    forms = ProtectedForms(REGISTRY, partial=partial)
    assert _bulk(forms, "email", values) == _reference(forms, "email", values)
    assert _bulk(forms, "email", [*values, ".kim@naver.com"]) == _reference(forms, "email", [*values, ".kim@naver.com"])


def test_packed_digests_equal_one_value_digests() -> None:
    key = b"k" * 32
    hasher = KeyedHasher(key, "test")
    forms = ProtectedForms(REGISTRY)
    for id_type, values in (("phone", PHONES), ("email", EMAILS)):
        for part in forms.many(id_type, values).forms:
            joined = hasher.digest_packed(id_type, part.packed, part.width, part.form)
            header = message_header(id_type, part.form)
            assert joined == b"".join(hmac.digest(key, header + c, "sha256") for c in part.values())
    assert hasher.digest_packed("phone", b"", 0) == b""
    with pytest.raises(ValueError, match="whole records"):
        hasher.digest_packed("phone", b"12345", 2)


def test_module_reference_is_protected_forms() -> None:
    assert ProtectedForms(REGISTRY)("phone", "010-1234-5678") == protected_forms("phone", "010-1234-5678", REGISTRY)
