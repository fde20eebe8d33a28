"""Trade-post score: trade ads score high, ordinary Korean and English text low."""

from __future__ import annotations

import pytest

from matchers.trade import TradeScore, normalize, trade_score

TRADE_POSTS = [
    ("디비 팝니다 연락주세요", "디비 팝니다"),
    ("DB판매 텔레 문의", "DB판매"),
    ("풀디비 샘플 있음", "풀디비"),
    ("실시간DB 대량 보유", "실시간DB"),
    ("콜DB 완콜 문의", "콜DB"),
    ("털린 계정 주민번호 포함", "주민번호 포함"),
    ("fresh KR combo email:pass 10k", "combo"),
    ("대♠출 디♠비 팝니다", "대출DB"),
    ("디 비 팝 니 다", "디비 팝니다"),
    ("디비를 팜니다 최신 업데이트", "디비 팝니다"),
    ("고객디비를 판매합니다", "디비 팝니다"),
    ("디비팜니다", "디비 팝니다"),
    ("유출된 고객 정보 샘플 공개", "유출"),
    ("D​B 판​매", "DB판매"),  # zero-width spaces inside the words
    ("ＤＢ판매", "DB판매"),  # full-width Latin
]

INNOCUOUS = [
    "오늘 날씨가 좋네요 점심 뭐 먹지",
    "이번 주말에 가족과 여행을 갑니다",
    "회의록을 공유드립니다 확인 부탁드립니다",
    "고객센터 전화번호 안내드립니다",
    "feedback welcome on the new release",
    "중고 자전거 판매합니다",
    "DB 설계 공부 중입니다",
    "",
]


@pytest.mark.parametrize(("text", "term"), TRADE_POSTS)
def test_trade_posts_score_high(text: str, term: str) -> None:
    result = trade_score(text)
    assert result.score >= 0.6, result
    assert term in result.terms


@pytest.mark.parametrize("text", INNOCUOUS)
def test_innocuous_text_scores_low(text: str) -> None:
    assert trade_score(text).score < 0.35


def test_buying_is_not_fuzzily_read_as_selling() -> None:
    # 삽니다 (buying) and 팝니다 (selling) differ by one consonant: both count, each as itself.
    assert "삽니다" in trade_score("디비 삽니다").terms
    assert "팝니다" not in trade_score("디비 삽니다").terms


def test_brand_counts_only_beside_a_trade_term() -> None:
    assert trade_score("쿠팡 로켓배송 최고", ["쿠팡"]) == TradeScore(0.0, ())
    with_brand = trade_score("쿠팡 고객 디비 팔아요", ["쿠팡"])
    without = trade_score("쿠팡 고객 디비 팔아요")
    assert "쿠팡" in with_brand.terms
    assert with_brand.score > without.score


def test_terms_are_vocabulary_labels_not_post_text() -> None:
    result = trade_score("디비 팝니다 010-1234-5678 @seller_kr")
    assert all("010" not in term and "seller" not in term for term in result.terms)


def test_score_is_monotone_in_evidence() -> None:
    scores = [trade_score(text).score for text in ("디비", "디비 팝니다", "풀디비 팝니다 샘플")]
    assert scores == sorted(scores)
    assert len(set(scores)) == 3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("대♠출", "대출"), ("카★지★노", "카지노"), ("Ｄ　Ｂ", "d b"), ("디비\u200b팝니다", "디비팝니다")],
)
def test_normalize_drops_symbol_stuffing(raw: str, expected: str) -> None:
    assert normalize(raw) == expected
