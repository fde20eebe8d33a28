"""User-declared identifier types (``[identifiers.custom.NAME]`` in config).

``pattern`` is a regex; ASCII patterns run on RE2 over bytes in the hot path, others on stdlib ``re``
over text. ``canonical`` is ``digits`` (keep digits), ``lowercase`` (case-fold) or ``strip`` (trim).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import re2

from matchers.errors import InvalidIdentifier
from matchers.model import BUILTIN_TYPES
from matchers.types.base import Recognizer

CanonicalRule = Literal["digits", "lowercase", "strip"]
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


@dataclass(frozen=True)
class CustomType:
    """A config-declared identifier type, e.g. a messenger's internal member serial number."""

    name: str
    pattern: str
    canonical: CanonicalRule = "strip"
    context: Sequence[str] = field(default_factory=tuple)
    #: Also match the value written with grouping separators (123,456,789; 123 456 7890). Digit types
    #: only; None: on for them.
    separators: bool | None = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name) or self.name in BUILTIN_TYPES:
            raise ValueError("custom type name must be [a-z][a-z0-9_]* and not a built-in type")
        if self.canonical not in ("digits", "lowercase", "strip"):
            raise ValueError("canonical must be digits, lowercase or strip")
        if self.separators and self.canonical != "digits":
            raise ValueError(f"custom type {self.name}: separators needs canonical = digits")
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"custom type {self.name}: invalid pattern ({exc})") from None
        object.__setattr__(self, "context", tuple(self.context))


def apply_rule(rule: str, raw: str) -> str:
    if rule == "digits":
        return "".join(c for c in raw if "0" <= c <= "9")
    if rule == "lowercase":
        return raw.strip().casefold()
    return raw.strip()


class CustomRecognizer(Recognizer):
    """A recognizer built from a CustomType (instance attributes shadow the class constants)."""

    base_confidence: ClassVar[float] = 0.8
    has_lead: ClassVar[bool] = False

    def __init__(self, spec: CustomType) -> None:
        self.spec = spec
        self.id_type = spec.name  # type: ignore[misc]
        self.domain = spec.name  # type: ignore[misc]
        self.context_words = tuple(w.casefold() for w in spec.context)  # type: ignore[misc]
        self._text_re = re.compile(spec.pattern)
        self.scan_pattern = self._text_re  # type: ignore[misc]
        self.grouped = spec.canonical == "digits" and spec.separators is not False
        self._bytes_re: Any = None
        if spec.pattern.isascii():
            try:
                self._bytes_re = re2.compile(spec.pattern.encode())
            except Exception:
                self._bytes_re = None
        self.fast_pattern = spec.pattern.encode()  # type: ignore[misc]  # find_all picks RE2 or stdlib

    def find_all(self, block: bytes) -> list[bytes]:
        """All matches in a UTF-8 block (whole match, whatever groups the user pattern has)."""
        if self._bytes_re is not None:
            if self._bytes_re.groups == 0:
                return list(self._bytes_re.findall(block))
            return [m.group(0) for m in self._bytes_re.finditer(block)]
        text = block.decode("utf-8", "replace")
        return [m.group(0).encode() for m in self._text_re.finditer(text)]

    def matches_at(self, block: bytes, pos: int, raw: bytes) -> bool:
        if self._bytes_re is None:
            return True  # stdlib fallback: the raw text itself is the evidence
        m = self._bytes_re.match(block, pos)
        return m is not None and m.group(0) == raw

    def canonicalize(self, raw: str) -> tuple[str, tuple[str, ...]] | None:
        value = apply_rule(self.spec.canonical, raw)
        return (value, ()) if value else None

    def protected(self, raw: str) -> list[tuple[str, str]]:
        if len(raw) > 200:
            raise InvalidIdentifier(self.id_type, "too long")
        found = self.canonicalize(raw)
        if found is None:
            raise InvalidIdentifier(self.id_type, "empty after canonicalization")
        return [("full", found[0])]

    def mask(self, canonical: str, form: str = "full") -> str:
        keep = 2 if len(canonical) > 6 else 1
        return canonical[:keep] + "*" * (len(canonical) - keep)
