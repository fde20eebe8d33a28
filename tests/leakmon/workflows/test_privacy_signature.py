"""The repost-clustering text sketch: keyed, and free of every shingle of a protected value.

The review recovered phones written in Hangul digit words and circled digits from the unkeyed
sketch by brute force of 10^5 five-character grams (issue 15 item 2). Here the same attack, with
and without the key, finds nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools

from leakmon.settings import IncidentSettings
from leakmon.workflows.grouping import SHINGLE, mask_identifiers, signature_similarity, text_signature
from matchers.trade import normalize

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
PHONES = ["010-3141-5926", "010-2718-2818", "010-1414-2135", "010-1732-0508", "010-5772-1566", "010-8888-7777"]
WRITTEN = [
    "공일공 삼일사일 오구이육",  # Hangul digit words
    "⓪①⓪-②⑦①⑧-②⑧①⑧",  # circled digits
    "０１０－１４１４－２１３５",  # full-width
    "010.1732.0508",
    "공일공오칠칠이일오육육",  # Hangul digit words, no spaces
    "O1O-8888-7777",  # letters for digits
]
EMAIL = "seoyeon.kim@naver.com"
AD = "쿠팡 회원 디비 팝니다 샘플 연락처 {phones} 문의 {email} 최신 업데이트 대량 보유 가격 협의"


def _text() -> str:
    return AD.format(phones=" / ".join(WRITTEN), email="seoyeon (at) naver (dot) com")


def _grams(value: str) -> set[str]:
    forms = {value, value.replace("-", ""), normalize(value).replace(" ", ""), EMAIL, "seoyeon", "naver"}
    return {form[i : i + SHINGLE] for form in forms for i in range(len(form) - SHINGLE + 1)}


def _blake(gram: str) -> str:
    return hashlib.blake2b(gram.encode(), digest_size=8).hexdigest()


def _keyed(key: bytes, gram: str) -> str:
    return hmac.digest(key, gram.encode(), "sha256")[:8].hex()


def test_no_five_gram_of_a_protected_value_is_testable_with_or_without_the_key() -> None:
    sketch = set(text_signature(_text(), KEY).split())
    assert len(sketch) > 20
    digit_grams = {"".join(p) for p in itertools.product("0123456789", repeat=SHINGLE)}  # the review's 10^5
    value_grams = set().union(*(_grams(p) for p in PHONES)) | _grams(WRITTEN[0]) | _grams(WRITTEN[4])
    for guess in (_blake, lambda g: _keyed(OTHER_KEY, g), lambda g: _keyed(KEY, g)):
        assert not {guess(g) for g in value_grams | digit_grams} & sketch


def test_identifier_shaped_runs_are_masked_after_deobfuscation() -> None:
    masked = mask_identifiers(_text())
    assert not any(ch.isdigit() for ch in masked)
    for leftover in ("공일공", "①", "１", "seoyeon", "naver", "O1O"):
        assert leftover not in masked
    assert "쿠팡 회원 디비 팝니다" in masked  # the ad text itself is kept for clustering


def test_the_sketch_depends_on_the_key_and_still_clusters_reposts() -> None:
    first = text_signature(_text(), KEY)
    assert not set(first.split()) & set(text_signature(_text(), OTHER_KEY).split())
    other_numbers = AD.format(phones="010-0000-1111", email="x@y.kr")
    assert (
        signature_similarity(first, text_signature(other_numbers, KEY)) >= IncidentSettings().signature_similarity_min
    )
    unrelated = text_signature("코인 거래소 회원 정보 판매 실시간 업데이트 대량 보유 중 연락 바랍니다", KEY)
    assert signature_similarity(first, unrelated) < 0.3
