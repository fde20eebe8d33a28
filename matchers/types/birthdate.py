"""Birth dates (weak evidence). Canonical ``YYYYMMDD``; accepts 1990-01-02, 1990.1.2, 1990/01/02,
19900102, 1990년 1월 2일, and two-digit years (90.01.02; pivot: 00-29 -> 20xx)."""

from __future__ import annotations

import datetime as dt
import re
from typing import ClassVar

from matchers.errors import InvalidIdentifier
from matchers.model import BIRTHDATE
from matchers.types.base import Recognizer

_FULL = r"(?:19|20)[0-9]{2}(?:[-./]|년 ?)[01]?[0-9](?:[-./]|월 ?)[0-3]?[0-9]일?|(?:19|20)[0-9]{2}[01][0-9][0-3][0-9]"
_SHORT = r"[0-9]{2}[-./][01][0-9][-./][0-3][0-9]"
SCAN = re.compile(r"(?<![0-9])(?:" + _FULL + "|" + _SHORT + r")(?![0-9])")
_PARTS = re.compile(r"([0-9]{2,4})\D*?([0-9]{1,2})\D*?([0-9]{1,2})\D*")


def parse_date(raw: str) -> str | None:
    value = raw.strip()
    if re.fullmatch(r"[0-9]{8}", value):
        y, m, d = int(value[:4]), int(value[4:6]), int(value[6:])
    else:
        parts = _PARTS.fullmatch(value)
        if parts is None:
            return None
        y, m, d = (int(p) for p in parts.groups())
        if len(parts.group(1)) == 2:
            y += 2000 if y < 30 else 1900
        elif len(parts.group(1)) != 4:
            return None
    try:
        when = dt.date(y, m, d)
    except ValueError:
        return None
    if not 1900 <= when.year <= 2100:
        return None
    return f"{when.year:04d}{when.month:02d}{when.day:02d}"  # strftime costs twice as much


class BirthdateRecognizer(Recognizer):
    id_type: ClassVar[str] = BIRTHDATE
    domain: ClassVar[str] = BIRTHDATE
    weak: ClassVar[bool] = True
    base_confidence: ClassVar[float] = 0.4
    context_words: ClassVar[tuple[str, ...]] = ("생년월일", "생일", "birth", "dob", "birthday")
    scan_pattern: ClassVar[re.Pattern[str] | None] = SCAN

    def canonicalize(self, raw: str) -> tuple[str, tuple[str, ...]] | None:
        found = parse_date(raw)
        return (found, ()) if found else None

    def protected(self, raw: str) -> list[tuple[str, str]]:
        found = parse_date(raw) if len(raw) <= 30 else None
        if found is None:
            raise InvalidIdentifier(BIRTHDATE, "not a date (YYYYMMDD or a common written form)")
        return [("full", found)]

    def validate(self, canonical: str) -> bool | None:
        return parse_date(canonical) is not None

    def mask(self, canonical: str, form: str = "full") -> str:
        return canonical[:4] + "-**-**"
