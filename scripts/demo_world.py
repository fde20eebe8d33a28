"""A synthetic world for the demo: a protected set and leaked samples. None of it is a real person.

Names come from common syllables, phone numbers from the 010 range, e-mail addresses from the
reserved ``example`` names, resident numbers from random digits: any resemblance is chance.
"""

from __future__ import annotations

import csv
import gzip
import html
import io
import json
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyzipper
from openpyxl import Workbook

SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = "민서지현수영준우하은도윤예진성호재원태희가람나연동혁"
DOMAINS = ("naver.com", "daum.net", "hanmail.net", "gmail.com", "kakao.com", "nate.com")
ROADS = ("테헤란로", "세종대로", "해운대로", "중앙로", "솔밭1길")
CITIES = (("서울특별시", "강남구"), ("부산광역시", "해운대구"), ("대구광역시", "중구"), ("울산광역시", "울주군"))


@dataclass(frozen=True)
class Person:
    subject_ref: str
    name: str
    phone: str
    email: str
    rrn: str
    address: str


def make_people(count: int, seed: int = 7) -> list[Person]:
    rng = random.Random(seed)
    people = []
    for i in range(count):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        phone = f"010-{rng.randrange(2000, 9999)}-{rng.randrange(0, 9999):04d}"
        email = f"user{i:05d}.{rng.randrange(100, 999)}@{rng.choice(DOMAINS)}"
        year = rng.randrange(60, 99)
        birth = f"{year:02d}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
        rrn = f"{birth}-{rng.choice('12')}{rng.randrange(0, 999999):06d}"
        city, district = rng.choice(CITIES)
        road = f"{rng.choice(ROADS)} {rng.randrange(1, 300)}"
        address = f"{city} {district} {road}, {rng.randrange(101, 120)}동 {rng.randrange(101, 1500)}호"
        people.append(Person(f"cust-{i:06d}", name, phone, email, rrn, address))
    return people


def write_protected_set(people: list[Person], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["subject_ref", "name", "phone", "email", "rrn", "address"])
        for p in people:
            writer.writerow([p.subject_ref, p.name, p.phone, p.email, p.rrn, p.address])


def obfuscate_phone(phone: str, style: int) -> str:
    digits = phone.replace("-", "")
    if style == 0:
        return phone.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))  # full-width
    if style == 1:
        return "+82 " + digits[1:3] + "-" + digits[3:7] + "-" + digits[7:]  # international
    if style == 2:
        return " ".join(digits)  # spaces between digits
    if style == 3:
        return "공일공-" + digits[3:7] + "-" + digits[7:]  # Hangul digit words
    return digits[1:]  # Excel lost the leading zero


def write_leaks(people: list[Person], directory: Path, *, seed: int = 11) -> dict[str, int]:
    """Leaked samples in several formats; returns how many protected people each file exposes."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    exposed: dict[str, int] = {}
    strangers = make_people(200, seed=999)

    # 1. A seller's sample as a CP949 CSV with Korean headers (as Excel in Korea saves it).
    sample = rng.sample(people, 40)
    rows = [[p.name, p.phone, p.email, p.address] for p in sample] + [
        [s.name, s.phone, s.email, s.address] for s in strangers[:60]
    ]
    rng.shuffle(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["이름", "전화번호", "이메일", "주소"])
    writer.writerows(rows)
    (directory / "쿠팡_샘플.csv").write_bytes(buffer.getvalue().encode("cp949", errors="replace"))
    exposed["쿠팡_샘플.csv"] = 40

    # 2. A password-protected zip (AES) whose password the post text gives.
    members = rng.sample(people, 25)
    inner = "\n".join(f"{p.email}:hunter{rng.randrange(100)}" for p in members)  # a combolist
    with pyzipper.AESZipFile(
        directory / "combo.zip", "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(b"leak2025")
        archive.writestr("combo/emails.txt", inner)
    exposed["combo.zip"] = 25

    # 3. An advertisement with obfuscated phone numbers (one per style).
    ad_people = rng.sample(people, 5)
    lines = ["실시간 DB 팝니다 샘플 첨부 비번: leak2025", "문의 텔레그램 @seller_demo"]
    lines += [f"{p.name} {obfuscate_phone(p.phone, i)}" for i, p in enumerate(ad_people)]
    (directory / "ad_post.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    exposed["ad_post.txt"] = 5

    # 4. JSON lines from an API dump, gzip-compressed.
    api = rng.sample(people, 15)
    payload = "\n".join(json.dumps({"user": {"nm": p.name, "tel": p.phone, "mail": p.email}}) for p in api)
    (directory / "api_dump.jsonl.gz").write_bytes(gzip.compress(payload.encode()))
    exposed["api_dump.jsonl.gz"] = 15

    # 5. An XLSX with resident numbers (unique identifying information).
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["성명", "주민번호", "휴대폰"])
    for p in rng.sample(people, 10):
        sheet.append([p.name, p.rrn, p.phone])
    book.save(directory / "members.xlsx")
    exposed["members.xlsx"] = 10

    # 6. Masked rows only: partial evidence, never exact hits.
    masked = rng.sample(people, 5)
    (directory / "masked_sample.txt").write_text(
        "\n".join(f"{p.name[0]}*{p.name[-1]} {p.phone[:4]}****{p.phone[8:]}" for p in masked) + "\n",
        encoding="utf-8",
    )
    # 7. An innocent file: nothing to find.
    (directory / "notes.txt").write_text("회의록: 다음 주 배포 일정 확인\n", encoding="utf-8")
    with zipfile.ZipFile(directory / "empty.zip", "w") as archive:
        archive.writestr("readme.txt", "nothing here")
    return exposed


# -- the web the scheduled cycle crawls ---------------------------------------------------------

FORUM_SELECTORS = {
    "post": "div.post",
    "post_id": "::attr(data-post-id)",
    "author": ".author::text",
    "date": ".date::text",
    "title": "h1::text",
    "next_page": "a.next",
    "attachments": "a.attach",
}
CHANNEL = "leak_market_kr"
EXPORT_CHAT_ID = 1987654321

_PAGE = """<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>{body}</body></html>"""


def _html(title: str, body: str) -> bytes:
    return _PAGE.format(title=html.escape(title), body=body).encode("utf-8")


def _post(post_id: str, author: str, date: str, text: str, files: list[str] | None = None) -> str:
    lines = "<br>".join(html.escape(line) for line in text.splitlines())
    links = "".join(
        f'<p><a class="attach" href="/files/{quote(name)}">{html.escape(name)}</a></p>' for name in files or []
    )
    return (
        f'<div class="post" data-post-id="{post_id}"><span class="author">{html.escape(author)}</span>'
        f'<span class="date">{date}</span><div class="body">{lines}</div>{links}</div>'
    )


def site_routes(people: list[Person], work: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """The forum (threads with leaked attachments) and the channel preview; planted counts per place."""
    from demo_site import Page

    exposed = write_leaks(people, work / "leaks")
    leaks = work / "leaks"
    rng = random.Random(23)
    routes: dict[str, Page] = {"/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain")}
    for name in sorted(p.name for p in leaks.iterdir()):
        routes[f"/files/{quote(name)}"] = Page((leaks / name).read_bytes(), "application/octet-stream")
    ad = (leaks / "ad_post.txt").read_text(encoding="utf-8")
    masked = (leaks / "masked_sample.txt").read_text(encoding="utf-8")
    threads: list[tuple[str, list[str], dict[str, int]]] = [
        (
            "[판매] 쇼핑몰 회원 디비 샘플 풀디비 문의",
            [
                _post(
                    "t1-1",
                    "dbking",
                    "2026-11-20 09:12",
                    "실시간 회원 DB 판매합니다. 샘플 첨부, 풀디비는 텔레 문의",
                    ["쿠팡_샘플.csv"],
                )
            ],
            {"쿠팡_샘플.csv": exposed["쿠팡_샘플.csv"]},
        ),
        (
            "콤보리스트 팝니다 (메일:비번)",
            [
                _post(
                    "t2-1", "combo_shop", "2026-11-20 11:40", "메일 콤보 25건 샘플\n압축 비번: leak2025", ["combo.zip"]
                )
            ],
            {"combo.zip": exposed["combo.zip"]},
        ),
        (
            "번호 DB 삽니다/팝니다",
            [_post("t3-1", "seller_demo", "2026-11-21 08:05", ad)],
            {"ad_post.txt": exposed["ad_post.txt"]},
        ),
        (
            "API 덤프 유출본",
            [_post("t4-1", "dumper", "2026-11-21 13:30", "앱 API 덤프 일부 공개", ["api_dump.jsonl.gz"])],
            {"api_dump.jsonl.gz": exposed["api_dump.jsonl.gz"]},
        ),
        (
            "주민번호 포함 회원명부",
            [_post("t5-1", "dbking", "2026-11-22 10:00", "명부 엑셀 샘플입니다", ["members.xlsx"])],
            {"members.xlsx": exposed["members.xlsx"]},
        ),
        ("마스킹된 샘플", [_post("t6-1", "anon", "2026-11-22 12:00", "마스킹 샘플\n" + masked)], {}),
        (
            "자유게시판: 배포 일정",
            [_post("t7-1", "dev", "2026-11-22 15:00", "다음 주 배포 일정 공유합니다", ["notes.txt", "empty.zip"])],
            {},
        ),
        (
            "질문 있습니다",
            [
                _post("t8-1", "newbie", "2026-11-23 09:00", "가입 인사 드립니다"),
                _post("t8-2", "helper", "2026-11-23 09:30", "환영합니다"),
            ],
            {},
        ),
    ]
    planted: dict[str, int] = {}
    for index, (title, posts, counts) in enumerate(threads, start=1):
        routes[f"/forum/thread/{index}"] = Page(_html(title, "".join(posts)))
        planted.update({f"forum: {name}": n for name, n in counts.items()})
    for page in (1, 2):
        items = range(1 + (page - 1) * 4, 1 + page * 4)
        links = "".join(f'<li><a href="/forum/thread/{i}">{html.escape(threads[i - 1][0])}</a></li>' for i in items)
        more = '<a class="next" href="/forum/board/market?page=2">다음</a>' if page == 1 else ""
        routes[f"/forum/board/market?page={page}"] = Page(_html(f"거래 게시판 {page}", f"<ul>{links}</ul>{more}"))
    routes["/forum/"] = Page(_html("데모 포럼", '<a href="/forum/board/market?page=1">거래 게시판</a>'))

    chosen = rng.sample(people, 14)
    messages = []
    for number, person in enumerate(chosen, start=1):
        style = number % 4
        if style == 0:
            text = f"[샘플] {person.name} / {obfuscate_phone(person.phone, number % 5)} 실시간 디비 문의 @seller_demo"
        elif style == 1:
            text = f"메일 DB 판매 샘플: {person.email.replace('@', ' @ ')}"
        elif style == 2:
            text = f"{person.name} {person.phone} {person.address}\n풀디비 가격 문의"
        else:
            text = f"유출 명단 일부 {person.email} / {person.phone.replace('-', '.')}"
        messages.append((number, text))
    planted[f"t.me/s/{CHANNEL}"] = len(chosen)
    for older, ids in ((False, range(8, 15)), (True, range(1, 8))):
        body = "".join(
            f'<div class="tgme_widget_message_wrap"><div class="tgme_widget_message" data-post="{CHANNEL}/{n}">'
            f'<div class="tgme_widget_message_text">{html.escape(messages[n - 1][1]).replace(chr(10), "<br>")}</div>'
            f'<a class="tgme_widget_message_date" href="https://t.me/{CHANNEL}/{n}">'
            f'<time datetime="2026-11-2{n % 3}T1{n % 10}:00:00+09:00">t</time></a></div></div>'
            for n in ids
        )
        more = "" if older else '<a class="tme_messages_more" data-before="8" href="?before=8">more</a>'
        path = f"/s/{CHANNEL}" + ("?before=8" if older else "")
        routes[path] = Page(_html(CHANNEL, f'<div class="tgme_channel_info">{CHANNEL}</div>{more}{body}'))
    return routes, planted


def write_telegram_export(people: list[Person], directory: Path) -> int:
    """A Telegram Desktop "Export chat history" (result.json + files/); returns planted subjects."""
    rng = random.Random(31)
    (directory / "files").mkdir(parents=True, exist_ok=True)
    sample = rng.sample(people, 30)
    (directory / "files" / "vip_list.csv").write_text(
        "name,phone,email\n" + "".join(f"{p.name},{p.phone},{p.email}\n" for p in sample[:20]), encoding="utf-8"
    )
    messages: list[dict[str, Any]] = [
        {
            "id": 1,
            "type": "service",
            "date": "2026-11-19T09:00:00",
            "date_unixtime": "1763510400",
            "actor": "DB 거래방",
            "action": "create_channel",
            "text": "",
        },
        {
            "id": 2,
            "type": "message",
            "date": "2026-11-19T10:00:00",
            "date_unixtime": "1763514000",
            "from": "DB 거래방",
            "text": "VIP 회원 명단 샘플 올립니다 (CSV)",
            "file": "files/vip_list.csv",
            "file_name": "vip_list.csv",
            "mime_type": "text/csv",
        },
    ]
    for offset, person in enumerate(sample[20:], start=3):
        messages.append(
            {
                "id": offset,
                "type": "message",
                "date": f"2026-11-2{offset % 3}T12:00:00",
                "date_unixtime": str(1763600000 + offset * 600),
                "from": "DB 거래방",
                "text": [
                    "문의 주신 건 샘플: ",
                    {"type": "phone", "text": person.phone},
                    " ",
                    {"type": "email", "text": person.email},
                ],
            }
        )
    export = {"name": "DB 거래방", "type": "private_channel", "id": EXPORT_CHAT_ID, "messages": messages}
    (directory / "result.json").write_text(json.dumps(export, ensure_ascii=False, indent=1), encoding="utf-8")
    return len(sample)
