"""The recognizer interface: what every identifier type declares and answers.

A recognizer is data plus small pure functions:
- ``fast_pattern``: an RE2 pattern over UTF-8 bytes, no capture groups, run with ``findall`` on big
  chunks (the hot path). It includes one leading non-identifier byte (RE2 has no look-behind) and
  swallows trailing digits so a too-long number is rejected by length, not silently truncated.
- ``fast_canonicals``: a batch of raw matches -> canonical bytes (None if invalid), batch-wise in C
  where possible (join/translate/split) rather than one Python call per item.
- ``scan_pattern``: a stdlib ``re`` pattern over de-obfuscated ``str`` (slow path, short texts).
- ``canonicalize``: one raw string -> (canonical, obfuscation classes visible in the raw) or None.
- ``masked``: one masked string -> (form, canonical) of a partial form, or None.
- ``protected``: a protected-set value -> [(form, canonical), ...]; raises InvalidIdentifier.
- ``validate``: True / False / None ("cannot tell", e.g. an RRN issued after Oct 2020).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar, cast

import re2

NONDIGIT = bytes(b for b in range(256) if not 48 <= b <= 57)
#: Non-digits except NUL (to translate a NUL-joined batch in one call).
NONDIGIT_NUL = bytes(b for b in range(1, 256) if not 48 <= b <= 57)
MASK_CHARS = "*＊xX●○◯"
MASK_CLASS = "[*＊xX●○◯]"


def digits(text: str) -> str:
    """ASCII digits of ``text`` only."""
    if text.isascii():  # the usual case: one C-level byte translate (3x cheaper than the loop)
        return text.encode().translate(None, NONDIGIT).decode()
    return "".join(c for c in text if "0" <= c <= "9")


class Recognizer:
    """Base class: subclasses override the class constants and the methods they support."""

    id_type: ClassVar[str] = ""
    #: Digest domain (FRN shares RRN's number space).
    domain: ClassVar[str] = ""
    weak: ClassVar[bool] = False
    unique_id: ClassVar[bool] = False
    base_confidence: ClassVar[float] = 0.8
    context_words: ClassVar[tuple[str, ...]] = ()
    fast_pattern: ClassVar[bytes | None] = None
    scan_pattern: ClassVar[re.Pattern[str] | None] = None
    masked_pattern: ClassVar[re.Pattern[str] | None] = None
    #: Partial forms that ``protected`` emits besides "full".
    partial_forms: ClassVar[tuple[str, ...]] = ()
    #: True when ``fast_pattern`` starts with one boundary byte that is not part of the value.
    has_lead: ClassVar[bool] = True
    #: A value shared by a household (an address): exact only beside another identifier of the same
    #: subject in the record; alone it is weaker evidence compatible with every subject holding it.
    household: ClassVar[bool] = False
    #: True when ``canonicalize`` of a fast match's value is exactly (its ``fast_canonicals`` item, no
    #: classes): the engine then takes the canonical value from the batch instead of canonicalizing again.
    fast_canonical_exact: ClassVar[bool] = False
    _fast_re: Any = None

    def _compiled(self) -> Any:
        if self._fast_re is None:
            self._fast_re = re2.compile(self.fast_pattern)
        return self._fast_re

    def find_all(self, block: bytes) -> list[bytes]:
        """Raw fast-pattern matches in a UTF-8 block, in order (hot path: no match objects)."""
        return self._compiled().findall(block)  # type: ignore[no-any-return]

    def claims(self, raw: bytes) -> bool:
        """In a shared pass: is this raw match (possibly) of my type? Cheap, C-level checks only."""
        return True

    def fast_canonicals(self, raws: list[bytes]) -> list[bytes | None]:
        """Canonical bytes for each raw fast match (None where the raw is not a valid value)."""
        out: list[bytes | None] = []
        for raw in raws:
            found = self.canonicalize(raw.decode("utf-8", "replace"))
            out.append(None if found is None else found[0].encode())
        return out

    def valid_canonicals(self, raws: list[bytes]) -> tuple[list[bytes], Sequence[int]]:
        """``fast_canonicals`` without the invalid items: (canonicals, their positions in ``raws``)."""
        maybe = self.fast_canonicals(raws)
        if None in maybe:
            keep = [i for i, c in enumerate(maybe) if c is not None]
            return [c for c in maybe if c is not None], keep
        return cast(list[bytes], maybe), range(len(maybe))

    def record_tokens(self, text: str, *, partial: bool = True) -> list[tuple[str, str, int]]:
        """(canonical, form, start) of every value of this type in a record (weak types)."""
        out: list[tuple[str, str, int]] = []
        if self.scan_pattern is not None:
            for m in self.scan_pattern.finditer(text):
                found = self.canonicalize(m.group(0))
                if found is not None:
                    out.append((found[0], "full", m.start()))
        if partial and self.masked_pattern is not None:
            for m in self.masked_pattern.finditer(text):
                part = self.masked(m.group(0))
                if part is not None:
                    out.append((part[1], part[0], m.start()))
        return out

    def masked_tokens(self, text: str) -> list[tuple[str, str, int]]:
        """The masked values of ``record_tokens(text, partial=True)`` alone, in order: (canonical, form,
        start). ``record_tokens(text, partial=False)`` are the others; a masked form is never "full"."""
        out: list[tuple[str, str, int]] = []
        if self.masked_pattern is not None:
            for m in self.masked_pattern.finditer(text):
                part = self.masked(m.group(0))
                if part is not None:
                    out.append((part[1], part[0], m.start()))
        return out

    def token_classes(self, text: str, start: int, canonical: str) -> tuple[str, ...]:
        """Obfuscation classes of a ``record_tokens`` value found at ``start`` in ``text``."""
        return ()

    def canonicalize(self, raw: str) -> tuple[str, tuple[str, ...]] | None:
        raise NotImplementedError

    def masked(self, raw: str) -> tuple[str, str] | None:
        return None

    def protected(self, raw: str) -> list[tuple[str, str]]:
        raise NotImplementedError

    def validate(self, canonical: str) -> bool | None:
        return None

    def validation_label(self, canonical: str) -> str | None:
        return None

    def notes(self, canonical: str, form: str = "full") -> tuple[str, ...]:
        """Rule notes for a hit's explanation (e.g. a configured alias that may have produced the match)."""
        return ()

    def hit_type(self, canonical: str) -> str:
        """The type to report for a canonical value (RRN vs FRN share one recognizer)."""
        return self.id_type

    def mask(self, canonical: str, form: str = "full") -> str:
        return canonical[:1] + "*" * max(len(canonical) - 1, 1)
