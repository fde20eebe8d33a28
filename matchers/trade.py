"""Trade-post score: how much a text reads like an ad selling or leaking personal data.

Pure function over text. The text is normalized twice: ``clean`` (NFKC, lower case, symbols,
punctuation and invisible characters removed, spaces kept) and ``squashed`` (``clean`` without
spaces, then again with one trailing particle per word dropped), so ``대♠출``,
``디 비 팝 니 다`` and ``DB판매`` all meet the vocabulary. Hangul terms of four or more
syllables are also compared fuzzily (rapidfuzz ``partial_ratio``) on Jamo-decomposed strings,
so one changed consonant or vowel (``디비팜니다``) still counts. Latin terms must stand alone
against other Latin letters (``db`` in ``DB판매`` but not in ``feedback``).

The score combines matched terms as independent evidence: ``1 - prod(1 - weight * similarity)``, plus a
synergy term when a sale word and a data word appear together. Returned terms are vocabulary labels
(never text from the post), so they can be stored and quoted in a takedown request.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

#: Longest text compared fuzzily (characters of the squashed text); exact search covers all of it.
FUZZY_LIMIT = 20_000
#: partial_ratio (0-100) on Jamo strings at or above which a Hangul term counts as present.
FUZZY_CUTOFF = 90.0
#: Hangul spellings shorter than this are matched exactly only.
FUZZY_MIN_SYLLABLES = 4
#: Weight of a configured brand name, which only counts beside a trade term.
BRAND_WEIGHT = 0.35
#: Weight of the "sale word and data word together" synergy.
SYNERGY_WEIGHT = 0.6


@dataclass(frozen=True, slots=True)
class Term:
    """One vocabulary entry: the label reported, the spellings looked for, its weight and family."""

    label: str
    spellings: tuple[str, ...]
    weight: float
    family: str  # sale | data | leak | fresh | sample | pii | credential | compound


@dataclass(frozen=True, slots=True)
class TradeScore:
    """Score in 0..1 and the vocabulary labels (and brands) that produced it."""

    score: float
    terms: tuple[str, ...]


VOCABULARY: tuple[Term, ...] = (
    # Compounds: a sale of a people dataset in one phrase.
    Term("디비 팝니다", ("디비팝니다", "디비팜", "디비판매", "디비팔아요", "디비삽니다"), 0.85, "compound"),
    Term("DB판매", ("db판매", "db팝니다", "db팜", "db삽니다", "db구매", "db거래"), 0.85, "compound"),
    Term("풀디비", ("풀디비", "풀db", "fulldb"), 0.8, "compound"),
    Term("실시간DB", ("실시간디비", "실시간db"), 0.75, "fresh"),
    Term("최근DB", ("최근디비", "최근db"), 0.6, "fresh"),
    Term("구디비", ("구디비", "구db"), 0.4, "fresh"),
    Term("콜DB", ("콜디비", "콜db", "완콜디비", "완콜db"), 0.75, "compound"),
    Term("대출DB", ("대출디비", "대출db", "부결디비", "부결db"), 0.75, "compound"),
    Term(
        "주식DB",
        ("주식디비", "주식db", "코인디비", "코인db", "증권디비", "증권db", "회생디비", "회생db"),
        0.7,
        "compound",
    ),
    Term("주민번호 포함", ("주민번호포함", "주민등록번호포함", "주민포함"), 0.8, "pii"),
    Term("개인정보", ("개인정보",), 0.3, "pii"),
    Term("주민번호", ("주민번호", "주민등록번호"), 0.35, "pii"),
    # Single words.
    Term("디비", ("디비",), 0.3, "data"),
    Term("DB", ("db", "database", "데이터베이스"), 0.25, "data"),
    Term("팝니다", ("팝니다", "팜니다", "팔아요", "판매", "분양"), 0.2, "sale"),
    Term("삽니다", ("삽니다", "구매", "구합니다", "매입"), 0.15, "sale"),
    Term("sale", ("sell", "selling", "for sale", "wts"), 0.2, "sale"),
    Term("샘플", ("샘플", "sample", "samples"), 0.35, "sample"),
    Term("유출", ("유출", "leak", "leaked", "leaks"), 0.45, "leak"),
    Term("털린", ("털린", "털림", "털은", "털어"), 0.4, "leak"),
    Term("해킹", ("해킹", "hacked", "해킹작업"), 0.35, "leak"),
    Term("dump", ("dump", "dumps", "덤프"), 0.4, "leak"),
    Term("combo", ("combo", "combolist", "콤보", "emailpass", "mailpass"), 0.7, "credential"),
    Term("stealer log", ("stealer", "스틸러", "stealerlogs"), 0.5, "credential"),
    Term("계정 판매", ("계정판매", "아이디판매", "계정팝니다", "아이디팝니다"), 0.7, "compound"),
    Term("최신 업데이트", ("최신업데이트",), 0.25, "fresh"),
)

#: Korean postpositions stripped from word ends for the second squashed form (longest first).
PARTICLES = ("으로", "에서", "까지", "부터", "을", "를", "이", "가", "은", "는", "도", "만", "의", "에", "로")

_INVISIBLE_CATEGORIES = ("Cf", "Cc", "Cs", "Co", "Cn")
_LATIN = re.compile(r"^[a-z0-9 ]+$")


def trade_score(text: str, brands: Sequence[str] = ()) -> TradeScore:
    """Score ``text`` against the trade vocabulary and the company's ``brands``."""
    clean = normalize(text)
    if not clean.strip():
        return TradeScore(0.0, ())
    squashed = clean.replace(" ", "") + " " + "".join(_strip_particle(word) for word in clean.split())
    jamo = _jamo(squashed[:FUZZY_LIMIT])
    found: list[tuple[str, float, str]] = []
    for term in VOCABULARY:
        similarity = max(_similarity(s, clean, squashed, jamo) for s in term.spellings)
        if similarity > 0:
            found.append((term.label, term.weight * similarity, term.family))
    families = {family for _, _, family in found}
    if found:
        for brand in brands:
            spelled = normalize(brand).replace(" ", "")
            if spelled and _similarity(spelled, clean, squashed, jamo) > 0:
                found.append((brand, BRAND_WEIGHT, "brand"))
    evidence = [strength for _, strength, _ in found]
    if "sale" in families and families & {"data", "pii", "leak", "credential"}:
        evidence.append(SYNERGY_WEIGHT)
    remaining = 1.0
    for strength in evidence:
        remaining *= 1.0 - min(strength, 1.0)
    return TradeScore(round(1.0 - remaining, 4), tuple(label for label, _, _ in found))


def normalize(text: str) -> str:
    """NFKC, lower case; drop symbols, punctuation and invisible characters; collapse whitespace."""
    out: list[str] = []
    for char in unicodedata.normalize("NFKC", text).lower():
        category = unicodedata.category(char)
        if char.isspace():
            out.append(" ")
        elif category[0] in "LN":
            out.append(char)
        elif category in _INVISIBLE_CATEGORIES or category[0] in "SPM":
            continue
    return " ".join("".join(out).split())


def _similarity(spelling: str, clean: str, squashed: str, jamo: str) -> float:
    """1.0 for an exact occurrence, the fuzzy ratio for a near one, else 0."""
    spelling = normalize(spelling)
    if _LATIN.match(spelling):
        pattern = r"(?<![a-z])" + re.escape(spelling) + r"(?![a-z])"
        if re.search(pattern, clean) or (" " in spelling and spelling.replace(" ", "") in squashed):
            return 1.0
        return 0.0
    key = spelling.replace(" ", "")
    if key in squashed:
        return 1.0
    hangul_syllables = sum(1 for c in key if "\uac00" <= c <= "\ud7a3")
    key_jamo = _jamo(key)
    # Three syllables are too short to compare fuzzily: 삽니다 (buying) is one consonant from 팝니다.
    # A needle longer than the text would make partial_ratio slide the text over the needle instead.
    if hangul_syllables < FUZZY_MIN_SYLLABLES or len(key_jamo) > len(jamo):
        return 0.0
    ratio = fuzz.partial_ratio(key_jamo, jamo, score_cutoff=FUZZY_CUTOFF)
    return ratio / 100.0 if ratio else 0.0


def _strip_particle(word: str) -> str:
    """``디비를`` -> ``디비``: drop one trailing postposition so phrases split by particles still meet."""
    for particle in PARTICLES:
        if word.endswith(particle) and len(word) > len(particle) + 1:
            return word[: -len(particle)]
    return word


def _jamo(text: str) -> str:
    """Hangul syllables decomposed into Jamo, so one changed consonant is a small edit."""
    return unicodedata.normalize("NFD", text)
