"""The normalizers' hints are necessary signs: text a hint does not match is left exactly as it is
by the normalizer it gates (so the RE2 hints, tighter than the old ones, lose nothing), and the
e-mail words step with its own pre-checks equals running every substitution unconditionally."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from matchers import deobfuscate as d
from matchers.textnorm import Norm, substitute

TOKENS = [
    *"0123456789",
    *"oOlISsBZzGbgq",
    *"xyAkmn",
    *" -./_,;|()[]{}<>@+*",
    "\n",
    "\t",
    "\u3000",
    "\u00a0",
    "\u2013",
    *d.HANGUL_DIGITS,
    "김",
    "가",
    "힣",
    "골뱅이",
    "앳",
    "닷",
    "점",
    "쩜",
    "컴",
    "넷",
    *d.HANGUL_DOMAINS,
    "at",
    "AT",
    "dot",
    "naver",
    "com",
    "kr",
    "０",
    "＠",
    "\u200b",
    "&#45;",
    "<b>",
]
#: Numeric runs are where the digit conversions fire: half the texts are drawn from their alphabet.
NUMERIC = [*"0123456789" * 3, *"oOlISsBZzGbgqx", *" -./", *d.HANGUL_DIGITS, "가", "@", "\n"]
TEXTS = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=40).map("".join),
    st.lists(st.sampled_from(NUMERIC), max_size=30).map("".join),
)
STEPS = [(hint, step) for hint, step in d._STEPS if hint is not None]


def _state(norm: Norm) -> tuple[list[str], list[int], list[int], list[int]]:
    return list(norm.chars), list(norm.pos), list(norm.own), list(norm.gap)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
@example("o1234567")  # a run that starts with swap letters (no digit before them)
@example("x o1234567")
@example("1234567o8x")  # a run that ends at a letter before a digit
@example("010-1234-S678")
@example("0000 공00")
@example("12공4567-890")
@example("p a r k @ n a v e r")
def test_text_a_hint_misses_is_left_unchanged(text: str) -> None:
    for hint, step in STEPS:
        if hint.search(text) is None:
            assert _state(step(Norm.of(text))) == _state(Norm.of(text)), (step.__name__, text)


def _email_words_unconditional(norm: Norm) -> Norm:
    """The e-mail words step as it ran before its pre-checks: every substitution searched."""
    flag = d.BIT[d.OBF_EMAIL_WORDS]
    norm = substitute(norm, d._AT, lambda m: "@", flag)
    norm = substitute(norm, d._AT_WORD, lambda m: "@", flag)
    if "@" in norm.text:
        norm = substitute(norm, d._WORD_DOMAIN, lambda m: d.HANGUL_DOMAINS[m.group(1)], flag)
        norm = substitute(norm, d._WORD_TLD, lambda m: ".com" if m.group(1) == "컴" else ".net", flag)
    if "@" in norm.text:
        norm = substitute(norm, d._DOT, lambda m: ".", flag)
    if "@" in norm.text:
        norm = substitute(norm, d._DOMAIN_SEP, d._dot_in_domain, flag)
    return norm


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_email_words_pre_checks_lose_nothing(text: str) -> None:
    assert _state(d._undo_email_words(Norm.of(text))) == _state(_email_words_unconditional(Norm.of(text)))


def test_examples_that_need_each_hint_still_match_it() -> None:
    assert d._SWAP_HINT.search("o1o-1234-5678")
    assert d._SWAP_HINT.search("010-1234-S678")
    assert d._SWAP_HINT.search("1234567o8")
    assert not d._SWAP_HINT.search("jimin.yoo236@naver.com")
    assert d._HANGUL_HINT.search("공일공-1234-5678")
    assert not d._HANGUL_HINT.search("이성재,019 - 589 - 8426")
    assert d._SPACED_HINT.search("p a r k @ n a v e r . c o m")
    assert d._AT_HINT.search("kim\u3000@ naver.com")  # a Unicode space: re's \s, which RE2's is not
