"""Column headers -> identifier types (이름/성명/name, 전화번호/휴대폰/phone, 주민번호/rrn, ...)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from matchers.model import ADDRESS, BIRTHDATE, CARD, EMAIL, FRN, NAME, PHONE, RRN

#: Normalized header words per type (compared after removing spaces, _ and - and case-folding).
HEADER_WORDS: Mapping[str, tuple[str, ...]] = {
    NAME: (
        "이름",
        "성명",
        "고객명",
        "회원명",
        "성함",
        "name",
        "fullname",
        "username",
        "customername",
        "이름(성명)",
        "수취인",
        "수령인",
        "받는분",
        "예금주",
    ),
    PHONE: (
        "전화번호",
        "전화",
        "휴대폰",
        "휴대폰번호",
        "핸드폰",
        "핸드폰번호",
        "휴대전화",
        "연락처",
        "폰번호",
        "phone",
        "phonenumber",
        "mobile",
        "tel",
        "telephone",
        "cell",
        "hp",
        "contact",
    ),
    EMAIL: ("이메일", "메일", "이메일주소", "email", "e-mail", "mail", "emailaddress"),
    ADDRESS: ("주소", "배송지", "배송주소", "도로명주소", "지번주소", "address", "addr", "shippingaddress"),
    RRN: ("주민번호", "주민등록번호", "주민", "rrn", "ssn", "jumin", "residentnumber"),
    FRN: ("외국인등록번호", "frn", "alienregistrationnumber"),
    BIRTHDATE: ("생년월일", "생일", "birth", "birthday", "birthdate", "dob", "dateofbirth"),
    CARD: ("카드번호", "카드", "card", "cardnumber", "cardno", "creditcard", "ccnumber"),
}
_STRIP = re.compile(r"[\s_\-.:/()\[\]]+")


def normalize_header(header: str) -> str:
    return _STRIP.sub("", header.strip().strip("\ufeff\"'")).casefold()


_LOOKUP: dict[str, str] = {normalize_header(word): id_type for id_type, words in HEADER_WORDS.items() for word in words}


def header_type(header: str, extra: Mapping[str, str] | None = None) -> str | None:
    """The identifier type a column header names, or None. ``extra`` maps more headers (custom types)."""
    key = normalize_header(header)
    if extra:
        for word, id_type in extra.items():
            if normalize_header(word) == key:
                return id_type
    return _LOOKUP.get(key)


def map_headers(headers: Sequence[str], extra: Mapping[str, str] | None = None) -> list[str | None]:
    """Types for a header row, position by position."""
    return [header_type(h, extra) for h in headers]


def detect_header(line: str, delimiter: str) -> list[str] | None:
    """The cells of ``line`` if it looks like a header row (two or more cells name a known type)."""
    cells = [c.strip() for c in line.rstrip("\r\n").split(delimiter)]
    known = sum(1 for c in cells if header_type(c) is not None)
    return cells if known >= 2 else None
