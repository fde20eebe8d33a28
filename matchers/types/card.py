"""Payment card numbers (13-19 digits). Luhn is a gate: every issued card passes it.

Partial form ``p6s4`` = issuer prefix (first 6) + last 4, the usual mask (1234-56**-****-3456).
"""

from __future__ import annotations

import re
from typing import ClassVar

from matchers.errors import InvalidIdentifier
from matchers.model import CARD, OBF_SEPARATORS
from matchers.types.base import MASK_CLASS, NONDIGIT, Recognizer, digits

#: Written forms with one consistent separator (4-4-4-4, Amex 4-6-5) or none: strict enough to share
#: an RE2 pass with RRNs without swallowing a neighbouring number.
_FORMS = (
    rb"[0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{1,7}|[0-9]{4} [0-9]{4} [0-9]{4} [0-9]{1,7}"
    rb"|[0-9]{4}-[0-9]{6}-[0-9]{4,5}|[0-9]{4} [0-9]{6} [0-9]{4,5}|[0-9]{13,19}"
)
FAST = rb"(?:^|[^0-9])(?:" + _FORMS + rb")[0-9]*"
SCAN = re.compile(r"(?<![0-9])[0-9]{4}[- ]?[0-9]{4,6}[- ]?[0-9]{4,5}(?:[- ]?[0-9]{1,4})?(?![0-9])")
MASKED = re.compile(
    r"(?<![0-9])([0-9]{4})[- ]?([0-9]{2})"
    + MASK_CLASS
    + r"{2}[- ]?"
    + MASK_CLASS
    + r"{4}[- ]?"
    + MASK_CLASS
    + r"{0,4}[- ]?([0-9]{4})(?![0-9])"
)
_STANDARD = re.compile(r"[0-9]{4}([- ]?)[0-9]{4}\1[0-9]{4}\1[0-9]{4}|[0-9]{4}([- ]?)[0-9]{6}\2[0-9]{5}|[0-9]{13,19}")


def luhn_ok(d: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(d)):
        n = ord(c) - 48
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


class CardRecognizer(Recognizer):
    id_type: ClassVar[str] = CARD
    domain: ClassVar[str] = CARD
    base_confidence: ClassVar[float] = 0.9
    context_words: ClassVar[tuple[str, ...]] = ("카드", "카드번호", "card", "credit", "visa", "master")
    fast_pattern: ClassVar[bytes | None] = FAST
    scan_pattern: ClassVar[re.Pattern[str] | None] = SCAN
    masked_pattern: ClassVar[re.Pattern[str] | None] = MASKED
    partial_forms: ClassVar[tuple[str, ...]] = ("p6s4",)

    def claims(self, raw: bytes) -> bool:
        return raw[1:].isascii() and 13 <= len(raw.translate(None, NONDIGIT)) <= 19

    def fast_canonicals(self, raws: list[bytes]) -> list[bytes | None]:
        out: list[bytes | None] = []
        for raw in raws:
            d = raw.translate(None, NONDIGIT)
            out.append(d if 13 <= len(d) <= 19 and luhn_ok(d.decode()) else None)
        return out

    def canonicalize(self, raw: str) -> tuple[str, tuple[str, ...]] | None:
        d = digits(raw)
        if not 13 <= len(d) <= 19 or not luhn_ok(d):
            return None
        return d, (() if _STANDARD.fullmatch(raw.strip()) else (OBF_SEPARATORS,))

    def protected(self, raw: str) -> list[tuple[str, str]]:
        d = digits(raw)
        if not 13 <= len(d) <= 19 or len(raw) > 40:
            raise InvalidIdentifier(CARD, "must have 13-19 digits")
        if not luhn_ok(d):
            raise InvalidIdentifier(CARD, "Luhn check failed")
        return [("full", d), ("p6s4", d[:6] + "*" + d[-4:])]

    def masked(self, raw: str) -> tuple[str, str] | None:
        m = MASKED.search(raw)
        return None if m is None else ("p6s4", m.group(1) + m.group(2) + "*" + m.group(3))

    def validate(self, canonical: str) -> bool | None:
        return luhn_ok(canonical)

    def validation_label(self, canonical: str) -> str | None:
        return "luhn_ok" if luhn_ok(canonical) else "luhn_fail"

    def mask(self, canonical: str, form: str = "full") -> str:
        if form == "p6s4":
            return f"{canonical[:4]}-{canonical[4:6]}**-****-{canonical[-4:]}"
        return "****-****-****-" + canonical[-4:]
