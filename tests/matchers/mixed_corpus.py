"""A deterministic mixed corpus for the hits-unchanged test (tests/matchers/test_hits_golden.py).

Synthetic people only. Each case is a named scan: a text, how it is scanned (columns, delimiter,
record scope) and with which matcher options; :func:`render` turns hits into stable text lines, so
a refactor of the hit path can prove it reports exactly what it reported before.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from matchers.engine import Matcher, MatcherOptions
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.model import Hit
from matchers.protect import protected_forms
from matchers.registry import IdentifierRegistry
from matchers.types.custom import CustomType
from tests.matchers.conftest import PEOPLE, TEST_KEY
from tests.matchers.test_extraction import NO_HIT, ROWS, SALE_POST

SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = "민서준지현우예도하윤수영진호성은재경태혜철희"
DOMAINS = ["naver.com", "gmail.com", "daum.net", "hanmail.net", "kakao.com", "nate.com"]
ROADS = ["테헤란로", "강남대로", "세종대로", "중앙로", "도산대로"]
NOISE = ["VIP", "일반", "탈퇴", "휴면", "주문완료", "연락처 변경", "메일 수신", "주소 확인", "e-mail ok", "tel/hp"]


def custom_registry() -> IdentifierRegistry:
    return IdentifierRegistry.default(
        custom=[CustomType(name="member_no", pattern=r"M[0-9]{8}", canonical="lowercase", context=["회원번호"])]
    )


def people(n: int, seed: int = 7) -> list[dict[str, str]]:
    """Synthetic subjects 101.. with a name, phone, e-mail, birth date and (most) an address."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        person = {
            "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            "phone": f"010{rng.randrange(10**8):08d}",
            "email": f"user{i}.x{rng.randrange(1000)}@{rng.choice(DOMAINS)}",
            "birthdate": f"{rng.randrange(1950, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            "member_no": f"M{rng.randrange(10**8):08d}",
        }
        if i % 4:
            road = rng.choice(ROADS)
            person["address"] = f"서울특별시 강남구 {road} {rng.randrange(1, 400)}, {rng.randrange(101, 120)}동 1001호"
        out.append(person)
    return out


def build_matcher(registry: IdentifierRegistry, generated: list[dict[str, str]], **options: object) -> Matcher:
    hasher = KeyedHasher(TEST_KEY)
    pairs: list[tuple[bytes, int]] = []
    subjects = list(PEOPLE.items()) + [(101 + i, p) for i, p in enumerate(generated)]
    for sid, ids in subjects:
        for id_type, value in ids.items():
            if id_type in registry:
                for form, canonical in protected_forms(id_type, value, registry):
                    pairs.append((hasher.digest(id_type, canonical, form), sid))
    return Matcher(hasher, ProtectedIndex.from_digests(pairs), registry, options=MatcherOptions(**options))  # type: ignore[arg-type]


def _phone_form(rng: random.Random, p: str) -> str:
    forms = [
        f"{p[:3]}-{p[3:7]}-{p[7:]}",
        p,
        f"{p[:3]} {p[3:7]} {p[7:]}",
        f"+82 {p[1:3]}-{p[3:7]}-{p[7:]}",
        f"{p[:3]}.{p[3:7]}.{p[7:]}",
        p[1:],
        "".join(chr(ord(c) + 0xFEE0) for c in p),
        f"{p[:3]}-****-{p[7:]}",
        f"o1o-{p[3:7]}-{p[7:]}",
        f"{p[:3]}-{p[3:7]}-****",
    ]
    return rng.choice(forms)


def _email_form(rng: random.Random, e: str) -> str:
    local, _, domain = e.partition("@")
    return rng.choice([e, e.upper(), f"{local} (at) {domain.replace('.', ' (dot) ')}", f"{local[0]}***@{domain}"])


def _name_form(rng: random.Random, n: str) -> str:
    return rng.choice([n, n, f"{n}님", " ".join(n), f"{n[0]} {n[1:]}", f"{n[0]}*{n[-1]}", f"{n[0]}\u200b{n[1:]}"])


def dump_lines(generated: list[dict[str, str]], count: int, seed: int, delimiter: str) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for row in range(count):
        if rng.random() < 0.08:
            lines.append(delimiter.join([str(row), rng.choice(NOISE), "nothing", ""]))
            continue
        p = rng.choice(generated)
        other = rng.choice(generated)
        cells = [
            str(row),
            _name_form(rng, p["name"] if rng.random() < 0.85 else other["name"]),
            _phone_form(rng, p["phone"]),
            _email_form(rng, p["email"] if rng.random() < 0.9 else other["email"]),
            p["birthdate"] if rng.random() < 0.5 else rng.choice(["", p["birthdate"].replace("-", ".")]),
            p.get("address", "") if rng.random() < 0.7 else other.get("address", ""),
            rng.choice(NOISE),
        ]
        if rng.random() < 0.2:
            cells.append(p["member_no"])
        if rng.random() < 0.05:
            cells.append("010-1234-5678")  # subject 1, a stranger to the row
        lines.append(delimiter.join(cells))
    return lines


@dataclass(frozen=True)
class Case:
    name: str
    text: str | bytes
    registry: str = "default"  # or "custom"
    columns: Sequence[str] | None = None
    delimiter: str | None = None
    scope: str = "line"
    options: dict[str, object] = field(default_factory=dict)


def cases() -> Iterator[Case]:
    generated = people(300)
    table = "\n".join(text for text, _ in ROWS) + "\n" + "\n".join(NO_HIT) + "\n"
    yield Case("extraction-table", table)
    yield Case("extraction-table-whole", table, scope="all")
    yield Case("sale-post-whole", SALE_POST, scope="all")
    yield Case("sale-post-lines", SALE_POST)
    header = ["no", "이름", "휴대폰", "이메일", "생년월일", "주소", "메모", "회원번호", "extra"]
    csv = "\n".join(dump_lines(generated, 1500, 1, ",")) + "\n"
    yield Case("csv-columns", csv, "custom", header, ",")
    yield Case("csv-no-columns", csv, "custom")
    yield Case("csv-small-blocks", csv, "custom", header, ",", options={"chunk_size": 2048})
    yield Case("csv-whole", csv[:20000], "custom", header, ",", scope="all")
    tsv = "\n".join(dump_lines(generated, 800, 2, "\t")) + "\n"
    yield Case("tsv-columns", tsv, "default", header, "\t")
    yield Case("tsv-detected-delimiter", tsv, "default", header)
    yield Case("csv-weak-off", csv, "default", header, ",", options={"weak": False})
    yield Case("csv-partial-off", csv, "default", header, ",", options={"partial": False})
    yield Case("csv-deobfuscate-off", csv, "default", header, ",", options={"deobfuscate": False})
    rng = random.Random(5)
    posts = []
    for p in generated[:120]:
        name, phone = _name_form(rng, p["name"]), _phone_form(rng, p["phone"])
        posts.append(f"판매 {name} 연락처: {phone} 메일 {_email_form(rng, p['email'])}")
        posts.append(f"주소 {p.get('address', '')} 생일 {p['birthdate']} tel {p['phone']}")
    post_text = ("\n".join(posts) + "\r\n").encode() + b"\xff\xfe broken \x00 \xed\x95 010-1234-5678\r\n"
    yield Case("posts-lines", post_text)
    yield Case("posts-whole", post_text[:6000], scope="all")
    long_line = " | ".join(
        f"{p['name']} {p['phone']} {p['email']} {p.get('address', '')}" for p in generated[:200]
    )  # one dense line: every hit shares one record
    yield Case("one-long-line", long_line + "\n", columns=header, delimiter="|")


def run_case(case: Case, matchers: dict[tuple[str, tuple[tuple[str, object], ...]], Matcher]) -> list[Hit]:
    key = (case.registry, tuple(sorted(case.options.items())))
    matcher = matchers.get(key)
    if matcher is None:
        registry = custom_registry() if case.registry == "custom" else IdentifierRegistry.default()
        matcher = matchers[key] = build_matcher(registry, people(300), **case.options)
    data = case.text if isinstance(case.text, bytes) else case.text.encode("utf-8", "surrogatepass")
    if case.scope == "all":
        return matcher.scan_bytes(data, columns=case.columns, delimiter=case.delimiter, record_scope="all")
    return [h for batch in matcher.iter_hits(data, columns=case.columns, delimiter=case.delimiter) for h in batch]


def render(hit: Hit) -> str:
    """Every field of a hit, on one line."""
    return repr(
        (
            hit.line,
            hit.id_type,
            hit.digest.hex(),
            hit.key_id,
            hit.subject_ids,
            hit.match_kind,
            hit.obfuscation,
            hit.confidence,
            hit.masked,
            hit.form,
            hit.explanation,
            sorted(hit.extra.items()),
        )
    )


_MATCHERS: dict[tuple[str, tuple[tuple[str, object], ...]], Matcher] = {}


def fingerprint(case: Case) -> tuple[int, str]:
    """(hit count, SHA-256 of the rendered hits in order) of one case."""
    hits = run_case(case, _MATCHERS)
    text = "\n".join(render(h) for h in hits)
    return len(hits), hashlib.sha256(text.encode()).hexdigest()


def fingerprints() -> dict[str, tuple[int, str]]:
    """Case name -> :func:`fingerprint` (what tests/matchers/hits_golden.json holds)."""
    return {case.name: fingerprint(case) for case in cases()}


if __name__ == "__main__":  # regenerate the golden file: python -m tests.matchers.mixed_corpus
    import json
    from pathlib import Path

    golden = Path(__file__).with_name("hits_golden.json")
    golden.write_text(json.dumps(fingerprints(), indent=1) + "\n", encoding="utf-8")
