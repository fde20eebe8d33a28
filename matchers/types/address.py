"""Korean postal addresses: road-name (도로명) and lot-number (지번) forms.

Canonical: ``<province> <시/군/구...> <road> <building no.>[ <n>동][ <n>층][ <n>호]`` for road-name
addresses and ``<province> <시/군/구...> [<읍/면>] <동/리/가> [산]<lot no.>[ units]`` for lot numbers.
Province aliases are folded (서울/서울시 -> 서울특별시, 강원도 -> 강원특별자치도, 전라북도 ->
전북특별자치도, ...), postal codes and the parenthesized reference item are dropped, spacing and
commas normalized; 읍/면 are dropped from road-name addresses (road names are unique per 시/군/구).
An address counts only when complete down to the unit: a leaked address without the 동/호 of a
protected one has another canonical form and does not match.
"""

from __future__ import annotations

import re
import unicodedata
from typing import ClassVar

from matchers.errors import InvalidIdentifier
from matchers.model import ADDRESS
from matchers.types.base import Recognizer

PROVINCES: dict[str, str] = {}
for _canon, _aliases in {
    "서울특별시": ("서울", "서울시", "서울특별시"),
    "부산광역시": ("부산", "부산시", "부산광역시"),
    "대구광역시": ("대구", "대구시", "대구광역시"),
    "인천광역시": ("인천", "인천시", "인천광역시"),
    "광주광역시": ("광주광역시",),  # bare 광주 is also a city in Gyeonggi
    "대전광역시": ("대전", "대전시", "대전광역시"),
    "울산광역시": ("울산", "울산시", "울산광역시"),
    "세종특별자치시": ("세종", "세종시", "세종특별자치시"),
    "경기도": ("경기", "경기도"),
    "강원특별자치도": ("강원", "강원도", "강원특별자치도"),
    "충청북도": ("충북", "충청북도"),
    "충청남도": ("충남", "충청남도"),
    "전북특별자치도": ("전북", "전라북도", "전북특별자치도"),
    "전라남도": ("전남", "전라남도"),
    "경상북도": ("경북", "경상북도"),
    "경상남도": ("경남", "경상남도"),
    "제주특별자치도": ("제주", "제주도", "제주특별자치도"),
}.items():
    for _alias in _aliases:
        PROVINCES[_alias] = _canon

_H = rb"(?:\xea[\xb0-\xbf][\x80-\xbf]|[\xeb\xec][\x80-\xbf][\x80-\xbf]|\xed[\x80-\x9e][\x80-\xbf])"
_PROV = b"|".join(re.escape(a).encode() for a in sorted(PROVINCES, key=len, reverse=True))
_SUFFIX = "|".join(("로", "길", "동", "리", "가")).encode()
_UNIT = "|".join(("동", "층", "호")).encode()
FAST = (
    rb"(?:" + _PROV + rb")(?:" + _H + rb"|[0-9 ]){1,40}?(?:" + _SUFFIX + rb") {0,2}(?:\xec\x82\xb0 ?|"
    rb"\xec\xa7\x80\xed\x95\x98 ?)?[0-9]+(?:-[0-9]+)?(?:[, ]{0,3}[0-9]+ {0,2}(?:" + _UNIT + rb"))*"
)
SCAN = re.compile(
    r"(?:" + "|".join(sorted(PROVINCES, key=len, reverse=True)) + r")[가-힣0-9 ]{1,40}?(?:로|길|동|리|가) {0,2}"
    r"(?:산 ?|지하 ?)?[0-9]+(?:-[0-9]+)?(?:[, ]{0,3}[0-9]+ {0,2}(?:동|층|호))*"
)
_POSTAL = re.compile(r"\(?\[?\b[0-9]{5}\b\]?\)?|\b[0-9]{3}-[0-9]{3}\b")
_REFERENCE = re.compile(r"\([^)]*\)")
_ROAD = re.compile(r"([가-힣0-9]+?(?:로|길))(?:지하)?([0-9]+(?:-[0-9]+)?)?")
_LOT_AREA = re.compile(r"[가-힣0-9]+(?:동|리|가)")
_NUMBER = re.compile(r"(?:산|지하)?[0-9]+(?:-[0-9]+)?(?:번지)?")
_UNIT_AT = re.compile(r"\s*([0-9]+)\s*(동|층|호)")
_REGION = re.compile(r"[가-힣]+(?:시|군|구)")
_TOWN = re.compile(r"[가-힣0-9]+(?:읍|면)")


def canonical_address(raw: str) -> str | None:
    """The canonical form of an address, or None if it is not complete enough to identify a dwelling."""
    text = unicodedata.normalize("NFC", raw)
    text = _REFERENCE.sub(" ", _POSTAL.sub(" ", text)).replace(",", " ")
    tokens = text.split()
    if not tokens or tokens[0] not in PROVINCES:
        return None
    out = [PROVINCES[tokens[0]]]
    towns: list[str] = []
    i = 1
    while i < len(tokens) and _REGION.fullmatch(tokens[i]) and not tokens[i].endswith(("로", "길")):
        out.append(tokens[i])
        i += 1
    if len(out) == 1 and out[0] != "세종특별자치시":
        return None
    while i < len(tokens) and _TOWN.fullmatch(tokens[i]):
        towns.append(tokens[i])
        i += 1
    if i >= len(tokens):
        return None
    road = _ROAD.fullmatch(tokens[i])
    if road is not None:
        number = road.group(2)
        i += 1
        if number is None:
            if i < len(tokens) and tokens[i] == "지하":
                i += 1
            if i >= len(tokens) or not _NUMBER.fullmatch(tokens[i]):
                return None
            number = tokens[i].removeprefix("지하")
            i += 1
        out += [road.group(1), number]
    elif _LOT_AREA.fullmatch(tokens[i]):
        out += [*towns, tokens[i]]
        i += 1
        if i < len(tokens) and tokens[i] == "산":
            i += 1
            if i < len(tokens):
                tokens[i] = "산" + tokens[i]
        if i >= len(tokens) or not _NUMBER.fullmatch(tokens[i]):
            return None
        out.append(tokens[i].removesuffix("번지"))
        i += 1
    else:
        return None
    rest, pos = " ".join(tokens[i:]), 0
    while (unit := _UNIT_AT.match(rest, pos)) is not None:
        out.append(unit.group(1) + unit.group(2))
        pos = unit.end()
    return " ".join(out)


class AddressRecognizer(Recognizer):
    id_type: ClassVar[str] = ADDRESS
    domain: ClassVar[str] = ADDRESS
    base_confidence: ClassVar[float] = 0.8
    has_lead: ClassVar[bool] = False
    context_words: ClassVar[tuple[str, ...]] = ("주소", "배송지", "거주지", "address", "addr")
    fast_pattern: ClassVar[bytes | None] = FAST
    scan_pattern: ClassVar[re.Pattern[str] | None] = SCAN

    def claims(self, raw: bytes) -> bool:
        return not raw[1:].isascii()

    def canonicalize(self, raw: str) -> tuple[str, tuple[str, ...]] | None:
        found = canonical_address(raw)
        return (found, ()) if found else None

    def protected(self, raw: str) -> list[tuple[str, str]]:
        if len(raw) > 300:
            raise InvalidIdentifier(ADDRESS, "too long")
        found = canonical_address(raw)
        if found is None:
            raise InvalidIdentifier(ADDRESS, "not a complete Korean road-name or lot-number address")
        return [("full", found)]

    def mask(self, canonical: str, form: str = "full") -> str:
        parts = canonical.split()
        return " ".join(parts[:2]) + " ***"
