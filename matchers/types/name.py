"""Personal names (weak evidence). Hangul names: syllables only, spaces removed (``김 철수`` = ``김철수``);
romanized names: case-folded, single-spaced. In a record, syllable-spaced names (``김 민 수``, ``김 민수``)
and names with zero-width characters inside (``김\u200b민수``) are read as the name too.

Partial forms match masks: ``fl`` keeps the first and last syllable (김*수, 남**수), ``f`` only the first
(김**, 이*). A name never counts alone: the engine reports it only next to another identifier of the
same subject in the same record.
"""

from __future__ import annotations

import re
import unicodedata
from typing import ClassVar

from matchers.errors import InvalidIdentifier
from matchers.model import NAME, OBF_INVISIBLE, OBF_SPACED
from matchers.types.base import MASK_CLASS, Recognizer

_HANGUL = re.compile(r"[가-힣]{2,7}")
_LATIN = re.compile(r"[a-z]+(?:[ '\-][a-z]+){1,3}")
SCAN = re.compile(r"(?<![가-힣])[가-힣]{2,7}(?![가-힣])|(?<![A-Za-z])[A-Za-z]{2,}(?: [A-Za-z]{2,}){1,2}(?![A-Za-z])")
_TOKENS = re.compile(
    r"(?<![가-힣])([가-힣]{2,7})(?![가-힣])|(?<![A-Za-z])[A-Za-z]{2,}(?: [A-Za-z]{2,}){1,2}(?![A-Za-z])"
)
MASKED = re.compile(r"(?<![가-힣])[가-힣](?:" + MASK_CLASS + r"|ㅇ|O){1,4}[가-힣]?(?![가-힣])")
#: Honorifics glued to names in posts and spreadsheets (김철수님, 김철수 씨).
SUFFIXES = ("님", "씨", "고객님", "고객")
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]+")
#: Syllables spaced one by one (김 민 수), or a surname spaced from the given name (김 민수, 남궁 민수).
_SPACED = re.compile(
    r"(?<![가-힣])[가-힣](?: [가-힣]){1,4}(?![가-힣])|(?<![가-힣])[가-힣]{1,2} [가-힣]{1,3}(?![가-힣])"
)


class NameRecognizer(Recognizer):
    id_type: ClassVar[str] = NAME
    domain: ClassVar[str] = NAME
    weak: ClassVar[bool] = True
    base_confidence: ClassVar[float] = 0.5
    context_words: ClassVar[tuple[str, ...]] = ("이름", "성명", "고객명", "name", "성함")
    scan_pattern: ClassVar[re.Pattern[str] | None] = SCAN
    masked_pattern: ClassVar[re.Pattern[str] | None] = MASKED
    partial_forms: ClassVar[tuple[str, ...]] = ("fl", "f")

    def canonicalize(self, raw: str) -> tuple[str, tuple[str, ...]] | None:
        value = unicodedata.normalize("NFC", raw).strip()
        hangul = value.replace(" ", "")
        if _HANGUL.fullmatch(hangul):
            return hangul, ()
        latin = " ".join(value.casefold().split())
        if _LATIN.fullmatch(latin):
            return latin, ()
        return None

    def record_tokens(self, text: str, *, partial: bool = True) -> list[tuple[str, str, int]]:
        out: list[tuple[str, str, int]] = []
        if _ZERO_WIDTH.search(text):  # zero-width characters inside a name: read the record without them
            out += self._tokens(_ZERO_WIDTH.sub("", text), partial=False)  # (offsets shift by a few characters)
        for m in _SPACED.finditer(text):
            joined = m.group(0).replace(" ", "")
            if 2 <= len(joined) <= 5:
                out.append((joined, "full", m.start()))
        return out + self._tokens(text, partial=partial)

    def token_classes(self, text: str, start: int, canonical: str) -> tuple[str, ...]:
        if text[start : start + len(canonical)].casefold() == canonical:
            return ()
        window = text[max(start - 4, 0) : start + 3 * len(canonical)]
        return (OBF_INVISIBLE,) if _ZERO_WIDTH.search(window) else (OBF_SPACED,)

    def _tokens(self, text: str, *, partial: bool = True) -> list[tuple[str, str, int]]:
        out: list[tuple[str, str, int]] = []
        for m in _TOKENS.finditer(text):
            token, start = m.group(0), m.start()
            if m.group(1) is None:  # romanized: case-fold, single spaces
                out.append((" ".join(token.casefold().split()), "full", start))
                continue
            out.append((token, "full", start))  # Hangul syllable runs are already canonical
            if token.endswith(SUFFIXES):
                out.extend((c, "full", start) for c in self.candidates(token)[1:])
        if partial:
            for m in MASKED.finditer(text):
                part = self.masked(m.group(0))
                if part is not None:
                    out.append((part[1], part[0], m.start()))
        return out

    def candidates(self, token: str) -> list[str]:
        """Canonical names a token may hold (the token itself, and without an honorific)."""
        out = []
        found = self.canonicalize(token)
        if found:
            out.append(found[0])
        for suffix in SUFFIXES:
            if token.endswith(suffix) and len(token) - len(suffix) >= 2:
                stripped = self.canonicalize(token[: -len(suffix)])
                if stripped:
                    out.append(stripped[0])
        return out

    def masked(self, raw: str) -> tuple[str, str] | None:
        value = raw.strip()
        if not MASKED.fullmatch(value):
            return None
        n = len(value)
        last = value[-1]
        if "가" <= last <= "힣" and n >= 3:
            return "fl", value[0] + "*" * (n - 2) + last
        return "f", value[0] + "*" * (n - 1)

    def protected(self, raw: str) -> list[tuple[str, str]]:
        if len(raw) > 60:
            raise InvalidIdentifier(NAME, "too long")
        found = self.canonicalize(raw)
        if found is None:
            raise InvalidIdentifier(NAME, "not 2-7 Hangul syllables or a romanized name")
        c = found[0]
        forms = [("full", c)]
        if _HANGUL.fullmatch(c):
            if len(c) >= 3:
                forms.append(("fl", c[0] + "*" * (len(c) - 2) + c[-1]))
            forms.append(("f", c[0] + "*" * (len(c) - 1)))
        return forms

    def mask(self, canonical: str, form: str = "full") -> str:
        if form != "full":
            return canonical
        if " " in canonical:
            first, _, rest = canonical.partition(" ")
            return first.upper() + " " + "*" * len(rest)
        if len(canonical) == 2:
            return canonical[0] + "*"
        return canonical[0] + "*" * (len(canonical) - 2) + canonical[-1]
