"""The slow path: find lines that carry obfuscation signatures, undo the obfuscation, extract.

Every obfuscation class is declared once in :data:`OBFUSCATIONS` (name, trigger patterns, anchor
bytes, hint, normalizer, examples). From the declarations come the one RE2 trigger pattern that
picks the lines needing this path (:func:`trigger_pattern`), the byte table a native scanner can use
as a pre-filter (:func:`trigger_table`) and the order the normalizers run in. Plain dumps never come
here; triggered lines are decoded and normalized in Python. Each output character keeps the original
offset and the obfuscation classes that produced it, so every candidate reports exactly the classes
found inside its own span.
"""

from __future__ import annotations

import bisect
import html
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import re2

from matchers.model import (
    OBF_EMAIL_WORDS,
    OBF_HANGUL_DIGITS,
    OBF_INVISIBLE,
    OBF_LETTER_SWAP,
    OBF_LINE_BREAK,
    OBF_MARKUP,
    OBF_MASKED,
    OBF_SEPARATORS,
    OBF_SPACED,
    OBF_UNICODE_DIGITS,
    OBF_UNICODE_PUNCT,
)
from matchers.textnorm import Norm, convert_runs, substitute
from matchers.types.address import PROVINCES
from matchers.types.base import Recognizer, digits
from matchers.types.custom import CustomRecognizer

#: Hangul digit words (Sino-Korean, plus the slang 빵 for 0) and the letters written for digits.
HANGUL_DIGITS = {
    "공": "0",
    "영": "0",
    "빵": "0",
    "일": "1",
    "이": "2",
    "삼": "3",
    "사": "4",
    "오": "5",
    "육": "6",
    "칠": "7",
    "팔": "8",
    "구": "9",
}
SWAP_LETTERS = {"o": "0", "O": "0", "l": "1", "I": "1"}
#: Letters also read as digits in the last group of a number only (010-1234-S678).
LAST_GROUP_LETTERS = SWAP_LETTERS | {
    "S": "5",
    "s": "5",
    "B": "8",
    "Z": "2",
    "z": "2",
    "G": "6",
    "b": "6",
    "g": "9",
    "q": "9",
}
_HD = "|".join(HANGUL_DIGITS).encode()
_HD_SET = "".join(HANGUL_DIGITS)
_SW = "".join(SWAP_LETTERS).encode()
#: One Hangul syllable in UTF-8.
_H = rb"(?:\xea[\xb0-\xbf][\x80-\xbf]|[\xeb\xec][\x80-\xbf][\x80-\xbf]|\xed[\x80-\x9e][\x80-\xbf])"
_PROV = b"|".join(re.escape(a).encode() for a in sorted(PROVINCES, key=len, reverse=True))
#: Labels that may follow a spaced dot or a bare "dot" in a domain (naver . com, daum dot net, co . kr);
#: anything else (a sentence after "kim@naver.com. Thanks") is left alone.
_TLDS = "com|net|org|kr|co|ac|go|or|re|ne|pe|edu|gov|mil|io|me|info|biz|jp|cn|us|uk|de|ru|vn"
_TLD = r"(?:" + _TLDS + r")(?![A-Za-z0-9-])"


Normalizer = Callable[[Norm], Norm]


class Hint(Protocol):
    """A compiled pattern (``re`` or RE2) whose ``search`` gates a normalizer."""

    def search(self, text: str, /) -> object: ...


@dataclass(frozen=True, slots=True)
class Obfuscation:
    """One obfuscation class, declared once.

    ``triggers``: RE2 alternatives over UTF-8 bytes; a line holding a match goes to the slow path.
    ``anchors``: bytes of which every trigger match holds at least one (a native pre-filter: a line
    with none of a class's anchors cannot trigger it). ``hint``: a cheap check on the text before
    ``normalizer`` runs (None: always run); it must be a necessary sign: text it does not match is
    left unchanged by the normalizer (tests/matchers/test_hints.py). ``normalizer``: undoes the
    class on a segment (None: the class is undone by another class's normalizer or read in
    :func:`extract`). ``examples``: written forms the class covers (tests run each one through the
    matcher).
    """

    name: str
    triggers: tuple[bytes, ...]
    anchors: bytes
    hint: Hint | None
    normalizer: Normalizer | None
    examples: tuple[str, ...]
    stage: int = 0  # normalizers run by stage (declaration order is the order classes are reported in)


# ------------------------------------------------------------------ character stage
_INVISIBLE = frozenset("\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e")
_SPECIAL = re.compile(r"[^\x00-\x7f가-힣]")
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63")
#: Ideographic and full-width stops and at signs (naver。com, kim＠naver．com).
_PUNCT = {"\u3002": ".", "\uff61": ".", "\ufe52": ".", "\uff0e": ".", "\uff20": "@", "\ufe6b": "@"}
_FOLD_HINT = re.compile("[\uff01-\uff5e" + "".join(_DASHES) + "".join(_PUNCT) + "]")
_FOLD = (
    {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
    | {ord(c): "-" for c in _DASHES}
    | {ord(c): v for c, v in _PUNCT.items()}
)


def _normalize_unicode(norm: Norm) -> Norm:
    """Full-width ASCII, Unicode digits and dashes folded; invisible characters removed (first stage)."""
    text = norm.text
    folded = text.translate(_FOLD) if _FOLD_HINT.search(text) else text
    if _SPECIAL.search(folded) is None:
        if folded == text:
            return norm
        uni, sep = BIT[OBF_UNICODE_DIGITS], BIT[OBF_SEPARATORS]
        own = [0 if a == b else _fold_class(a, b, uni, sep) for a, b in zip(text, folded, strict=True)]
        return Norm(list(folded), norm.pos, own, norm.gap)
    return _normalize_chars(text)


def _fold_class(before: str, after: str, uni: int, sep: int) -> int:
    """Class bits of a character that folding changed: Unicode dashes are separators, other forms digits."""
    if before in _DASHES:
        return sep
    if before in _PUNCT:
        return BIT[OBF_UNICODE_PUNCT]
    return 0 if after == "-" else uni  # a full-width hyphen belongs to the full-width number


def _normalize_chars(text: str) -> Norm:
    """Character by character, for text with invisible or other rare Unicode characters."""
    chars: list[str] = []
    pos: list[int] = []
    own: list[int] = []
    gap: list[int] = []
    pending = 0
    last = 0
    for m in _SPECIAL.finditer(text):  # only non-ASCII, non-Hangul characters need a look
        i = m.start()
        if i > last:
            chars.extend(text[last:i])
            pos.extend(range(last, i))
            own.extend([0] * (i - last))
            gap.extend([pending] + [0] * (i - last - 1))
            pending = 0
        last = i + 1
        c = text[i]
        if c in _INVISIBLE:
            pending |= BIT[OBF_INVISIBLE]
            continue
        flag = 0
        if ord(c) > 127:
            if c in _DASHES:
                c, flag = "-", BIT[OBF_SEPARATORS]
            elif c in _PUNCT:
                c, flag = _PUNCT[c], BIT[OBF_UNICODE_PUNCT]
            else:
                folded = unicodedata.normalize("NFKC", c)
                if folded != c and folded.isascii() and folded.isprintable():
                    c, flag = folded, BIT[OBF_UNICODE_DIGITS]
                elif c.isdecimal():
                    c, flag = str(unicodedata.decimal(c)), BIT[OBF_UNICODE_DIGITS]
        for piece in c:
            chars.append(piece)
            pos.append(i)
            own.append(flag)
            gap.append(pending)
            pending = 0
    n = len(text)
    if n > last:
        chars.extend(text[last:])
        pos.extend(range(last, n))
        own.extend([0] * (n - last))
        gap.extend([pending] + [0] * (n - last - 1))
    return Norm(chars, pos, own, gap)


# ------------------------------------------------------------------ markup
_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9]*)[^<>]{0,80}>")
_BLOCK_TAGS = frozenset({"br", "p", "div", "td", "tr", "th", "li", "ul", "table", "hr", "h1", "h2", "h3"})
_ENTITY = re.compile(r"&(?:#[0-9]{1,6}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]{2,8});")


def _undo_markup(norm: Norm) -> Norm:
    """Entities decoded; tags removed (block tags and <br> become a line break, joined later)."""
    flag = BIT[OBF_MARKUP]
    if "&" in norm.text:
        norm = substitute(norm, _ENTITY, lambda m: html.unescape(m.group(0)).replace("\xa0", " "), flag)
    if "<" in norm.text:
        norm = substitute(norm, _TAG, lambda m: "\n" if m.group(2).lower() in _BLOCK_TAGS else "", flag)
    return norm


# ------------------------------------------------------------------ line breaks
_BREAK = re.compile(r"[ \t]*\r?\n[ \t]*")
_GLUE = frozenset("-.@")


def _join_lines(norm: Norm) -> Norm:
    """A segment's line breaks joined: glued next to "-", "." or "@" (010-1234-/5678), else one space."""

    def repl(m: re.Match[str]) -> str:
        s, e = m.span()
        left = m.string[s - 1] if s else ""
        right = m.string[e] if e < len(m.string) else ""
        return "" if left in _GLUE or right in _GLUE else " "

    return substitute(norm, _BREAK, repl, BIT[OBF_LINE_BREAK])


# ------------------------------------------------------------------ spaced letters
_SPACED_RUN = re.compile(r"(?<![^\s,;|\"'(<\[])[A-Za-z0-9._%+\-@](?: [A-Za-z0-9._%+\-@]){5,}(?![^\s,;|\"')>\]])")


#: What every closed-up run holds: its "@" next to a spaced element (a necessary sign, so text
#: without it is left as it is; tests/matchers/test_hints.py checks every hint is necessary).
_SPACED_HINT: Any = re2.compile(r"\S @|@ \S")  # RE2's \S is wider than re's: still necessary


def _undo_spaced(norm: Norm) -> Norm:
    """p a r k 9 9 @ g m a i l . c o m: a run of single characters holding an "@" is closed up."""
    flag = BIT[OBF_SPACED]
    return substitute(norm, _SPACED_RUN, lambda m: m.group(0).replace(" ", "") if "@" in m.group(0) else None, flag)


# ------------------------------------------------------------------ e-mail words
#: ``re``'s ``\s`` on str (Unicode spaces too) as an RE2 class: RE2's own ``\s`` is ASCII only, and the
#: hints below (RE2, several times faster per line) must match wherever the ``re`` patterns they gate do.
_WS = "[" + "".join(f"\\x{{{c:x}}}" for c in range(0x3001) if re.match(r"\s", chr(c))) + "]"
_AT = re.compile(
    r"\s*(?:[(\[{<]\s*(?:at|AT|At|골뱅이|앳|@)\s*[)\]}>]|_at_|골뱅이)\s*|(?<=[A-Za-z0-9])\s+@\s*|\s*@\s+(?=[A-Za-z])"
    r"|(?<=[A-Za-z0-9])\s*앳\s*(?=[A-Za-z0-9]|네이버|지메일|한메일|다음|네이트|카카오|핫메일)"
)
#: Cheap pre-checks for the e-mail word patterns (their leading \s* makes a full search slow).
_AT_HINT: Any = re2.compile(r"[(\[{<] *(?:at|AT|At|골뱅이|앳|@)|_at_|골뱅이|앳|" + _WS + "@|@" + _WS)
_DOT_HINT: Any = re2.compile(r"[(\[{] *(?:dot|DOT|Dot|닷|점|쩜)|_dot_")
_DOT = re.compile(r"\s*(?:[(\[{]\s*(?:dot|DOT|Dot|닷|점|쩜)\s*[)\]}]|_dot_)\s*")
_LOOSE_SEP = r"(?:\s+\.\s*|\.\s+|\s+(?:dot|DOT|Dot)\s+|\s*(?:닷|점|쩜)\s*)"
#: Top-level labels said in Korean (naver닷컴, daum 쩜 넷).
_WORD_TLD = re.compile(r"(?<=[A-Za-z0-9])\s*(?:닷|점|쩜|\.)\s*(컴|넷)(?![가-힣])")
#: Mail services named in Korean right after the "@" (kim@네이버, kim 골뱅이 다음).
HANGUL_DOMAINS = {
    "네이버": "naver.com",
    "지메일": "gmail.com",
    "한메일": "hanmail.net",
    "다음": "daum.net",
    "네이트": "nate.com",
    "카카오": "kakao.com",
    "핫메일": "hotmail.com",
}
_WORD_DOMAIN = re.compile(
    r"(?<=@)\s*(" + "|".join(HANGUL_DOMAINS) + r")(?:\s*(?:닷|점|쩜|\.)\s*(?:컴|넷|com|net))?(?![A-Za-z0-9가-힣])"
)
#: A bare-word "at" between a local part and a domain that ends in a known label.
_AT_WORD = re.compile(
    r"(?<=[A-Za-z0-9])\s+(?:at|AT|At)\s+(?=[A-Za-z0-9-]+(?:(?:\.|" + _LOOSE_SEP + r")[A-Za-z0-9-]+)*"
    r"(?:\.|" + _LOOSE_SEP + r")" + _TLD + r")",
    re.IGNORECASE,
)
_AT_WORD_HINT: Any = re2.compile(_WS + "(?:at|AT|At)" + _WS)
#: A spaced dot or a bare "dot" right before a known label, inside the domain after an "@".
_DOMAIN_SEP = re.compile(r"(?<=[A-Za-z0-9])" + _LOOSE_SEP + r"(?=" + _TLD + r")", re.IGNORECASE)
_DOMAIN_BEFORE = re.compile(r"@[A-Za-z0-9-]+(?:(?:\.|" + _LOOSE_SEP + r")[A-Za-z0-9-]+)*\Z")
#: A mail service or a top-level label said in Korean (what _WORD_DOMAIN and _WORD_TLD need).
_KOREAN_MAIL_HINT: Any = re2.compile("|".join([*HANGUL_DOMAINS, "컴", "넷"]))
_DOMAIN_SEP_HINT: Any = re2.compile(_WS + r"\.|\." + _WS + "|" + _WS + "(?:dot|DOT|Dot)" + _WS + "|닷|점|쩜")


def _undo_email_words(norm: Norm) -> Norm:
    """(at) [at] _at_ 골뱅이 앳, a bare "at", spaces around "@"; mail services and labels in Korean
    (@네이버, 닷컴); (dot) _dot_ 닷 점 쩜, spaced dots in a domain."""
    flag = BIT[OBF_EMAIL_WORDS]
    if _AT_HINT.search(norm.text):
        norm = substitute(norm, _AT, lambda m: "@", flag)
    if _AT_WORD_HINT.search(norm.text):
        norm = substitute(norm, _AT_WORD, lambda m: "@", flag)
    if "@" in norm.text and _KOREAN_MAIL_HINT.search(norm.text):
        if any(name in norm.text for name in HANGUL_DOMAINS):
            norm = substitute(norm, _WORD_DOMAIN, lambda m: HANGUL_DOMAINS[m.group(1)], flag)
        if "컴" in norm.text or "넷" in norm.text:
            norm = substitute(norm, _WORD_TLD, lambda m: ".com" if m.group(1) == "컴" else ".net", flag)
    if "@" in norm.text and _DOT_HINT.search(norm.text):
        norm = substitute(norm, _DOT, lambda m: ".", flag)
    if "@" in norm.text and _DOMAIN_SEP_HINT.search(norm.text):
        norm = substitute(norm, _DOMAIN_SEP, _dot_in_domain, flag)
    return norm


def _dot_in_domain(m: re.Match[str]) -> str | None:
    """ "." for a separator inside the domain after an "@"; None (leave it) anywhere else."""
    # A domain is at most 253 characters: looking further back made every separator cost the whole line.
    return "." if _DOMAIN_BEFORE.search(m.string, max(0, m.start() - _DOMAIN_WINDOW), m.start()) else None


#: How far back from a separator the "@" of its domain may be (written-out dots make a domain longer).
_DOMAIN_WINDOW = 512


# ------------------------------------------------------------------ digit words and letter swaps
_HANGUL_RUN = re.compile(r"[0-9" + _HD_SET + r"](?:[ .\-/]{0,2}[0-9" + _HD_SET + r"])*")
_HANGUL_GROUP = re.compile(r"[0-9" + _HD_SET + r"]+")
_SWAP_RUN = re.compile(r"(?<![A-Za-z])[0-9oOlI](?:[ .\-/]{0,2}[0-9oOlI])*(?![A-Za-z])")
_LAST_GROUP = re.compile(
    r"(?<![0-9A-Za-z])(?:\+?[0-9]{2,6}[-. ]){1,3}([0-9" + "".join(LAST_GROUP_LETTERS) + r"]{4,7})(?![0-9A-Za-z])"
)


#: A digit group of 3+ characters holding a Hangul digit word: what every converted group is.
_W, _D = f"[{_HD_SET}]", f"[0-9{_HD_SET}]"
_HANGUL_HINT: Any = re2.compile(f"{_W}{_D}{_D}|{_D}{_W}{_D}|{_D}{_D}{_W}")
#: A swap letter inside a numeric run with real digits (a letter whose path along the run reaches a
#: digit, the run starting after no letter and ending before none), or a letter in a number's last
#: group: the necessary signs of the two conversions in :func:`_undo_letter_swap`.
_SWAP_HINT: Any = re2.compile(
    r"[0-9](?:[ .\-/]{0,2}[oOlI])+(?:[ .\-/]{0,2}[0-9]|[^A-Za-z]|$)"
    r"|(?:^|[^A-Za-z])[oOlI](?:[ .\-/]{0,2}[oOlI])*[ .\-/]{0,2}[0-9]"
    r"|[0-9][-. ][0-9]{0,6}[" + "".join(LAST_GROUP_LETTERS) + r"]"
)


def _undo_hangul_digits(norm: Norm) -> Norm:
    """Hangul digit words in numeric runs of 7+ digits: groups of 3+ words (공일공), or mixed with
    digits (공1공); a word trailing digits and followed by more Hangul (5678이에요) is a particle."""
    flag = BIT[OBF_HANGUL_DIGITS]
    text = norm.text
    for m in _HANGUL_RUN.finditer(text):
        run = m.group(0)
        if not any(c in HANGUL_DIGITS for c in run) or len(digits(run)) + _count_words(run) < 7:
            continue
        for g in _HANGUL_GROUP.finditer(run):
            word = g.group(0)
            words = _count_words(word)
            if not words or (words == len(word) and words < 3) or len(word) < 3:
                continue
            end = m.start() + g.end()
            if words < len(word) and end < len(text) and "가" <= text[end] <= "힣":
                word = word.rstrip(_HD_SET)
            for k in range(len(word)):
                c = word[k]
                if c in HANGUL_DIGITS:
                    norm.chars[m.start() + g.start() + k] = HANGUL_DIGITS[c]
                    norm.own[m.start() + g.start() + k] |= flag
        norm._text = None
    return norm


def _count_words(text: str) -> int:
    return sum(1 for c in text if c in HANGUL_DIGITS)


def _undo_letter_swap(norm: Norm) -> Norm:
    """o/O/l/I for 0/1 inside numeric runs; S, B, Z, G, g, q ... for digits in a number's last group."""
    norm = convert_runs(norm, _SWAP_RUN, SWAP_LETTERS, BIT[OBF_LETTER_SWAP], min_group=1)
    flag = BIT[OBF_LETTER_SWAP]
    for m in _LAST_GROUP.finditer(norm.text):
        group = m.group(1)
        if group.isdigit() or sum(c.isdigit() for c in group) < 2:
            continue
        for k, c in enumerate(group, start=m.start(1)):
            if not c.isdigit():
                norm.chars[k] = LAST_GROUP_LETTERS[c]
                norm.own[k] |= flag
        norm._text = None
    return norm


# ------------------------------------------------------------------ the declarations
_HANGUL_LEADS = bytes(sorted({c.encode()[0] for c in HANGUL_DIGITS} | {"골".encode()[0]}))

_TLD_B = _TLDS.encode()
_WORD_DOMAINS_B = b"|".join(d.encode() for d in HANGUL_DOMAINS)
_LOCAL_B = rb"[A-Za-z0-9._%+-]"
_SWAP_LAST = "".join(LAST_GROUP_LETTERS).encode()

#: In the order classes are reported in (stored labels keep it: append new classes at the end).
OBFUSCATIONS: tuple[Obfuscation, ...] = (
    Obfuscation(
        name=OBF_UNICODE_DIGITS,
        triggers=(rb"\xef\xbc[\x90-\x99\x8b\x8d\xa0]|\xe2\x91[\xa0-\xa8]",),  # full-width digits/+/-/@, circled
        anchors=b"\xe2\xef",
        hint=re.compile(r"[^\x00-\x7f가-힣]"),
        normalizer=_normalize_unicode,  # also: invisible characters, Unicode dashes, punctuation
        stage=0,
        examples=("０１０－１２３４－５６７８", "０１０1234５６７８"),
    ),
    Obfuscation(
        name=OBF_INVISIBLE,
        triggers=(rb"\xe2\x80[\x8b-\x8f]|\xe2\x81[\xa0-\xa4]|\xef\xbb\xbf|\xc2\xad",),
        anchors=b"\xc2\xe2\xef",
        hint=None,
        normalizer=None,  # the character stage (unicode_digits) removes them
        examples=("010\u200b-1234-5678", "010-12\u200d34-5678"),
    ),
    Obfuscation(
        name=OBF_SEPARATORS,
        triggers=(
            rb"[0-9] ?(?:\xe2\x80[\x90-\x95]|\xe2\x88\x92|\xef\xb9[\x98\xa3]) ?[0-9]",  # Unicode dashes
            rb"[0-9][ ._/][0-9][ ._/][0-9][ ._/][0-9]|[0-9] +[-./] *[0-9]|[0-9] *[-./] +[0-9]|[0-9]_[0-9]",
            rb"01[016789][-. ]?[0-9]{3,4}[-.][0-9]{1,3} [0-9]{1,3}(?:[^0-9]|$)",  # a space inside the last group
        ),
        anchors=b" ./_\xe2\xef",
        hint=None,
        # Dashes: the character stage; spaced digits: loose digit runs; grouping separators of custom
        # digit types (123,456,789): GROUPED_TRIGGER and extract, only when such a type is configured.
        normalizer=None,
        examples=("010 - 1234 - 5678", "0 1 0 1 2 3 4 5 6 7 8", "010–1234–5678"),
    ),
    Obfuscation(
        name=OBF_LETTER_SWAP,
        triggers=(
            rb"(?:[oO][1lI]|0[lI])[oO0][-. ]?[0-9oOlI]{3}|01[oO][-. ]?[0-9]{3}",
            rb"[0-9][" + _SW + rb"]+[0-9]|[0-9][-. ][" + _SW + rb"][0-9" + _SW + rb"]{2}",
            rb"[0-9]{3}[-. ](?:[0-9]{1,6}["
            + _SWAP_LAST
            + rb"]|["
            + _SWAP_LAST
            + rb"][0-9])[0-9"
            + _SWAP_LAST
            + rb"]{0,6}"
            rb"(?:[^0-9A-Za-z]|$)",  # the last group: 010-1234-S678
        ),
        anchors=_SW + _SWAP_LAST,
        hint=_SWAP_HINT,
        normalizer=_undo_letter_swap,
        stage=6,
        examples=("o1o-1234-5678", "010-l234-5678", "010-1234-S678", "010-1234-5G78"),
    ),
    Obfuscation(
        name=OBF_HANGUL_DIGITS,
        triggers=(
            rb"(?:" + _HD + rb"){3}",
            # mixed with digits (공1공, 09일공, 436이): not a date's 12일 or a 3일 in prose
            rb"(?:" + _HD + rb")[0-9]|[0-9](?:" + _HD + rb"){2}|[0-9]{3}(?:" + _HD + rb")(?:[^\xea-\xed]|$)",
        ),
        anchors=_HANGUL_LEADS,
        hint=_HANGUL_HINT,
        normalizer=_undo_hangul_digits,
        stage=5,
        examples=("공일공-1234-5678", "공일공 일이삼사 오육칠팔", "공1공-1234-5678", "010-12삼4-5678"),
    ),
    Obfuscation(
        name=OBF_MARKUP,
        triggers=(rb"[0-9][-. ]?</?[A-Za-z][^>\n]*>|&#x?[0-9a-fA-F]{2,5};",),
        anchors=b"<&",
        hint=re.compile(r"[<&]"),
        normalizer=_undo_markup,
        stage=1,
        examples=("010-<b>1234</b>-5678", "010&#45;1234&#45;5678", '010-<span class="a b c">1234</span>-5678'),
    ),
    Obfuscation(
        name=OBF_EMAIL_WORDS,
        triggers=(
            rb"(?i:\(at\)|\[at\]|\{at\}|_at_|\(dot\)|\[dot\]|\[@\]|\(@\))|\xea\xb3\xa8\xeb\xb1\x85\xec\x9d\xb4",
            rb"[A-Za-z0-9] @|@ [A-Za-z]",  # spaces around @
            rb"@[A-Za-z0-9-]+(?: +\.|\. +| +(?i:dot) +)[A-Za-z]",  # spaced dots or "dot" in a domain
            rb"(?i:[a-z0-9] +at +[a-z0-9-]+(?: *\. *| +dot +)(?:" + _TLD_B + rb")\b)",  # bare-word "at"
            rb"[A-Za-z0-9] *\xec\x95\xb3 *(?:[A-Za-z0-9]|" + _WORD_DOMAINS_B + rb")",  # 앳
            rb"[(\[{<] *(?:\xec\x95\xb3|\xeb\x8b\xb7|\xec\xa0\x90) *[)\]}>]",  # (앳) [닷] {점}
            rb"[A-Za-z0-9] *(?:\xeb\x8b\xb7|\xec\xa0\x90|\xec\xa9\x9c) *(?i:" + _TLD_B + rb")",  # 닷 점 쩜
            rb"[A-Za-z0-9] *(?:\xeb\x8b\xb7|\xec\xa0\x90|\xec\xa9\x9c|\.) *(?:\xec\xbb\xb4|\xeb\x84\xb7)",  # 닷컴 닷넷
            rb"@ *(?:" + _WORD_DOMAINS_B + rb")",  # @네이버
        ),
        anchors=b"@()[]{}_aA\xea\xeb\xec",
        hint=None,  # _undo_email_words checks each of its patterns' necessary signs itself
        normalizer=_undo_email_words,
        stage=4,
        examples=(
            "kim.chulsoo (at) daum (dot) net",
            "kim.chulsoo 골뱅이 hanmail.net",
            "kim.chulsoo @ daum . net",
            "kim.chulsoo at daum dot net",
            "kim.chulsoo 앳 daum 닷 net",
            "kim.chulsoo골뱅이hanmail점net",
        ),
    ),
    Obfuscation(
        name=OBF_MASKED,
        triggers=(rb"[0-9][-. ]?(?:\*|\xef\xbc\x8a|\xe2\x97[\x8b\x8f]|[xX]){3}|\*{2,}@|\*[-. ]?[0-9]{4}",),
        anchors=b"*xX\xe2\xef",
        hint=None,
        normalizer=None,  # masks are not undone: extract reads them as partial forms
        examples=("010-****-5678", "k***@daum.net", "900101-1******"),
    ),
    Obfuscation(
        name=OBF_LINE_BREAK,
        triggers=(
            # phone or RRN: a dash or a whole group before the break, the rest of the number after it
            rb"(?:^|[^0-9])(?:01[016789]|02|0[3-6][1-5]|070)[-. ]?(?:[0-9]{3,4}[-. ]?)?\r?\n[ \t]*[-. ]?[0-9]{3,4}"
            rb"(?:[-. ]?[0-9]{4})?(?:[^0-9]|$)",
            rb"[0-9]{3,4}-\r?\n[ \t]*[0-9]{4}(?:[^0-9]|$)",
            # a phone wrapped inside a group (010-1234-5 / 678): fewer digits before the break than a number
            rb"(?:^|[^0-9])01[016789](?:[-. ]?[0-9]){0,7}[-. ]?\r?\n[ \t]*[0-9]",
            rb"(?:^|[^0-9])[0-9]{6} ?-? ?\r?\n[ \t]*-? ?[0-9]{7}(?:[^0-9]|$)",
            # e-mail: "@" or a domain dot at a line end or a line start
            _LOCAL_B + rb"@[ \t]*\r?\n|" + _LOCAL_B + rb"\r?\n[ \t]*@[A-Za-z0-9]",
            rb"@[A-Za-z0-9-]+(?:\.[ \t]*\r?\n|\r?\n[ \t]*\.)[ \t]*[A-Za-z]",
            # address: a line ending in a province and a few words, or a building number before the unit
            rb"(?:" + _PROV + rb")(?: ?" + _H + rb"+)* ?\r?\n[ \t]*(?:" + _H + rb"|[0-9])",
            rb"[0-9](?:, ?| )?\r?\n[ \t]*[0-9]{1,4} ?(?:\xeb\x8f\x99|\xec\xb8\xb5|\xed\x98\xb8)",  # 동 층 호
            rb"[A-Za-z0-9@.-]<(?i:br|/td|/th|/p|/div|/li)\b",  # <br> and table cells inside a value
        ),
        anchors=b"\n<",
        hint=re.compile(r"\n"),
        normalizer=_join_lines,
        stage=2,
        examples=(
            "010-1234-\n5678",
            "010-1234\n5678",
            "kim.chulsoo@\ndaum.net",
            "kim.chulsoo\n@daum.net",
            "900101-\n1234568",
            "010-1234-<br>5678",
            "<td>kim.chulsoo@</td><td>daum.net</td>",
        ),
    ),
    Obfuscation(
        name=OBF_SPACED,
        triggers=(rb"[A-Za-z0-9] [A-Za-z0-9] ?@ ?[A-Za-z0-9] [A-Za-z0-9]",),
        anchors=b"@",
        hint=_SPACED_HINT,
        normalizer=_undo_spaced,
        stage=3,
        examples=("k i m . c h u l s o o @ d a u m . n e t", "p a r k @ n a v e r . c o m"),
    ),
    Obfuscation(
        name=OBF_UNICODE_PUNCT,
        triggers=(
            rb"[A-Za-z0-9](?:\xe3\x80\x82|\xef\xbd\xa1|\xef\xb9\x92|\xef\xbc\x8e)[A-Za-z]",
            rb"[A-Za-z0-9](?:\xef\xbc\xa0|\xef\xb9\xab)[A-Za-z0-9]",
        ),
        anchors=b"\xe3\xef",
        hint=None,
        normalizer=None,  # the character stage (unicode_digits) folds them
        examples=("park@naver。com", "park＠naver．com"),
    ),
)
#: Grouping separators of digit-canonical custom types (123,456,789; 123 456 7890): triggers only when
#: such a type is configured (``separators`` in ``[identifiers.custom.NAME]``). Space-grouped values
#: starting with 0 are left out: that is how phone numbers are written (010 1234 5678), and taking
#: them sent four times as many lines of the shared dump to the slow path.
GROUPED_TRIGGER = rb"[0-9](?:,[0-9]{3,4}){2}|(?:^|[^0-9])[1-9][0-9]{2} [0-9]{3,4} [0-9]{3,4}"  # not 010 1234 5678
BY_NAME = {o.name: o for o in OBFUSCATIONS}
#: The classes a normalized character can carry (masks are read, not normalized).
CLASSES = tuple(o.name for o in OBFUSCATIONS if o.name != OBF_MASKED)
BIT = {name: 1 << i for i, name in enumerate(CLASSES)}
_STEPS = tuple((o.hint, o.normalizer) for o in sorted(OBFUSCATIONS, key=lambda o: o.stage) if o.normalizer)


def trigger_pattern(obfuscations: Sequence[Obfuscation] = OBFUSCATIONS) -> bytes:
    """One RE2 alternation over UTF-8 bytes of every declared trigger."""
    return b"|".join(b"(?:" + t + b")" for o in obfuscations for t in o.triggers)


def trigger_table(obfuscations: Sequence[Obfuscation] = OBFUSCATIONS) -> tuple[int, ...]:
    """256 entries: bit i set when byte value b anchors ``obfuscations[i]`` (the native pre-filter)."""
    table = [0] * 256
    for i, o in enumerate(obfuscations):
        for b in o.anchors:
            table[b] |= 1 << i
    return tuple(table)


TRIGGER = trigger_pattern()
TRIGGER_TABLE = trigger_table()
_TRIGGER: Any = re2.compile(TRIGGER)
_TRIGGER_GROUPED: Any = re2.compile(TRIGGER + b"|(?:" + GROUPED_TRIGGER + b")")

#: A digit run with separators inside (not tabs: they delimit the fields of a row).
_LOOSE = re.compile(r"(?<![0-9A-Za-z])\+?[0-9](?:[ .\-/_()\r\n]{0,3}[0-9]){6,18}(?![0-9A-Za-z])")
_MASK_HINT = re.compile(r"[*＊●○◯]|[xX]{3}")
#: Digit counts each numeric type can have (to skip hopeless loose runs cheaply).
_LOOSE_TYPES = (("phone", 9, 15), ("rrn", 13, 13), ("card", 13, 19))


def trigger_segments(
    block: bytes, grouped: bool = False, read: Sequence[tuple[int, int]] = ()
) -> list[tuple[int, int]]:
    """Byte ranges of whole lines that carry a trigger (a line break trigger takes the next line too).

    ``grouped``: also lines with digit groups (a custom digit type accepts grouping separators).
    ``read``: sorted, disjoint byte spans the native kernel has already read as the slow path would
    (spaced phones, :data:`matchers.native.SPACED`): a trigger match inside one does not count, and
    the search goes on from the byte after its start, so no trigger overlapping it is passed over.
    """
    pattern = _TRIGGER_GROUPED if grouped else _TRIGGER
    first = pattern.search(block)
    if first is None:
        return []  # most short texts (a hit's locator, a file name): one search, no match iterator
    segments: dict[int, int] = {}
    line_end = -1  # end of the line the last segment starts on
    for m in pattern.finditer(block, first.start()) if not read else _outside(pattern, block, first, read):
        if m.end() <= line_end:
            continue  # same line, same segment: a dense line is searched once, not once per trigger
        start = block.rfind(b"\n", 0, m.start()) + 1
        line_end = block.find(b"\n", m.start())
        line_end = len(block) if line_end < 0 else line_end
        end = block.find(b"\n", m.end() - 1 if not m.group(0).endswith(b"\n") else m.end())
        end = len(block) if end < 0 else end
        segments[start] = max(segments.get(start, 0), end)
    return sorted(segments.items())


def _outside(pattern: Any, block: bytes, first: Any, read: Sequence[tuple[int, int]]) -> Iterator[Any]:
    """The trigger matches of ``block`` from ``first`` on that do not lie inside a ``read`` span."""
    k, m = 0, first
    while m is not None:
        start, end = m.span()
        while k < len(read) and read[k][1] <= start:
            k += 1
        if k < len(read) and read[k][0] <= start and end <= read[k][1]:
            m = pattern.search(block, start + 1)
            continue
        yield m
        m = pattern.search(block, end)


def _names(bits: int) -> tuple[str, ...]:
    return tuple(name for name in CLASSES if bits & BIT[name])


def normalize(text: str) -> Norm:
    """Undo every declared class, in declaration order (each normalizer only where its hint is seen)."""
    norm = Norm.of(text)
    for hint, step in _STEPS:
        if hint is None or hint.search(norm.text):
            norm = step(norm)
    return norm


@dataclass(slots=True)
class SlowCandidate:
    rec: Recognizer
    canonical: str
    form: str
    line: int  # block-relative
    start: int  # char offset in the line
    obfuscation: tuple[str, ...]
    extractor: str
    line_text: str


#: Where a loose run may hold two numbers side by side (010-1234-56 78 / 010-...).
_LOOSE_SPLIT = re.compile(r"\s+[/|,;]\s*|\s*[,;|]\s+|\s{2,}")


def _loose_spans(text: str) -> list[tuple[int, int]]:
    """Spans of loose digit runs, and the pieces of a run that holds a list separator."""
    spans: list[tuple[int, int]] = []
    for m in _LOOSE.finditer(text):
        s, e = m.span()
        spans.append((s, e))
        if _LOOSE_SPLIT.search(text, s, e):
            cut = s
            for sep in _LOOSE_SPLIT.finditer(text, s, e):
                spans.append((cut, sep.start()))
                cut = sep.end()
            spans.append((cut, e))
    return spans


def grouped_types(recs: Sequence[Recognizer]) -> list[CustomRecognizer]:
    """Custom digit types that accept grouping separators (their lines need :data:`GROUPED_TRIGGER`)."""
    return [r for r in recs if isinstance(r, CustomRecognizer) and r.grouped]


#: Digits grouped with one separator throughout (123,456,789; 123 456 7890): a row's other
#: separator (the comma between CSV fields) ends the number.
_GROUPED = re.compile(r"(?<![0-9])[0-9]{1,4}([ ,])[0-9]{3,4}(?:\1[0-9]{3,4})*(?![0-9])")


_NEWLINE = re.compile("\n")


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint spans covering the same characters (overlap tests by bisection, not a scan)."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def extract(seg: str, first_line: int, recs: Sequence[Recognizer], masked: Sequence[Recognizer]) -> list[SlowCandidate]:
    """Candidates in one triggered segment of text (a line, or two joined by a line-break trigger)."""
    norm = normalize(seg)
    text = norm.text
    out: list[SlowCandidate] = []
    covered: list[tuple[int, int]] = []
    # Line ends found once and each line's text cut once: a dense line can hold many thousands of
    # candidates, and a search, count and copy of the line per candidate grew with candidates x line.
    breaks = [m.start() for m in _NEWLINE.finditer(seg)]
    line_texts: dict[int, str] = {}

    def emit(
        rec: Recognizer, canonical: str, form: str, span: tuple[int, int], extra: tuple[str, ...], how: str, src: Norm
    ) -> None:
        s, e = span
        orig = src.pos[s] if s < len(src.pos) else 0
        line = bisect.bisect_left(breaks, orig)
        line_start = breaks[line - 1] + 1 if line else 0
        if line not in line_texts:
            line_end = breaks[line] if line < len(breaks) else len(seg)
            line_texts[line] = seg[line_start:line_end].rstrip("\r")
        bits = src.bits(s, e) if changed or src is not norm else 0  # untouched text: no class bits
        classes = tuple(dict.fromkeys(_names(bits) + extra))
        out.append(
            SlowCandidate(
                rec=rec,
                canonical=canonical,
                form=form,
                line=first_line + line,
                start=orig - line_start,
                obfuscation=classes,
                extractor=f"{rec.id_type}.{how}",
                line_text=line_texts[line],
            )
        )

    by_type = {r.id_type: r for r in recs}
    changed = any(norm.own) or any(norm.gap)
    for rec in recs if changed else ():  # untouched text holds nothing the fast path missed
        if rec.scan_pattern is None:
            continue
        for m in rec.scan_pattern.finditer(text):
            covered.append(m.span())
            if not norm.changed(*m.span()):
                continue  # untouched text: the fast path already saw exactly this value
            found = rec.canonicalize(m.group(0))
            if found is not None:
                emit(rec, found[0], "full", m.span(), found[1], "deobfuscated", norm)
    spans = _merged(covered)
    span_starts = [s for s, _ in spans]
    for s, e in _loose_spans(text):
        run = text[s:e]
        if run.isdigit():
            continue  # plain digit runs are the strict patterns' job
        k = bisect.bisect_left(span_starts, e) - 1  # the covered span starting last before e
        if k >= 0 and spans[k][1] > s:
            continue
        d = digits(run)
        for id_type, low, high in _LOOSE_TYPES:
            loose_rec = by_type.get(id_type)
            if loose_rec is None or not low <= len(d) <= high:
                continue
            if not changed and loose_rec.scan_pattern is not None and loose_rec.scan_pattern.fullmatch(run):
                continue  # a standard written form: the fast path has it
            found = loose_rec.canonicalize(("+" if run.startswith("+") else "") + d)
            if found is not None:
                emit(loose_rec, found[0], "full", (s, e), (*found[1], OBF_SEPARATORS), "loose", norm)
    grouped = grouped_types(recs)
    if grouped and _GROUPED.search(text):
        closed = substitute(norm, _GROUPED, lambda m: m.group(0).replace(m.group(1), ""), BIT[OBF_SEPARATORS])
        for custom in grouped:
            for m in custom.scan_pattern.finditer(closed.text) if custom.scan_pattern is not None else ():
                found = custom.canonicalize(m.group(0)) if closed.changed(*m.span()) else None
                if found is not None:
                    emit(custom, found[0], "full", m.span(), found[1], "grouped", closed)
    for rec in masked if _MASK_HINT.search(text) else ():
        if rec.masked_pattern is None:
            continue
        for m in rec.masked_pattern.finditer(text):
            part = rec.masked(m.group(0))
            if part is not None:
                emit(rec, part[1], part[0], m.span(), (OBF_MASKED,), "masked", norm)
    return out
