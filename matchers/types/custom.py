"""User-declared identifier types (``[identifiers.custom.NAME]`` in config).

``pattern`` is an RE2 regex (linear time on any input: no backreferences or look-around; a pattern
RE2 cannot compile is refused, never run on stdlib ``re``). It runs over UTF-8 bytes in the hot path
and over de-obfuscated text in the slow path. ``canonical`` is ``digits`` (keep digits),
``lowercase`` (case-fold) or ``strip`` (trim).
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
        compile_re2(self.name, self.pattern)
        object.__setattr__(self, "context", tuple(self.context))


def compile_re2(name: str, pattern: str | bytes) -> Any:
    """``pattern`` compiled by RE2; ValueError when it is invalid or needs a backtracking engine.

    pyre2 silently hands patterns RE2 cannot run (backreferences, look-around) to stdlib ``re``,
    whose backtracking is exponential on hostile lines (``(a+)+$``): such a pattern is refused.
    """
    try:
        compiled = re2.compile(pattern)
    except Exception as exc:
        raise ValueError(f"custom type {name}: invalid pattern ({str(exc)[:120]})") from None
    if isinstance(compiled, re2.FallbackPattern):
        raise ValueError(
            f"custom type {name}: the pattern needs backreferences or look-around, which RE2 does not "
            "support (only linear-time patterns are accepted); rewrite it without them"
        )
    return compiled


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
    fast_canonical_exact: ClassVar[bool] = True  # no boundary byte, no classes: the base fast_canonicals

    def __init__(self, spec: CustomType) -> None:
        self.spec = spec
        self.id_type = spec.name  # type: ignore[misc]
        self.domain = spec.name  # type: ignore[misc]
        self.context_words = tuple(w.casefold() for w in spec.context)  # type: ignore[misc]
        self.scan_pattern = compile_re2(spec.name, spec.pattern)  # type: ignore[misc]  # RE2 on text
        self.grouped = spec.canonical == "digits" and spec.separators is not False
        self._bytes_re: Any = compile_re2(spec.name, spec.pattern.encode())  # RE2 on UTF-8 bytes
        self.fast_pattern = spec.pattern.encode()  # type: ignore[misc]

    def find_all(self, block: bytes) -> list[bytes]:
        """All matches in a UTF-8 block (whole match, whatever groups the user pattern has)."""
        if self._bytes_re.groups == 0:
            return list(self._bytes_re.findall(block))
        return [m.group(0) for m in self._bytes_re.finditer(block)]

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
