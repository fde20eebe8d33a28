"""The fixed wording of takedown drafts: English (Telegram, foreign hosts) and Korean (KISA, Korean hosts).

Every sentence must stay true of what leakmon did: it reads posts, fetches their files to compare
them with keyed hashes of the customer's records, never buys data, and takes no screenshot.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Phrases:
    """One language's wording; ``{}`` fields are filled by :mod:`leakmon.workflows.drafts`."""

    subject: str
    channel_scope: str
    where: str
    permalink: str
    chat_id: str
    chat_title: str
    chat_username: str
    venue: str
    when: str
    posted: str
    captured: str
    last_seen: str
    sale: str
    title: str
    terms: str
    seller: str
    files: str
    no_files: str
    file_line: str
    stored: str
    not_stored: str
    people: str
    category: str
    fetched_files: str
    text_only: str
    screenshot: str
    reporter: str
    unknown: str
    none_recorded: str
    no_title: str
    none_matched: str


ENGLISH = Phrases(
    subject="Subject: takedown request (case {case}, {scope})",
    channel_scope="Scope: the whole channel ({posts} posts captured from it); the post below offers the data.",
    where="Where:",
    permalink="  permalink: {}",
    chat_id="  numeric chat id: {}",
    chat_title="  channel title at capture: {}",
    chat_username="  channel username at capture: {}",
    venue="  venue: {venue}, source: {source}, post id: {post}",
    when="When (UTC):",
    posted="  posted: {}",
    captured="  captured: {}",
    last_seen="  last seen: {}",
    sale="Sale intent:",
    title='  title as captured: "{}"',
    terms="  trade wording found: {}",
    seller="Seller contact: {}",
    files="Captured files (SHA-256):",
    no_files="Captured files: none",
    file_line="  {sha} {size} bytes {name}",
    stored="We keep the files listed above encrypted as evidence.",
    not_stored="We did not keep the files after the comparison.",
    people="Matched personal data of our customers (categories and counts only): {} people",
    category="  {type}: {items} items, {people} people",
    fetched_files=(
        "Our monitor fetched the files listed above from the post to compare them with keyed hashes of our "
        "own customer records; we did not buy the data."
    ),
    text_only=(
        "Our monitor read the post's text only and downloaded no file; matching used keyed hashes of our own "
        "customer records, and we did not buy the data."
    ),
    screenshot="No screenshot is attached: our monitor does not take screenshots.",
    reporter="Reporter: [name, organisation, e-mail, phone]",
    unknown="(unknown)",
    none_recorded="(not recorded)",
    no_title="(no title)",
    none_matched="(none matched)",
)

KOREAN = Phrases(
    subject="제목: 개인정보 불법 유통 게시물 삭제 요청 (사건 {case}, {scope})",
    channel_scope="범위: 채널 전체 (이 채널에서 수집한 게시물 {posts}건). 아래 게시물이 데이터를 판매하는 글입니다.",
    where="위치:",
    permalink="  게시물 주소: {}",
    chat_id="  채널 숫자 ID: {}",
    chat_title="  수집 당시 채널 이름: {}",
    chat_username="  수집 당시 채널 사용자명: {}",
    venue="  사이트 유형: {venue}, 출처: {source}, 게시물 ID: {post}",
    when="시각 (UTC):",
    posted="  게시: {}",
    captured="  수집: {}",
    last_seen="  마지막 확인: {}",
    sale="판매 의사:",
    title='  수집한 제목: "{}"',
    terms="  발견된 거래 표현: {}",
    seller="판매자 연락처: {}",
    files="수집한 파일 (SHA-256):",
    no_files="수집한 파일: 없음",
    file_line="  {sha} {size} 바이트 {name}",
    stored="위 파일은 증거로 암호화하여 보관하고 있습니다.",
    not_stored="위 파일은 대조 후 보관하지 않았습니다.",
    people="일치한 당사 고객 개인정보 (유형과 건수만 기재): {}명",
    category="  {type}: {items}건, {people}명",
    fetched_files=(
        "당사 모니터링 도구가 위 파일을 게시물에서 내려받아 당사 고객 정보의 키 해시(HMAC)와 대조했습니다. "
        "데이터를 구매하지 않았습니다."
    ),
    text_only=(
        "당사 모니터링 도구는 게시물 본문만 읽었으며 파일은 내려받지 않았습니다. 대조에는 당사 고객 정보의 "
        "키 해시(HMAC)를 사용했고, 데이터를 구매하지 않았습니다."
    ),
    screenshot="화면 캡처는 첨부하지 않았습니다 (당사 모니터링 도구는 화면을 캡처하지 않습니다).",
    reporter="신고자: [이름, 소속, 이메일, 전화번호]",
    unknown="(알 수 없음)",
    none_recorded="(기록 없음)",
    no_title="(제목 없음)",
    none_matched="(없음)",
)


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str
    intro: str
    phrases: Phrases


RECIPIENTS = {
    "telegram": Recipient(
        "To: abuse@telegram.org (or in-app Report > Personal details)",
        "The message below offers personal data of our customers for sale. We ask you to remove it and to "
        "review the channel.",
        ENGLISH,
    ),
    "kisa": Recipient(
        "수신: jebo@pirst.kr (KISA 개인정보 불법유통 신고)",
        "아래 게시물은 당사 고객의 개인정보를 판매하는 글입니다. 게시물 삭제 및 접속 차단 조치를 요청합니다.",
        KOREAN,
    ),
    "host-kr": Recipient(
        "수신: 호스팅 사업자의 신고 창구 (abuse 주소 또는 신고 양식)",
        "귀사 서비스의 아래 게시물이 당사 고객의 개인정보를 판매하고 있습니다. 이용약관에 따라 삭제를 요청합니다.",
        KOREAN,
    ),
    "host": Recipient(
        "To: the hosting provider's abuse contact or form",
        "A page on your service offers personal data of our customers for sale. We ask you to remove it under "
        "your acceptable-use policy.",
        ENGLISH,
    ),
}
