"""A synthetic world for the demo: a protected set and leaked samples. None of it is a real person.

Names come from common syllables, phone numbers from the 010 range, e-mail addresses from the
reserved ``example`` names, resident numbers from random digits: any resemblance is chance.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

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
