"""Identifier type names, match kinds and the frozen results the matchers produce.

Stored strings (type names, match kinds, obfuscation classes) are API: change them only with a
migration and a changelog line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from matchers.types.base import Recognizer

# Built-in identifier types.
PHONE = "phone"
EMAIL = "email"
RRN = "rrn"
FRN = "frn"
CARD = "card"
NAME = "name"
BIRTHDATE = "birthdate"
ADDRESS = "address"
BUILTIN_TYPES = (PHONE, EMAIL, RRN, FRN, CARD, NAME, BIRTHDATE, ADDRESS)

#: Weak evidence: counts only beside another identifier of the same subject in the same record/post.
WEAK_TYPES = frozenset({NAME, BIRTHDATE})
#: PIPA "unique identifying information": one leaked value makes a regulator report mandatory.
UNIQUE_ID_TYPES = frozenset({RRN, FRN})

# Match kinds.
EXACT = "exact"
COMPOSITE = "composite"
PARTIAL = "partial"

# Obfuscation classes (a hit may carry several, joined by "+"; "none" when plain).
OBF_NONE = "none"
OBF_UNICODE_DIGITS = "unicode_digits"  # full-width / other Unicode digit forms (NFKC)
OBF_INVISIBLE = "invisible_chars"  # zero-width and other invisible characters
OBF_SEPARATORS = "separators"  # spaces/dots/dashes/slashes/grouping commas inside a number
OBF_LETTER_SWAP = "letter_swap"  # O/o->0, l/I->1 in numeric context; S->5, B->8 ... in the last group
OBF_HANGUL_DIGITS = "hangul_digits"  # 공일공, also mixed with digits: 공1공
OBF_INTERNATIONAL = "international"  # +82, 82, 0082, 001-82
OBF_EXCEL_ZERO = "excel_leading_zero"  # 1012345678 for 01012345678
OBF_MARKUP = "markup"  # HTML/markup splitting a value
OBF_EMAIL_WORDS = "email_words"  # (at) [at] 골뱅이 앳 (dot) 닷 점, spaces around @
OBF_MASKED = "masked"  # 010-****-5678, 김*수: partial only
OBF_LINE_BREAK = "line_break"  # a value broken across one line break (also <br>, table cells)
OBF_SPACED = "spaced_letters"  # every letter or syllable spaced: p a r k @ n a v e r . c o m, 김 민 수
OBF_UNICODE_PUNCT = "unicode_punctuation"  # ideographic / full-width punctuation: naver。com, kim＠naver．com


class Form(StrEnum):
    """Canonical forms a digest is taken over (``hits.form``, ``protected_identifiers.form``): the full
    value, or a mask form a masked sighting (``010-****-5678``) can be compared in."""

    FULL = "full"
    NAME_FAMILY_LAST = "fl"  # name: family name and last syllable
    NAME_FAMILY = "f"  # name: family name only
    EMAIL_HEAD_1 = "p1d"  # e-mail: first 1/2/3 characters of the local part and the domain
    EMAIL_HEAD_2 = "p2d"
    EMAIL_HEAD_3 = "p3d"
    CARD_P6S4 = "p6s4"  # card: first six and last four digits
    PREFIX_5 = "p5"  # phone/RRN: the first N digits
    PREFIX_6 = "p6"
    PREFIX_7 = "p7"
    PREFIX_8 = "p8"
    PHONE_P2S4 = "p2s4"  # phone: area code (2-4 digits) and last four digits
    PHONE_P3S4 = "p3s4"
    PHONE_P4S4 = "p4s4"


class Validation(StrEnum):
    """``Explanation.validation``: what a checksum said about a full value (stored in hit explanations)."""

    CHECKSUM_OK = "checksum_ok"
    CHECKSUM_MISMATCH = "checksum_mismatch"
    LUHN_OK = "luhn_ok"
    LUHN_FAIL = "luhn_fail"


#: The version of the canonical forms; part of every digest's input, so a change re-keys the set.
CANONICAL_VERSION = 1


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a hit has the confidence it has (every finding explains itself)."""

    extractor: str
    validation: str | None
    context: tuple[str, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    """A candidate whose keyed digest is in the protected set (or compatible with it, if partial)."""

    id_type: str
    digest: bytes  # full 32-byte keyed digest (never the value)
    key_id: str
    subject_ids: tuple[int, ...]  # internal subject ids compatible with the digest
    match_kind: str  # exact | composite | partial
    obfuscation: tuple[str, ...]
    confidence: float
    masked: str  # a masked rendering, e.g. 010-****-5678
    line: int  # 0-based line within the scanned block
    form: str = "full"
    explanation: Explanation | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __reduce__(self) -> tuple[type[Hit], tuple[object, ...]]:
        # Hits cross process boundaries (scan --jobs) by the thousand: a plain argument tuple
        # pickles several times faster than the generic slots protocol.
        return Hit, tuple(getattr(self, name) for name in self.__slots__)

    @property
    def obfuscation_label(self) -> str:
        return "+".join(self.obfuscation) if self.obfuscation else OBF_NONE


class HitBuilder:
    """A mutable twin of :class:`Hit` (the same slots, in the same order): its ``__init__`` stores
    each field straight into its slot, and the finished object then becomes a ``Hit`` by ``__class__``
    assignment (allowed because the two layouts are identical). About three times faster than setting
    the frozen ``Hit``'s slots through their descriptors one call at a time, which was about a third of
    the cost of a dump's hit; the result is a ``Hit`` like any other (tests/matchers/test_model.py).
    Use :func:`build_hit`; a hot loop may inline it (build, then assign ``__class__ = Hit``)."""

    __slots__ = Hit.__slots__

    def __init__(
        self,
        id_type: str,
        digest: bytes,
        key_id: str,
        subject_ids: tuple[int, ...],
        match_kind: str,
        obfuscation: tuple[str, ...],
        confidence: float,
        masked: str,
        line: int,
        form: str,
        explanation: Explanation | None,
        extra: dict[str, str],
    ) -> None:
        self.id_type = id_type
        self.digest = digest
        self.key_id = key_id
        self.subject_ids = subject_ids
        self.match_kind = match_kind
        self.obfuscation = obfuscation
        self.confidence = confidence
        self.masked = masked
        self.line = line
        self.form = form
        self.explanation = explanation
        self.extra = extra


def build_hit(
    id_type: str,
    digest: bytes,
    key_id: str,
    subject_ids: tuple[int, ...],
    match_kind: str,
    obfuscation: tuple[str, ...],
    confidence: float,
    masked: str,
    line: int,
    form: str,
    explanation: Explanation | None,
    extra: dict[str, str],
) -> Hit:
    """``Hit(...)`` with every field given, without the frozen ``__init__`` (which sets each field
    through ``object.__setattr__`` by name). The result equals ``Hit(...)`` field for field."""
    hit = HitBuilder(
        id_type,
        digest,
        key_id,
        subject_ids,
        match_kind,
        obfuscation,
        confidence,
        masked,
        line,
        form,
        explanation,
        extra,
    )
    hit.__class__ = Hit  # type: ignore[assignment]
    return hit  # type: ignore[return-value]


class Found(NamedTuple):
    """A located strong or weak candidate whose digest is in the index (internal to ``matchers/``).

    ``canonical`` is plaintext: it never leaves ``matchers/``; a :class:`Hit` carries only its digest
    and masked rendering. Build with :meth:`of` (a tuple: cheap to build, immutable; narrow the
    subjects with :meth:`with_subjects`).
    """

    rec: Recognizer
    id_type: str
    canonical: str
    form: str
    digest: bytes
    subjects: tuple[int, ...]
    line: int  # block-relative
    start: int  # char offset in the line
    obfuscation: tuple[str, ...]
    extractor: str
    line_text: str

    @classmethod
    def of(
        cls,
        rec: Recognizer,
        canonical: str,
        form: str,
        *,
        digest: bytes,
        subjects: tuple[int, ...],
        line: int,
        start: int,
        obfuscation: tuple[str, ...],
        extractor: str,
        line_text: str,
    ) -> Found:
        """The one builder: the reported type follows the value (RRN vs FRN share a recognizer)."""
        return cls(
            rec,
            rec.hit_type(canonical),
            canonical,
            form,
            digest,
            subjects,
            line,
            start,
            obfuscation,
            extractor,
            line_text,
        )

    def with_subjects(self, subjects: tuple[int, ...]) -> Found:
        """The same candidate, compatible with ``subjects`` only."""
        return _tuple_new(Found, (*self[:5], subjects, *self[6:]))


_tuple_new = tuple.__new__
