"""Korean postal addresses: road-name (도로명) and lot-number (지번) forms.

Canonical: ``<province> <시/군/구...> <road> <building no.>[ <n>동][ <n>층][ <n>호]`` for road-name
addresses and ``<province> <시/군/구...> [<읍/면>] <동/리/가> [산]<lot no.>[ units]`` for lot numbers.
Province aliases are folded (서울/서울시 -> 서울특별시, 강원도 -> 강원특별자치도, 전라북도 ->
전북특별자치도, ...), postal codes and the parenthesized reference item are dropped, spacing and
commas normalized; 읍/면 are dropped from road-name addresses (road names are unique per 시/군/구).
An address counts only when complete down to the unit: a leaked address without the 동/호 of a
protected one has another canonical form and does not match.

Written variants that reach the same canonical form: abbreviated provinces (서울, 경기, 충남; a bare 광주
before one of its 구), a province split in two (서울 특별시), missing spaces (서울특별시강남구테헤란로123),
a 시/구 suffix left out (경기 성남 분당구, 서울 강남 테헤란로), units glued or prefixed (101동1001호,
제101동 제1001호), and the dong-ho shorthand after a building number (123, 101-1001 = 101동 1001호).

No library does this offline: the PyPI packages for Korean addresses (addresskr, jusolink, geocoder-kr,
gimi9-geocoder, kozip) call the juso.go.kr or a geocoding service, or need its full road database.
Sending protected addresses to an outside service would disclose them (DOMAIN.md 3.6), and a
road database is not needed to compare two spellings of one address.
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
#: Province spellings that may start an address (a bare 광주 only before one of its 구: see canonical_address).
_STARTS = sorted([*PROVINCES, "광주"], key=len, reverse=True)
_PROV = b"|".join(re.escape(a).encode() for a in _STARTS)
_SUFFIX = "|".join(("로", "길", "동", "리", "가")).encode()
_UNIT = "|".join(("동", "층", "호")).encode()
#: A numbered branch road after the road's name (테헤란로7길, 중앙로123번길): part of the road, never its
#: building number (the shortest match would read 테헤란로7길 22 as 테헤란로 7, another address).
_BRANCH = rb"(?:[0-9]+(?:\xeb\xb2\x88)?\xea\xb8\xb8)?"
FAST = (
    rb"(?:" + _PROV + rb")(?:" + _H + rb"|[0-9 ]){1,48}?(?:" + _SUFFIX + rb")" + _BRANCH + rb" *(?:\xec\x82\xb0 ?|"
    rb"\xec\xa7\x80\xed\x95\x98 ?)?[0-9]+(?:-[0-9]+)?(?:[, ]+[1-9][0-9]{0,3}-[0-9]{3,4})?"
    rb"(?:[, ]*(?:\xec\xa0\x9c ?)?[0-9]+ *(?:" + _UNIT + rb"))*"
)
SCAN = re.compile(
    r"(?:" + "|".join(_STARTS) + r")[가-힣0-9 ]{1,48}?(?:로|길|동|리|가)(?:[0-9]+번?길)? *"
    r"(?:산 ?|지하 ?)?[0-9]+(?:-[0-9]+)?(?:[, ]+[1-9][0-9]{0,3}-[0-9]{3,4}(?![0-9]))?"
    r"(?:[, ]*(?:제 ?)?[0-9]+ *(?:동|층|호))*"
)
#: Postal codes: 5 digits anywhere, the old 123-456 only before the address (after it, 101-665 is a unit).
_POSTAL = re.compile(r"\(?\[?\b[0-9]{5}\b\]?\)?|^\s*\(?\[?[0-9]{3}-[0-9]{3}\b\]?\)?")
_REFERENCE = re.compile(r"\([^)]*\)")
_ROAD = re.compile(r"([가-힣0-9]+?(?:로|길))(?:지하)?([0-9]+(?:-[0-9]+)?)?")
_LOT_AREA = re.compile(r"[가-힣0-9]+(?:동|리|가)")
_NUMBER = re.compile(r"(?:산|지하)?[0-9]+(?:-[0-9]+)?(?:번지)?")
_UNIT_AT = re.compile(r"\s*([0-9]+)\s*(동|층|호)")
_REGION = re.compile(r"[가-힣]+(?:시|군|구)")
_TOWN = re.compile(r"[가-힣0-9]+(?:읍|면)")
#: A 시/군/구 glued to what follows it (강남구테헤란로123): the shortest region name first.
_GLUED_REGION = re.compile(r"([가-힣]{1,4}?(?:시|군|구))([가-힣].*)")
#: What may follow a glued region: another region, or a road or lot area with a name of 2+ syllables
#: (so the road 용구대로 is not read as 용구 + 대로).
_GLUED_REST = re.compile(r"[가-힣]+(?:시|군|구)|[가-힣0-9]{2,}(?:로|길|동|리|가)(?![가-힣])")
#: The second half of a province written in two (서울 특별시, 경기 도).
_PROVINCE_TAIL = frozenset({"특별시", "광역시", "특별자치시", "특별자치도", "시", "도"})
#: The counties (군) of the metropolitan cities; every other district of one is a 구.
_METRO_COUNTIES = frozenset({"강화", "옹진", "기장", "달성", "군위", "울주"})
#: The districts of 광주광역시 (a bare 광주 is also a city in Gyeonggi).
_GWANGJU_GU = frozenset({"동구", "서구", "남구", "북구", "광산구"})
_PROV_PREFIX = re.compile("(" + "|".join(sorted(PROVINCES, key=len, reverse=True)) + ")(.+)")
#: Unit spellings folded before reading the units: 제101동 -> 101동, 101-1001 (dong-ho) -> 101동 1001호.
_UNIT_PREFIX = re.compile(r"제\s*([0-9]+\s*(?:동|층|호))")
_DONG_HO = re.compile(r"^\s*([1-9][0-9]{0,3})-([0-9]{3,4})(?![0-9\-])")


#: Road-name addresses already in canonical form, which :func:`canonical_address` returns unchanged
#: (a dump's own column, the common case): the full province, one or more 시/군/구 the last a 구 or
#: 군, the road, a building number, units; single spaces, no digit run longer than 4 (a 5-digit one
#: is a postal code). Why each part is a fixed point: tests/matchers/test_address_fixpoint.py.
_FIXPOINT = re.compile(
    "(?:"
    + "|".join(sorted(set(PROVINCES.values()), key=len, reverse=True))
    + r")(?: [가-힣]+(?:시|군|구))* [가-힣]+(?:구|군)"
    + r" [가-힣](?:[가-힣]|[0-9]{1,4}(?![0-9]))*(?:로|길)"
    + r" [1-9][0-9]{0,3}(?:-[1-9][0-9]{0,3})?(?: [1-9][0-9]{0,3}(?:동|층|호))*"
)


def canonical_address(raw: str) -> str | None:
    """The canonical form of an address, or None if it is not complete enough to identify a dwelling."""
    if _FIXPOINT.fullmatch(raw):
        return raw
    spaced = " ".join(raw.replace(",", " ").split())  # 판교역로 156, 29층: the parser's own tokens
    if _FIXPOINT.fullmatch(spaced):
        return spaced
    return _canonical_address(raw)


def _canonical_address(raw: str) -> str | None:
    text = unicodedata.normalize("NFC", raw)
    text = _REFERENCE.sub(" ", _POSTAL.sub(" ", text)).replace(",", " ")
    tokens = _province_tokens(text.split())
    if not tokens:
        return None
    out = [PROVINCES[tokens[0]]]
    towns: list[str] = []
    i = 1
    while i < len(tokens):
        token = tokens[i]
        if _REGION.fullmatch(token) and not token.endswith(("로", "길")):
            out.append(token)
            i += 1
            continue
        glued = _GLUED_REGION.fullmatch(token) if not out[-1].endswith(("구", "군")) else None
        if glued is not None and _GLUED_REST.match(glued.group(2)):  # 강남구테헤란로123: split once
            tokens[i : i + 1] = [glued.group(1), glued.group(2)]
            continue
        bare = _bare_region(out, token, tokens[i + 1]) if i + 1 < len(tokens) else None
        if bare is not None:  # 경기 성남 분당구, 서울 강남 테헤란로: the suffix left out
            out.append(bare)
            i += 1
            continue
        break
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
    out += _units(" ".join(tokens[i:]))
    return " ".join(out)


def _province_tokens(tokens: list[str]) -> list[str]:
    """Tokens with a known province first (split off a glued rest, joined when written in two), or []."""
    if not tokens:
        return []
    first = tokens[0]
    if first == "광주" and len(tokens) > 1 and tokens[1] in _GWANGJU_GU:
        return ["광주광역시", *tokens[1:]]
    if first not in PROVINCES:
        glued = _PROV_PREFIX.fullmatch(first)
        if glued is None:
            return []
        tokens = [glued.group(1), glued.group(2), *tokens[1:]]
        first = tokens[0]
    if len(tokens) > 1 and tokens[1] in _PROVINCE_TAIL and first + tokens[1] in PROVINCES:
        tokens = [first + tokens[1], *tokens[2:]]
    return tokens


def _bare_region(out: list[str], token: str, following: str) -> str | None:
    """A 시/군/구 written without its suffix, right after the province, or None.

    경기 성남 분당구: a 도, a bare name, then a 구 -> 성남시. 서울 강남 테헤란로: a 특별시/광역시, a bare name,
    then a road or lot area -> 강남구 (or 군 for the few counties of a 광역시).
    """
    if len(out) != 1 or not 2 <= len(token) <= 4 or not token.isalpha() or not "가" <= token[0] <= "힣":
        return None
    if out[0].endswith("도") and following.endswith("구") and _REGION.fullmatch(following):
        return token + "시"
    if out[0].endswith(("특별시", "광역시")) and (_ROAD.fullmatch(following) or _LOT_AREA.fullmatch(following)):
        return token + ("군" if token in _METRO_COUNTIES else "구")
    return None


def _units(rest: str) -> list[str]:
    """동/층/호 units after the building or lot number."""
    rest = _UNIT_PREFIX.sub(r"\1", rest)
    units: list[str] = []
    shorthand = _DONG_HO.match(rest)
    if shorthand is not None:
        units += [shorthand.group(1) + "동", shorthand.group(2) + "호"]
        rest = rest[shorthand.end() :]
    pos = 0
    while (unit := _UNIT_AT.match(rest, pos)) is not None:
        units.append(unit.group(1) + unit.group(2))
        pos = unit.end()
    return units


class AddressRecognizer(Recognizer):
    id_type: ClassVar[str] = ADDRESS
    domain: ClassVar[str] = ADDRESS
    base_confidence: ClassVar[float] = 0.8
    has_lead: ClassVar[bool] = False
    household: ClassVar[bool] = True
    fast_canonical_exact: ClassVar[bool] = True  # no boundary byte, no classes: the base fast_canonicals
    context_words: ClassVar[tuple[str, ...]] = ("주소", "배송지", "거주지", "address", "addr")
    fast_pattern: ClassVar[bytes | None] = FAST
    scan_pattern: ClassVar[re.Pattern[str] | None] = SCAN

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
