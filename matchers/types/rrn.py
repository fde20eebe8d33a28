"""Resident (RRN) and foreigner (FRN) registration numbers: YYMMDD-GHIJKLX.

One recognizer extracts both (the G digit tells them apart: 5-8 = FRN); both share one digest
domain. The check digit is evidence only: numbers issued since 2020-10-05 are random, so
``validate`` answers None (cannot tell) on a mismatch, never False.
Partial forms: ``p7`` = YYMMDDG (900101-1******), ``p6`` = YYMMDD (900101-*******).
"""

from __future__ import annotations

import re
from typing import ClassVar

from matchers.errors import InvalidIdentifier
from matchers.model import FRN, OBF_SEPARATORS, RRN
from matchers.types.base import MASK_CLASS, NONDIGIT, Recognizer, digits

_DATE = r"[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
FAST = rb"(?:^|[^0-9])" + _DATE.encode() + rb"(?: ?- ?| ?)[0-9]{7}[0-9]*"
SCAN = re.compile(r"(?<![0-9])" + _DATE + r"(?: ?[-–] ?| ?)[0-9]{7}(?![0-9])")
MASKED = re.compile(
    r"(?<![0-9])(" + _DATE + r") ?[-–]? ?(?:([0-9])" + MASK_CLASS + r"{6}|" + MASK_CLASS + r"{7})(?![0-9])"
)
_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_FRN_G = frozenset("5678")


def check_digit(d: str) -> int:
    """The pre-2020 RRN check digit of a 13-digit number."""
    return (11 - sum(w * int(c) for w, c in zip(_WEIGHTS, d, strict=False)) % 11) % 10


def is_date_ok(d: str) -> bool:
    return 1 <= int(d[2:4]) <= 12 and 1 <= int(d[4:6]) <= 31


class RrnRecognizer(Recognizer):
    id_type: ClassVar[str] = RRN
    domain: ClassVar[str] = RRN
    unique_id: ClassVar[bool] = True
    base_confidence: ClassVar[float] = 0.9
    context_words: ClassVar[tuple[str, ...]] = (
        "주민번호",
        "주민등록번호",
        "주민",
        "외국인등록번호",
        "등록번호",
        "rrn",
        "ssn",
        "jumin",
    )
    fast_pattern: ClassVar[bytes | None] = FAST
    scan_pattern: ClassVar[re.Pattern[str] | None] = SCAN
    masked_pattern: ClassVar[re.Pattern[str] | None] = MASKED
    partial_forms: ClassVar[tuple[str, ...]] = ("p7", "p6")

    def claims(self, raw: bytes) -> bool:
        return raw[1:].isascii() and len(raw.translate(None, NONDIGIT)) == 13

    def fast_canonicals(self, raws: list[bytes]) -> list[bytes | None]:
        # A 13-digit card-shaped raw is offered to both members of the shared pass: only a valid
        # birth date can be a protected RRN (``protected`` refuses the others).
        out: list[bytes | None] = []
        for raw in raws:
            d = raw.translate(None, NONDIGIT)
            out.append(d if len(d) == 13 and is_date_ok(d.decode()) else None)
        return out

    def canonicalize(self, raw: str) -> tuple[str, tuple[str, ...]] | None:
        d = digits(raw)
        if len(d) != 13 or not is_date_ok(d):
            return None
        standard = re.fullmatch(r"[0-9]{6}-?[0-9]{7}", raw.strip())
        return d, (() if standard else (OBF_SEPARATORS,))

    def masked(self, raw: str) -> tuple[str, str] | None:
        m = MASKED.search(raw)
        if m is None:
            return None
        if m.group(2):
            return "p7", m.group(1) + m.group(2) + "*"
        return "p6", m.group(1) + "*"

    def protected(self, raw: str) -> list[tuple[str, str]]:
        d = digits(raw)
        if len(d) != 13 or len(raw) > 30:
            raise InvalidIdentifier(self.id_type, "must have 13 digits")
        if not is_date_ok(d):
            raise InvalidIdentifier(self.id_type, "birth date part is not a date")
        return [("full", d), ("p7", d[:7] + "*"), ("p6", d[:6] + "*")]

    def validate(self, canonical: str) -> bool | None:
        if len(canonical) != 13 or not is_date_ok(canonical):
            return False
        expected = check_digit(canonical)
        if canonical[6] in _FRN_G:
            expected = (expected + 2) % 10
        return True if int(canonical[12]) == expected else None

    def validation_label(self, canonical: str) -> str | None:
        return "checksum_ok" if self.validate(canonical) else "checksum_mismatch"

    def hit_type(self, canonical: str) -> str:
        return FRN if canonical[6:7] in _FRN_G else RRN

    def mask(self, canonical: str, form: str = "full") -> str:
        if form == "p6":
            return canonical[:6] + "-*******"
        return canonical[:6] + "-" + canonical[6] + "******"


class FrnRecognizer(RrnRecognizer):
    """Foreigner registration numbers: imported under ``frn``; extracted by the RRN recognizer."""

    id_type: ClassVar[str] = FRN
    fast_pattern: ClassVar[bytes | None] = None
    scan_pattern: ClassVar[re.Pattern[str] | None] = None
    masked_pattern: ClassVar[re.Pattern[str] | None] = None
    context_words: ClassVar[tuple[str, ...]] = ("외국인등록번호", "외국인", "등록번호", "frn", "alien")
