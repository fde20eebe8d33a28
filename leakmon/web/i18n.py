"""Console labels in Korean (the default) and English: one dict per language, keys are English words."""

from __future__ import annotations

LANGUAGES = ("ko", "en")

KO: dict[str, str] = {
    "Incidents": "사고",
    "Incident": "사고",
    "Hits": "탐지",
    "Hit": "탐지",
    "Takedown": "삭제 요청",
    "Sources": "수집원",
    "Sign in": "로그인",
    "Sign out": "로그아웃",
    "User": "사용자",
    "Password": "비밀번호",
    "Status": "상태",
    "Subjects": "대상자",
    "Posts": "게시물",
    "Identifier types": "식별자 유형",
    "Confidence": "신뢰도",
    "First seen": "최초 발견",
    "Last seen": "최근 발견",
    "Deadline (UTC)": "신고 기한 (UTC)",
    "Time left": "남은 시간",
    "Report": "신고",
    "required": "필요",
    "not required": "불필요",
    "OVERDUE": "기한 초과",
    "Overdue incidents": "기한 초과 사고",
    "Counts by identifier type": "식별자 유형별 건수",
    "Export affected (CSV)": "영향 대상자 내보내기 (CSV)",
    "Source": "수집원",
    "Venue": "경로",
    "Permalink": "원문 링크",
    "Masked": "마스킹 값",
    "Label": "분류",
    "Note": "메모",
    "Apply label": "분류 적용",
    "Filter": "필터",
    "Next page": "다음 페이지",
    "unlabelled": "미분류",
    "confirmed": "확인됨",
    "false_positive": "오탐",
    "seller_contact": "판매자 연락처",
    "test_data": "테스트 데이터",
    "State": "상태",
    "Move to": "상태 변경",
    "open": "열림",
    "requested": "요청함",
    "removed": "삭제됨",
    "refused": "거부됨",
    "expired": "만료",
    "closed": "종료",
    "Last run": "최근 실행",
    "Result": "결과",
    "Error": "오류",
    "Retry after": "재시도 시각",
    "Match kind": "일치 유형",
    "Evidence trail": "근거 기록",
    "Takedown cases": "삭제 요청 건",
    "Not allowed for your role.": "권한이 없습니다.",
    "Wrong user name or password.": "사용자 이름 또는 비밀번호가 올바르지 않습니다.",
    "Too many failed sign-ins; try again later.": "로그인 실패가 너무 많습니다. 잠시 후 다시 시도하세요.",
    "Hits over time": "일별 탐지 건수",
    "No rows.": "항목이 없습니다.",
    "Role": "역할",
    "phone": "전화번호",
    "email": "이메일",
    "rrn": "주민등록번호",
    "name": "이름",
    "address": "주소",
    "card": "카드번호",
    "account": "계좌번호",
    "passport": "여권번호",
    "driver_license": "운전면허번호",
    "subjects": "대상자 수",
    "sensitive_type": "고유식별정보",
    "intrusion": "침해사고",
}

_DICTS = {"ko": KO, "en": {}}


def translate(language: str, text: str) -> str:
    """``text`` in ``language``; an untranslated text is shown as it is."""
    return _DICTS.get(language, KO).get(text, text)


def reason(language: str, text: str) -> str:
    """A report-required reason (``subjects>=1000``, ``unique_id:rrn``, ``intrusion``) in ``language``."""
    if text.startswith("unique_id:"):
        return f"{translate(language, 'sensitive_type')}: {translate(language, text.partition(':')[2])}"
    if text.startswith("subjects>="):
        return f"{translate(language, 'subjects')} >= {text.partition('>=')[2]}"
    return translate(language, text)
