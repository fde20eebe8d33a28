"""Scan benchmark: leakmon vs a naive Python baseline vs ``grep -F -f``, side by side in one run.

    python scripts/bench_scan.py [--size-mb 100] [--identifiers 1000000] [--jobs 2] [--no-50m]

Builds a synthetic protected set and a dense synthetic leaked dump (CSV-like rows with Korean names,
phones in mixed forms, e-mails, noise) in a temporary directory, then prints throughput figures.
Nothing here is asserted: speed is measured, not tested.
"""

from __future__ import annotations

import argparse
import hmac
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matchers.engine import Matcher
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.parallel import scan_file
from matchers.protect import protected_forms
from matchers.registry import IdentifierRegistry

KEY = b"bench-key-not-a-secret-0123456789"
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = "민서준지현우예도하윤수영진호성은재경태혜철희"
DOMAINS = ["naver.com", "gmail.com", "daum.net", "hanmail.net", "kakao.com", "nate.com"]
NOISE = ["서울특별시 강남구", "경기도 성남시", "부산광역시 해운대구", "VIP", "일반", "탈퇴", "휴면", "주문완료"]


def person(rng: random.Random, i: int) -> tuple[str, str, str]:
    name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
    phone = f"010{rng.randrange(10**8):08d}"
    email = f"user{i}x{rng.randrange(10**6)}@{rng.choice(DOMAINS)}"
    return name, phone, email


def phone_form(rng: random.Random, p: str, obfuscated: float) -> str:
    if rng.random() < obfuscated:
        r = rng.random()
        if r < 1 / 3:
            return "".join(chr(ord(c) + 0xFEE0) for c in p)  # full-width
        if r < 2 / 3:
            return f"{p[:3]}-****-{p[7:]}"
        return f"o1o-{p[3:7]}-{p[7:]}"
    r = rng.random()
    if r < 0.5:
        return f"{p[:3]}-{p[3:7]}-{p[7:]}"
    if r < 0.75:
        return p
    if r < 0.85:
        return f"{p[:3]} {p[3:7]} {p[7:]}"
    if r < 0.93:
        return f"+82 {p[1:3]}-{p[3:7]}-{p[7:]}"
    if r < 0.97:
        return f"{p[:3]}.{p[3:7]}.{p[7:]}"
    return f"{p[1:3]}{p[3:]}"  # Excel dropped the leading zero


def build_set(n: int, hasher: KeyedHasher, registry: IdentifierRegistry, rng: random.Random):
    people = [person(rng, i) for i in range(n // 3 + 1)]
    prefixes: list[bytes] = []
    subjects: list[int] = []
    count = 0
    for sid, (name, phone, email) in enumerate(people):
        for id_type, value in (("name", name), ("phone", phone), ("email", email)):
            count += 1
            for form, canonical in protected_forms(id_type, value, registry):
                prefixes.append(hasher.digest(id_type, canonical, form)[:8])
                subjects.append(sid)
    keys = np.frombuffer(b"".join(prefixes), dtype=">u8").astype(np.uint64)
    return people, keys, np.array(subjects, dtype=np.uint32), count


def build_dump(
    path: Path,
    size: int,
    people: list[tuple[str, str, str]],
    rng: random.Random,
    protected_share: float,
    obfuscated: float,
) -> int:
    lines = []
    written = 0
    row = 0
    with path.open("w", encoding="utf-8") as fh:
        while written < size:
            if rng.random() < protected_share:
                name, phone, email = rng.choice(people)
            else:
                name, phone, email = person(rng, 10**8 + row)
            line = (f"{row},{name},{phone_form(rng, phone, obfuscated)},{email},{rng.choice(NOISE)},"
                    f"{rng.randrange(1970, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d},"
                    f"{rng.randrange(1000, 999999)}\n")
            lines.append(line)
            written += len(line.encode())
            row += 1
            if len(lines) >= 10000:
                fh.write("".join(lines))
                lines.clear()
        fh.write("".join(lines))
    return row


def naive_scan(path: Path, key: bytes, hex_set: set[str]) -> tuple[int, int]:
    phone_re = re.compile(r"(?<![0-9])(?:\+82[- ]?|0)1[016789][-. ]?[0-9]{3,4}[-. ]?[0-9]{4}(?![0-9])")
    email_re = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
    nondigit = re.compile(r"[^0-9]")
    cands = hits = 0
    with path.open(encoding="utf-8") as fh:
        while True:
            chunk = fh.read(8 << 20)
            if not chunk:
                break
            chunk += fh.readline()
            for m in phone_re.findall(chunk):
                d = nondigit.sub("", m)
                d = "82" + (d[2:] if d.startswith("82") else d[1:])
                msg = b"leakmon/v1/phone/full\x00" + d.encode()
                cands += 1
                hits += hmac.new(key, msg, "sha256").hexdigest() in hex_set
            for m in email_re.findall(chunk):
                msg = b"leakmon/v1/email/full\x00" + m.lower().encode()
                cands += 1
                hits += hmac.new(key, msg, "sha256").hexdigest() in hex_set
    return cands, hits


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=100)
    ap.add_argument("--identifiers", type=int, default=1_000_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--obfuscated", type=float, default=0.01,
                    help="share of phones written full-width, masked or letter-swapped (slow path)")
    ap.add_argument("--hit-rate", type=float, default=0.01, help="share of rows holding a protected subject")
    ap.add_argument("--no-50m", action="store_true", help="skip the 50M-entry index projection")
    args = ap.parse_args()
    rng = random.Random(7)
    registry = IdentifierRegistry.default()
    hasher = KeyedHasher(KEY)
    tmp = Path(tempfile.mkdtemp(prefix="leakmon-bench-"))
    try:
        (people, keys, subs, count), t_set = timed(lambda: build_set(args.identifiers, hasher, registry, rng))
        index, t_index = timed(lambda: ProtectedIndex(keys, subs))
        print(f"protected set: {count:,} identifiers, {len(index):,} index entries (with partial forms), "
              f"built in {t_set:.1f} s (+{t_index:.2f} s index)")
        full_only = ProtectedIndex(*_full_only(people, hasher))
        dump = tmp / "dump.csv"
        rows, t_dump = timed(lambda: build_dump(dump, int(args.size_mb * 2**20), people, rng, args.hit_rate, args.obfuscated))
        mb = dump.stat().st_size / 2**20
        print(f"dump: {mb:.1f} MB, {rows:,} rows ({args.hit_rate:.1%} protected, {args.obfuscated:.1%} obfuscated phones), generated in {t_dump:.1f} s\n")

        matcher = Matcher(hasher, index, registry)
        dump.read_bytes()  # warm the page cache
        hits, t1 = timed(lambda: list(scan_file(matcher, dump, jobs=1)))
        cands = _count_candidates(matcher, dump)
        print(f"leakmon 1 process : {mb / t1:7.1f} MB/s  {cands / t1 / 1e3:7.0f}k candidates/s  "
              f"{len(hits):,} hits  ({t1:.1f} s)")
        hits2, t2 = timed(lambda: list(scan_file(matcher, dump, jobs=args.jobs)))
        print(f"leakmon --jobs {args.jobs}  : {mb / t2:7.1f} MB/s  speedup x{t1 / t2:.2f}  {len(hits2):,} hits")

        hex_set = {hasher.digest(t, c).hex() for p in people
                   for t, c in (("phone", "82" + p[1][1:]), ("email", _email(p[2])))}
        (n_cands, n_hits), t_naive = timed(lambda: naive_scan(dump, KEY, hex_set))
        print(f"naive baseline    : {mb / t_naive:7.1f} MB/s  {n_cands / t_naive / 1e3:7.0f}k candidates/s  "
              f"{n_hits:,} hits  -> leakmon x{t_naive / t1:.2f}")

        if shutil.which("grep"):
            pats = tmp / "plain.txt"
            pats.write_text("".join(f"{p[1][:3]}-{p[1][3:7]}-{p[1][7:]}\n{p[2]}\n" for p in people))
            _, t_grep = timed(lambda: subprocess.run(["grep", "-c", "-F", "-f", str(pats), str(dump)],
                                                     capture_output=True, check=False))
            print(f"grep -F -f (plain): {mb / t_grep:7.1f} MB/s  (plaintext, no normalization, incl. compile)")

        per = index.nbytes / count
        print(f"\nindex: {index.nbytes / 2**20:.1f} MiB = {per:.2f} B/identifier with partial forms; "
              f"full forms only {full_only.nbytes / len(full_only):.2f} B/identifier")
        if not args.no_50m:
            _project_50m()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _email(e: str) -> str:
    local, _, domain = e.lower().partition("@")
    return f"{local}@{'daum.net' if domain == 'hanmail.net' else domain}"


def _full_only(people: list[tuple[str, str, str]], hasher: KeyedHasher) -> tuple[np.ndarray, np.ndarray]:
    digests, subs = [], []
    for sid, (name, phone, email) in enumerate(people):
        for t, c in (("name", name), ("phone", "82" + phone[1:]), ("email", _email(email))):
            digests.append(hasher.digest(t, c)[:8])
            subs.append(sid)
    return np.frombuffer(b"".join(digests), ">u8").astype(np.uint64), np.array(subs, np.uint32)


def _count_candidates(matcher: Matcher, dump: Path) -> int:
    data = dump.read_bytes()[: 16 << 20]
    n = sum(len(rec.find_all(data)) for rec in matcher._fast)
    return int(n * dump.stat().st_size / max(len(data), 1))


def _project_50m() -> None:
    n = 50_000_000
    rng = np.random.default_rng(1)
    keys = np.sort(rng.integers(0, 2**63, n, dtype=np.uint64))
    subs = rng.integers(0, 2**31, n, dtype=np.uint32)
    index, t = timed(lambda: ProtectedIndex(keys, subs, presorted=True))
    del keys, subs
    q = rng.integers(0, 2**63, 1_000_000, dtype=np.uint64)
    _, tq = timed(lambda: index.lookup(q))
    print(f"50M full-form entries: {index.nbytes / 2**20:.0f} MiB = {index.nbytes / n:.2f} B/identifier "
          f"(built from sorted arrays in {t:.1f} s; 1M-query batch lookup {1 / tq:.1f}M/s)")


if __name__ == "__main__":
    main()
