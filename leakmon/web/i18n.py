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


# --- webexports: takedown cases, exports, sources and charts (engineer webexports) ---------------
WEBEXPORTS_KO: dict[str, str] = {
    "Exports": "내보내기",
    "Charts": "통계 그림",
    "Last days": "최근 일수",
    "Hits per day by source": "수집원별 일별 탐지 건수",
    "Hits per day by identifier type": "식별자 유형별 일별 탐지 건수",
    "New subjects per day by source": "수집원별 일별 신규 대상자 수",
    "New subjects per day by identifier type": "식별자 유형별 일별 신규 대상자 수",
    "Incidents by state": "상태별 사고 수",
    "other": "기타",
    "merged": "병합됨",
    "Open a case from an incident's posts": "사고의 게시물로 삭제 요청 건 열기",
    "Choose post": "게시물 선택",
    "all": "전체",
    "Scope": "범위",
    "post": "게시물",
    "channel": "채널",
    "Updated": "갱신",
    "Opened": "개설",
    "final state": "최종 상태",
    "Open a takedown case": "삭제 요청 건 열기",
    "Post": "게시물",
    "Active case": "진행 중인 건",
    "Open": "열기",
    "Open case": "건 열기",
    "Takedown case": "삭제 요청 건",
    "Request drafts": "요청서 초안",
    "draft:telegram": "텔레그램 (영문)",
    "draft:kisa": "KISA 신고 (국문)",
    "draft:host-kr": "국내 호스팅 (국문)",
    "draft:host": "해외 호스팅 (영문)",
    "Download evidence bundle (ZIP)": "증거 묶음 내려받기 (ZIP)",
    "History": "이력",
    "When (UTC)": "시각 (UTC)",
    "From": "이전",
    "To": "이후",
    "Affected subjects": "영향 대상자",
    "Sharing": "공유",
    "Affected subjects are named by subject reference only; MISP and STIX carry categories and counts. "
    "Every download is written to the audit log with your name.": (
        "영향 대상자는 대상자 참조값으로만 표시됩니다. MISP와 STIX에는 유형과 건수만 담깁니다. "
        "모든 내려받기는 사용자 이름과 함께 감사 기록에 남습니다."
    ),
    "Schedule": "주기",
    "Errors": "오류 수",
    "Next run": "다음 실행",
    "Deferred until": "연기 기한",
    "asked by the source": "수집원 요청",
    "Error findings": "오류 기록",
    "Kind": "종류",
    "Where": "위치",
    "Reason": "사유",
    "ok": "정상",
    "failed": "실패",
    "running": "실행 중",
    "deferred": "연기됨",
    "never run": "실행 안 됨",
    "not scheduled yet": "아직 예약 안 됨",
    "not scheduled": "예약 없음",
}
KO.update({key: value for key, value in WEBEXPORTS_KO.items() if key not in KO})
