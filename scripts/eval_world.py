"""A labelled adversarial world for ``make eval``: protected subjects, sightings of each type x
obfuscation class mixed into posts, CSV rows, JSON lines and Telegram export messages, and decoys.

Every record carries its labels: the planted sightings (type, class, owner subjects) and, for
decoys, nothing to find. Decoys: other people's values, near misses one digit off written in the
same obfuscated form, a relative (not protected) at a subject's address, a stranger who shares a
subject's name. No real person: names, numbers and addresses are random.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from crawlers.files.reader import read_bytes
from crawlers.files.records import ROW_DELIMITER, cell_text
from crawlers.model import TextBlock
from crawlers.telegram.export import message_text

SURNAMES = "김이박최정강조윤장임한오서신권황안송전홍"
GIVEN = "민서준지현우수영진하은도윤재성혜나연동훈"
DOMAINS = ("naver.com", "gmail.com", "daum.net", "nate.com", "kakao.com")
SERVICES = {
    "naver.com": "네이버",
    "gmail.com": "지메일",
    "daum.net": "다음",
    "nate.com": "네이트",
    "kakao.com": "카카오",
}
HD_WORDS = "공일이삼사오육칠팔구"
LAST_LETTERS = {"5": "S", "8": "B", "2": "Z", "6": "G", "0": "O", "1": "l"}
CITIES = (
    ("서울특별시", "서울", ("강남구", "마포구", "송파구", "관악구")),
    ("경기도", "경기", ("성남시 분당구", "수원시 영통구", "고양시 일산동구")),
    ("충청남도", "충남", ("천안시 동남구", "아산시")),
    ("부산광역시", "부산", ("해운대구", "수영구")),
    ("경상북도", "경북", ("포항시 남구", "경주시")),
)
ROADS = ("테헤란로", "올림픽로", "세종대로", "판교역로", "해운대로", "중앙대로", "월드컵북로", "충절로")
CUSTOM = "member"
CUSTOM_PATTERN = r"\b[0-9]{9}\b"  # RE2: no look-around


@dataclass
class Person:
    sid: int  # 0: not protected
    name: str
    phone: str  # 010-XXXX-XXXX
    email: str
    rrn: str
    address: tuple[str, str, str, int, int, int]  # province, region, road, number, dong, ho
    member: str


@dataclass
class Sighting:
    id_type: str
    cls: str
    owners: frozenset[int]  # subjects the value belongs to (a household shares an address)
    exact: bool = True  # False: only weaker (partial) evidence is expected, e.g. an address alone


@dataclass
class Record:
    venue: str
    text: str
    scope: str  # "line" (a CSV/JSON row) or "all" (a post or message)
    columns: tuple[str, ...] | None = None
    planted: list[Sighting] = field(default_factory=list)


def _name(r: random.Random) -> str:
    return r.choice(SURNAMES) + r.choice(GIVEN) + r.choice(GIVEN)


def _phone(r: random.Random) -> str:
    return f"010-{r.randrange(2000, 10000)}-{r.randrange(0, 10000):04d}"


def _rrn(r: random.Random) -> str:
    birth = f"{r.randrange(60, 100):02d}{r.randrange(1, 13):02d}{r.randrange(1, 29):02d}"
    return f"{birth}-{r.choice('12')}{r.randrange(0, 10**6):06d}"


def _address(r: random.Random) -> tuple[str, str, str, int, int, int]:
    province, _, regions = r.choice(CITIES)
    road = r.choice(ROADS)
    return (province, r.choice(regions), road, r.randrange(1, 400), r.randrange(101, 120), r.randrange(101, 2000))


def _person(r: random.Random, sid: int) -> Person:
    local = r.choice(("park", "kim", "lee", "choi", "jung")) + str(r.randrange(10, 100000))
    return Person(
        sid=sid,
        name=_name(r),
        phone=_phone(r),
        email=f"{local}@{r.choice(DOMAINS)}",
        rrn=_rrn(r),
        address=_address(r),
        member=str(r.randrange(10**8, 10**9)),
    )


def address_text(a: tuple[str, str, str, int, int, int], form: str = "plain", r: random.Random | None = None) -> str:
    r = r or random.Random(0)
    province, region, road, number, dong, ho = a
    short = next(s for p, s, _ in CITIES if p == province)
    if form == "abbreviated":
        head = r.choice((short, province.replace("특별시", "시").replace("광역시", "시")))
        if province.endswith(("특별시", "광역시")) and r.random() < 0.5:
            region = region.removesuffix("구")  # 서울 강남 테헤란로
        if " " in region and province.endswith("도") and r.random() < 0.5:
            region = region.replace("시 ", " ", 1)  # 경기 성남 분당구
        return f"{head} {region} {road} {number}, {dong}동 {ho}호"
    if form == "spacing":
        return r.choice(
            (
                f"{province}{region.replace(' ', '')}{road}{number},{dong}동{ho}호",
                f"{province}  {region}  {road}   {number} ,  {dong} 동 {ho} 호",
                f"{province} {region.replace(' ', '')}{road} {number} {dong}동{ho}호",
            )
        )
    if form == "units":
        return f"{province} {region} {road} {number} 제{dong}동 제{ho}호"
    if form == "shorthand":
        return f"{province} {region} {road} {number}, {dong}-{ho}"
    if form == "line_break":
        return f"{province} {region}\n{road} {number}, {dong}동 {ho}호"
    return f"{province} {region} {road} {number}, {dong}동 {ho}호"


def off_by_one(value: str) -> str:
    """The same value with its last digit changed (a near miss)."""
    i = max(k for k, c in enumerate(value) if c.isdigit())
    return value[:i] + str((int(value[i]) + 1) % 10) + value[i + 1 :]


# ---------------------------------------------------------------- one written form per class
def _phone_form(cls: str, phone: str, r: random.Random) -> str:
    a, b, c = phone.split("-")
    if cls == "plain":
        return r.choice((phone, a + b + c, f"{a}.{b}.{c}", f"{a} {b} {c}"))
    if cls == "line_break":
        return r.choice(
            (
                f"{a}-{b}-\n{c}",
                f"{a}-{b}\n{c}",
                f"{a}\n-{b}-{c}",
                f"{a}-{b}-<br>{c}",
                f"{a}-\n{b}-{c}",
                f"{a} {b}\n{c}",
                f"{a}-{b}-{c[:2]}\n{c[2:]}",  # wrapped inside a group
            )
        )
    if cls == "hangul_digits_mixed":  # some digits of every group as words, at least one per number
        words = [HD_WORDS[int(d)] if d.isdigit() and r.random() < 0.3 else d for d in phone]
        if words == list(phone):
            words[0] = HD_WORDS[0]
        return "".join(words)
    if cls == "letter_swap_last":
        ks = [k for k, d in enumerate(c) if d in LAST_LETTERS]
        if ks:
            k = r.choice(ks)
            c = c[:k] + LAST_LETTERS[c[k]] + c[k + 1 :]
        return f"{a}-{b}-{c}"
    if cls == "markup":
        return r.choice(
            (
                f"<span>{a}</span>-<span>{b}</span>-<span>{c}</span>",
                f'{a}-<b class="x y">{b}</b>-{c}',
                f'<font color="#fefefe" style="font-size:11px;letter-spacing:1px">{a}</font>{b}<i>{c}</i>',
            )
        )
    if cls == "unicode_digits":
        return phone.translate({ord(d): chr(0xFF10 + int(d)) for d in "0123456789"})
    if cls == "invisible":
        return r.choice((f"{a}\u200b-{b}\u200d-{c}", f"{a}-{b[:2]}\ufeff{b[2:]}-{c}", f"{a}\u2060{b}\u200c{c}"))
    raise ValueError(cls)


def _email_form(cls: str, email: str, r: random.Random) -> str:
    local, _, domain = email.partition("@")
    host, _, tld = domain.rpartition(".")
    if cls == "plain":
        return email
    if cls == "line_break":
        return r.choice((f"{local}@\n{domain}", f"{local}\n@{domain}", f"{local}@{host}.\n{tld}"))
    if cls == "spaced_letters":
        return " ".join(email)
    if cls == "korean_words":
        return r.choice(
            (
                f"{local} 골뱅이 {host} 점 {tld}",
                f"{local}앳{host}닷{tld}",
                f"{local} 앳 {host} 닷 {tld}",
                f"{local}(골뱅이){host}(닷){tld}",
                f"{local} [앳] {domain}",
                f"{local} 골뱅이 {SERVICES[domain]}",
                f"{local}@{host}{'닷컴' if tld == 'com' else '쩜넷'}",
            )
        )
    if cls == "unicode_punctuation":
        return r.choice((f"{local}@{host}。{tld}", f"{local}＠{host}．{tld}"))
    raise ValueError(cls)


def _rrn_form(cls: str, rrn: str, r: random.Random) -> str:
    head, _, tail = rrn.partition("-")
    if cls == "plain":
        return r.choice((rrn, head + tail))
    if cls == "line_break":
        return r.choice((f"{head}-\n{tail}", f"{head}\n-{tail}", f"{head}\n{tail}"))
    raise ValueError(cls)


def _member_form(cls: str, member: str, r: random.Random) -> str:
    if cls == "plain":
        return member
    if cls == "grouped_commas":
        return f"{member[:3]},{member[3:6]},{member[6:]}"
    if cls == "grouped_spaces":
        return f"{member[:3]} {member[3:6]} {member[6:]}"
    raise ValueError(cls)


def _name_form(cls: str, name: str, r: random.Random) -> str:
    if cls == "syllable_spaced":
        return " ".join(name)
    if cls == "zero_width":
        return r.choice(("\u200b", "\u200c", "\u200d", "\ufeff")).join(name)
    raise ValueError(cls)


Form = Callable[[str, Person, random.Random], str]

#: type -> (the written value of a person in a class, the classes).
FORMS: dict[str, tuple[Form, tuple[str, ...]]] = {
    "phone": (
        lambda c, p, r: _phone_form(c, p.phone, r),
        ("plain", "line_break", "hangul_digits_mixed", "letter_swap_last", "markup", "unicode_digits", "invisible"),
    ),
    "email": (
        lambda c, p, r: _email_form(c, p.email, r),
        ("plain", "line_break", "spaced_letters", "korean_words", "unicode_punctuation"),
    ),
    "rrn": (lambda c, p, r: _rrn_form(c, p.rrn, r), ("plain", "line_break")),
    "address": (
        lambda c, p, r: address_text(p.address, c, r),
        ("plain", "abbreviated", "spacing", "units", "shorthand", "line_break"),
    ),
    CUSTOM: (lambda c, p, r: _member_form(c, p.member, r), ("plain", "grouped_commas", "grouped_spaces")),
    "name": (lambda c, p, r: _name_form(c, p.name, r), ("syllable_spaced", "zero_width")),
}
CELLS = [(id_type, cls) for id_type, (_, classes) in FORMS.items() for cls in classes]


def written(id_type: str, cls: str, p: Person, r: random.Random) -> str:
    return FORMS[id_type][0](cls, p, r)


#: Where a record is read: a forum post, a CSV row, a JSON element, a Telegram export message, a web
#: page saved as a file. Each becomes the text the real reader hands the matcher (a CSV or JSON field
#: is flattened to one line; a page goes through the file reader's HTML text extraction).
VENUES = ("post", "csv", "json", "telegram", "html_file")


@dataclass
class World:
    subjects: list[Person]
    records: list[Record]

    def protected_rows(self) -> list[tuple[int, str, str]]:
        """(subject id, type, value) of the protected set."""
        rows: list[tuple[int, str, str]] = []
        for p in self.subjects:
            a = p.address
            rows += [
                (p.sid, "phone", p.phone),
                (p.sid, "email", p.email),
                (p.sid, "rrn", p.rrn),
                (p.sid, "name", p.name),
                (p.sid, "address", address_text(a)),
                (p.sid, CUSTOM, p.member),
            ]
        return rows


def build_world(subjects: int = 400, per_cell: int = 60, seed: int = 13) -> World:
    """A world with ``subjects`` protected people (1 in 5 shares an address with another) and
    ``per_cell`` sightings of every (type, class) cell, spread over the venues, with decoys."""
    r = random.Random(seed)
    people: list[Person] = []
    taken: set[str] = set()
    while len(people) < subjects:  # distinct values, so a near miss or a stranger never hits by chance
        p = _person(r, len(people) + 1)
        values = {p.name, p.phone, p.email, p.rrn, p.member, off_by_one(p.phone), off_by_one(p.rrn)}
        if not values & taken:
            taken |= values | {off_by_one(p.member), _near(p).email}
            people.append(p)
    for k in range(0, subjects // 5 * 2, 2):  # households: 1 subject in 5 shares an address with another
        people[k + 1].address = people[k].address
    owners: dict[tuple[str, str, str, int, int, int], frozenset[int]] = {}
    for p in people:
        owners[p.address] = owners.get(p.address, frozenset()) | {p.sid}
    records: list[Record] = []
    for id_type, cls in CELLS:
        for k in range(per_cell):
            p = r.choice(people)
            venue = VENUES[k % len(VENUES)]
            records.append(_sighting_record(r, venue, id_type, cls, p, owners[p.address], taken))
    records += _decoy_records(r, people, owners, per_cell, taken)
    r.shuffle(records)
    return World(people, records)


def _stranger(r: random.Random, taken: set[str]) -> Person:
    """Someone outside the protected set whose values collide with no subject's."""
    while True:
        p = _person(r, 0)
        if not {p.name, p.phone, p.email, p.rrn, p.member} & taken:
            return p


def _sighting_record(
    r: random.Random, venue: str, id_type: str, cls: str, p: Person, household: frozenset[int], taken: set[str]
) -> Record:
    value = written(id_type, cls, p, r)
    stranger = _stranger(r, taken)
    near = written(id_type, cls, _near(p), r) if id_type not in ("name", "address") else stranger.phone
    planted = [
        Sighting(id_type, cls, household if id_type == "address" else frozenset({p.sid}), exact=id_type != "address")
    ]
    fields: dict[str, str] = {"name": stranger.name, "note": near, id_type: value}
    if id_type == "name":  # a name counts beside the same subject's strong identifier
        fields["phone"] = p.phone
        planted.append(Sighting("phone", "plain", frozenset({p.sid})))
    return _render(r, venue, fields, planted)


def _near(p: Person) -> Person:
    q = Person(**p.__dict__)
    q.sid, q.phone, q.rrn, q.member = 0, off_by_one(p.phone), off_by_one(p.rrn), off_by_one(p.member)
    local, _, domain = p.email.partition("@")
    q.email = off_by_one(local) + "@" + domain if any(c.isdigit() for c in local) else "x" + p.email
    return q


def _decoy_records(
    r: random.Random,
    people: list[Person],
    owners: dict[tuple[str, str, str, int, int, int], frozenset[int]],
    n: int,
    taken: set[str],
) -> list[Record]:
    out: list[Record] = []
    for k in range(n):
        p = r.choice(people)
        stranger = _stranger(r, taken)
        venue = VENUES[k % len(VENUES)]
        # A relative (not protected) at a subject's address: weaker address evidence only, never exact.
        relative = {"name": stranger.name, "phone": stranger.phone, "address": address_text(p.address)}
        out.append(_render(r, venue, relative, [Sighting("address", "relative", owners[p.address], exact=False)]))
        # A stranger who shares a subject's name: nothing to report.
        out.append(_render(r, venue, {"name": p.name, "phone": stranger.phone, "email": stranger.email}, []))
        # Other people's values and near misses in every written form: nothing to report.
        q = _near(p)
        noise = {
            "phone": _phone_form(
                r.choice(("plain", "line_break", "hangul_digits_mixed", "unicode_digits")), q.phone, r
            ),
            "email": _email_form(
                r.choice(("plain", "spaced_letters", "korean_words", "unicode_punctuation")), q.email, r
            ),
            "rrn": _rrn_form("plain", q.rrn, r),
            CUSTOM: _member_form(r.choice(("grouped_commas", "grouped_spaces")), q.member, r),
        }
        out.append(_render(r, venue, noise, []))
    return out


POST_TEMPLATES = (
    "[판매] 실시간 디비 팝니다 샘플 공개\n{body}\n문의 텔레그램 @dbseller 1건당 300원",
    "최신 유출 자료 일부\n{body}\n나머지는 DM 주세요",
    "{body}\n위 정보 맞는지 확인 부탁드립니다",
)


def _render(r: random.Random, venue: str, fields: dict[str, str], planted: list[Sighting]) -> Record:
    items = list(fields.items())
    r.shuffle(items)
    if venue in ("csv", "json"):  # one row: each field flattened to one line by the reader
        columns = tuple(k for k, _ in items)
        cells = [cell_text(v) for _, v in items]
        if venue == "json":
            return Record("json", ROW_DELIMITER.join(cells), "line", columns, planted)
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(cells)
        return Record("csv", out.getvalue(), "line", columns, planted)
    body = "\n".join(f"{_LABELS.get(k, k)}: {v}" for k, v in items)
    intro = r.choice(POST_TEMPLATES).format(body="").strip()
    if venue == "html_file":
        rows = "".join(f"\n  <tr>\n    <th>{_LABELS.get(k, k)}</th>\n    <td>{v}</td>\n  </tr>" for k, v in items)
        page = f"<html><body><h1>{intro}</h1><table>{rows}</table></body></html>".encode()
        text = "\n".join(item.text for item in read_bytes("page.html", page) if isinstance(item, TextBlock))
        return Record("html_file", text, "all", None, planted)
    if venue == "telegram":  # one message of a Telegram Desktop export, as the export reader reads it
        message = {"id": r.randrange(10**6), "type": "message", "text": [intro + "\n", {"type": "plain", "text": body}]}
        return Record("telegram", message_text(message), "all", None, planted)
    return Record("post", r.choice(POST_TEMPLATES).format(body=body), "all", None, planted)


_LABELS = {
    "name": "이름",
    "phone": "연락처",
    "email": "메일",
    "rrn": "주민번호",
    "address": "주소",
    "note": "기타",
    CUSTOM: "회원번호",
}
