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


_ZERO_WIDTH_CHARS = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")  # what _ZERO_WIDTH matches
#: Maximal runs of Hangul syllables: _TOKENS' Hangul names and _SPACED's pieces are read off them.
_RUN = re.compile("[가-힣]+")
#: _TOKENS' romanized branch alone, and what every match of it contains.
_LATIN_TOKEN = re.compile(r"(?<![A-Za-z])[A-Za-z]{2,}(?: [A-Za-z]{2,}){1,2}(?![A-Za-z])")
_LATIN_HINT = re.compile(r"[A-Za-z]{2} [A-Za-z]{2}")


def _spaced(text: str, runs: list[tuple[int, int]]) -> list[tuple[str, str, int]]:
    """``_SPACED.finditer(text)`` read off the Hangul runs, joined: (name, "full", start) per match.

    At a run's start the pattern tries, in order: single syllables spaced one by one (the run and up
    to four more one-syllable runs, each one space after the last), then a run of 1-2 syllables, one
    space and a run of 1-3; a match resumes the search after it. Every match joins 2-5 syllables.
    """
    out: list[tuple[str, str, int]] = []
    n, i = len(runs), 0
    while i < n:
        s, e = runs[i]
        j = i
        if e - s == 1:
            while j + 1 < n and j - i < 4:
                end = runs[j][1]
                ns, ne = runs[j + 1]
                if ne - ns != 1 or ns != end + 1 or text[end] != " ":
                    break
                j += 1
        if j > i:
            out.append(("".join(text[a] for a, _ in runs[i : j + 1]), "full", s))
            i = j + 1
            continue
        if e - s <= 2 and i + 1 < n:
            ns, ne = runs[i + 1]
            if ns == e + 1 and text[e] == " " and ne - ns <= 3:
                out.append((text[s:e] + text[ns:ne], "full", s))
                i += 2
                continue
        i += 1
    return out


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
        if any(c in text for c in _ZERO_WIDTH_CHARS):  # zero-width characters inside a name: read it without
            out += self._tokens(_ZERO_WIDTH.sub("", text), partial=False)  # (offsets shift by a few characters)
        runs = [m.span() for m in _RUN.finditer(text)]
        return out + _spaced(text, runs) + self._tokens(text, partial=partial, runs=runs)

    def token_classes(self, text: str, start: int, canonical: str) -> tuple[str, ...]:
        if text[start : start + len(canonical)].casefold() == canonical:
            return ()
        window = text[max(start - 4, 0) : start + 3 * len(canonical)]
        return (OBF_INVISIBLE,) if _ZERO_WIDTH.search(window) else (OBF_SPACED,)

    def _tokens(
        self, text: str, *, partial: bool = True, runs: list[tuple[int, int]] | None = None
    ) -> list[tuple[str, str, int]]:
        """``_TOKENS`` matches in order: Hangul runs of 2-7 syllables (with the names an honorific may
        hide) and romanized names, merged by position (their characters never overlap)."""
        if runs is None:
            runs = [m.span() for m in _RUN.finditer(text)]
        latin = [(m.start(), m.group(0)) for m in _LATIN_TOKEN.finditer(text)] if _LATIN_HINT.search(text) else []
        out: list[tuple[str, str, int]] = []
        k = 0
        for s, e in runs:
            if not 2 <= e - s <= 7:
                continue
            while k < len(latin) and latin[k][0] < s:
                out.append((" ".join(latin[k][1].casefold().split()), "full", latin[k][0]))  # case-fold, single spaces
                k += 1
            token = text[s:e]
            out.append((token, "full", s))  # Hangul syllable runs are already canonical
            if token.endswith(SUFFIXES):
                out.extend((c, "full", s) for c in self.candidates(token)[1:])
        for start, token in latin[k:]:
            out.append((" ".join(token.casefold().split()), "full", start))
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
