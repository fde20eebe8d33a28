"""Phone numbers: Korean mobile (010, legacy 011/016-019), landlines, 070, 050x; others via phonenumbers.

Canonical form: E.164 digits without "+" (``821012345678``). Partial forms for Korean numbers:
``p{area}s4`` = area code + last 4 (010-****-5678 -> ``010*5678``) and ``p{n-4}`` = all but the
last 4 (010-1234-**** -> ``0101234*``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar, cast

import numpy as np

from matchers.errors import InvalidIdentifier
from matchers.model import OBF_EXCEL_ZERO, OBF_INTERNATIONAL, OBF_SEPARATORS, PHONE
from matchers.types.base import MASK_CLASS, NONDIGIT, NONDIGIT_NUL, Recognizer, digits

_AREA = r"0(?:1[016789]|2|[3-6][1-5]|70|50[2-8])"
_AREA_B = _AREA.encode()
_SEP = rb"[-. /]?"
FAST = (
    rb"(?:^|[^0-9])(?:"
    rb"\(?" + _AREA_B + rb"\)?" + _SEP + rb"[0-9]{3,4}" + _SEP + rb"[0-9]{4}"
    rb"|(?:\+|00[125678]?[-. ]?)?82[-. ]?(?:\(0\)[-. ]?)?0?" + _AREA_B[1:] + _SEP + rb"[0-9]{3,4}" + _SEP + rb"[0-9]{4}"
    rb"|10[0-9]{8}"
    rb"|\+(?:[1-79]|8[013-9])[0-9]{0,2}[-. ]?(?:\([0-9]{1,4}\)[-. ]?)?[0-9]{1,4}(?:[-. ]?[0-9]{2,4}){1,4})[0-9]*"
)
SCAN = re.compile(
    r"(?<![0-9])(?:(?:\(?"
    + _AREA
    + r"\)?|(?:\+|00[125678]?[-. ]?)?82[-. ]?(?:\(0\)[-. ]?)?0?"
    + _AREA[1:]
    + r")[-. /]?[0-9]{3,4}[-. /]?[0-9]{4}"
    r"|\+(?:[1-79]|8[013-9])[0-9]{0,2}[-. ]?(?:\([0-9]{1,4}\)[-. ]?)?[0-9]{1,4}(?:[-. ]?[0-9]{2,4}){1,4})(?![0-9])"
)
MASKED = re.compile(
    r"(?<![0-9])(" + _AREA + r")\)?[-. ]?(?:(" + MASK_CLASS + r"{3,4})[-. ]?([0-9]{4})"
    r"|([0-9]{3,4})[-. ]?" + MASK_CLASS + r"{4})(?![0-9*])"
)
_STANDARD = re.compile(r"0[0-9]{1,3}([-. ]?)[0-9]{3,4}\1[0-9]{4}|\(0[0-9]{1,3}\) ?[0-9]{3,4}-?[0-9]{4}")

# (prefix, length) pairs of valid Korean national numbers (with trunk 0).
_MOBILE = {
    b"010": (10, 11),
    b"011": (10, 11),
    b"016": (10, 11),
    b"017": (10, 11),
    b"018": (10, 11),
    b"019": (10, 11),
    b"070": (11,),
}
_VALID: set[tuple[bytes, int]] = {(p, n) for p, ns in _MOBILE.items() for n in ns}
_VALID |= {(b"02" + bytes([d]), n) for d in range(48, 58) for n in (9, 10)}
_VALID |= {(b"0" + bytes([a, b]), n) for a in b"3456" for b in b"12345" for n in (10, 11)}
_VALID |= {(b"050", n) for n in (11, 12)}


def national(d: bytes) -> bytes | None:
    """National number (with trunk 0) from the digits of a raw match, or None if not a KR phone."""
    if d[:2] == b"00":  # international dial prefix: 00, 001, 002, 005, 006, 008, then 82
        d = d[2:] if d[2:4] == b"82" else d[3:]
        if d[:2] != b"82":
            return None
    if d[:2] == b"82":
        d = d[2:] if d[2:3] == b"0" else b"0" + d[2:]
    elif d[:2] == b"10" and len(d) == 10:
        d = b"0" + d
    if (d[:3], len(d)) in _VALID:
        return d
    return None


def _full(d: bytes, raw: bytes) -> bytes | None:
    nat = national(d)
    if nat is not None:
        return b"82" + nat[1:]
    return d if b"+" in raw and 8 <= len(d) <= 15 else None  # another country: E.164 digits


def area_code(nat: str) -> str:
    if nat.startswith("02"):
        return "02"
    if nat.startswith("050"):
        return nat[:4]
    return nat[:3]


class PhoneRecognizer(Recognizer):
    id_type: ClassVar[str] = PHONE
    domain: ClassVar[str] = PHONE
    base_confidence: ClassVar[float] = 0.85
    context_words: ClassVar[tuple[str, ...]] = (
        "전화",
        "휴대폰",
        "핸드폰",
        "연락처",
        "폰번호",
        "번호",
        "tel",
        "phone",
        "mobile",
        "hp",
        "cell",
    )
    fast_pattern: ClassVar[bytes | None] = FAST
    scan_pattern: ClassVar[re.Pattern[str] | None] = SCAN
    masked_pattern: ClassVar[re.Pattern[str] | None] = MASKED
    partial_forms: ClassVar[tuple[str, ...]] = ("p3s4", "p2s4", "p4s4", "p7", "p6", "p5", "p8")

    def fast_canonicals(self, raws: list[bytes]) -> list[bytes | None]:
        return self._batch(raws)[0]

    def valid_canonicals(self, raws: list[bytes]) -> tuple[list[bytes], Sequence[int]]:
        items, general = self._batch(raws)
        invalid = [i for i in general if items[i] is None]
        if not invalid:
            return cast(list[bytes], items), range(len(items))
        keep = np.ones(len(items), dtype=bool)
        keep[invalid] = False
        canon: list[bytes] = []
        start = 0
        for i in invalid:  # list slices between the (few) invalid items: C-level copies
            canon += cast(list[bytes], items[start:i])
            start = i + 1
        canon += cast(list[bytes], items[start:])
        return canon, np.flatnonzero(keep).tolist()

    def _batch(self, raws: list[bytes]) -> tuple[list[bytes | None], list[int]]:
        """(canonical or None per raw, positions that took the general path)."""
        # C-level work over the NUL-joined batch: keep digits, then rewrite every 010 number to its
        # canonical 8210 with one replace. Nearly every number in a dump is 010-XXXX-XXXX, so numpy
        # only has to find the few items not of the shape 8210 + 8 digits; they take the general path.
        joined = b"\x00".join(raws).translate(None, NONDIGIT_NUL)
        ds = joined.split(b"\x00")
        if len(ds) != len(raws):  # a NUL byte inside a raw match: one at a time
            return [_full(raw.translate(None, NONDIGIT), raw) for raw in raws], list(range(len(raws)))
        canon = (b"\x00" + joined).replace(b"\x00010", b"\x008210")[1:]
        items: list[bytes | None] = list(canon.split(b"\x00"))
        buf = np.frombuffer(canon, dtype=np.uint8)
        ends = np.flatnonzero(buf == 0)
        starts = np.concatenate(([0], ends + 1))
        lengths = np.concatenate((ends, [len(buf)])) - starts
        twelve = np.flatnonzero(lengths == 12)
        first = starts[twelve]
        shaped = (buf[first] == 56) & (buf[first + 1] == 50) & (buf[first + 2] == 49) & (buf[first + 3] == 48)
        good = np.zeros(len(items), dtype=bool)
        good[twelve[shaped]] = True
        general = np.flatnonzero(~good).tolist()
        for i in general:
            items[i] = _full(ds[i], raws[i])
        return items, general

    def canonicalize(self, raw: str) -> tuple[str, tuple[str, ...]] | None:
        d = digits(raw)
        nat = national(d.encode())
        if nat is None:
            if raw.lstrip().startswith("+") and 8 <= len(d) <= 15 and not d.startswith("82"):
                return d, (OBF_INTERNATIONAL,)
            return None
        classes: list[str] = []
        body = raw.strip()
        if d.startswith(("82", "00")):
            classes.append(OBF_INTERNATIONAL)
        elif d.startswith("1"):
            classes.append(OBF_EXCEL_ZERO)
        elif not _STANDARD.fullmatch(body):
            classes.append(OBF_SEPARATORS)
        return "82" + nat[1:].decode(), tuple(classes)

    def masked(self, raw: str) -> tuple[str, str] | None:
        m = MASKED.search(raw)
        if m is None:
            return None
        area = m.group(1)
        if m.group(3):
            return f"p{len(area)}s4", f"{area}*{m.group(3)}"
        head = area + m.group(4)
        return f"p{len(head)}", head + "*"

    def protected(self, raw: str) -> list[tuple[str, str]]:
        if not raw or len(raw) > 40:
            raise InvalidIdentifier(PHONE, "empty or too long")
        nat = national(digits(raw).encode()) if not raw.strip().startswith("+") else None
        if nat is not None:
            n = nat.decode()
            area = area_code(n)
            return [("full", "82" + n[1:]), (f"p{len(area)}s4", f"{area}*{n[-4:]}"), (f"p{len(n) - 4}", n[:-4] + "*")]
        import phonenumbers  # a foreign or unusual number in the protected set: not loaded by a scan

        try:
            parsed = phonenumbers.parse(raw, "KR")
        except phonenumbers.NumberParseException:
            raise InvalidIdentifier(PHONE, "not a phone number") from None
        if parsed.country_code == 82:
            nat = national(b"0" + str(parsed.national_number).encode())
            if nat is not None:
                return self.protected(nat.decode())
            if not phonenumbers.is_valid_number(parsed):  # e.g. 15xx/080 pass; garbage does not
                raise InvalidIdentifier(PHONE, "not a valid Korean phone number")
        elif not phonenumbers.is_possible_number(parsed):
            raise InvalidIdentifier(PHONE, "not a possible phone number")
        return [("full", f"{parsed.country_code}{parsed.national_number}")]

    def validate(self, canonical: str) -> bool | None:
        return national(canonical.encode()) is not None if canonical.startswith("82") else None

    def mask(self, canonical: str, form: str = "full") -> str:
        if form != "full":
            area, _, tail = canonical.partition("*")
            return f"{area}-****-{tail}" if tail else f"{area[:3]}-{area[3:]}-****"
        if not canonical.startswith("82"):
            return "+" + canonical[:2] + "*" * (len(canonical) - 6) + canonical[-4:]
        n = "0" + canonical[2:]
        return f"{area_code(n)}-****-{n[-4:]}"
