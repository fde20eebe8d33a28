"""Scan benchmark: leakmon vs a naive Python baseline vs ``grep -F -f``, side by side in one run.

    python scripts/bench_scan.py [--size-mb 100] [--identifiers 1000000] [--jobs 2] [--no-50m]

Builds a synthetic protected set and a dense synthetic leaked dump (CSV-like rows with Korean names,
phones in mixed forms, e-mails, noise) in a temporary directory, then prints throughput figures.
Nothing here is asserted: speed is measured, not tested.
"""

from __future__ import annotations

import argparse
import hmac
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawlers.files import ReadLimits
from crawlers.parallel import ParallelScanner
from matchers.engine import Matcher
from matchers.index import ProtectedIndex
from matchers.keyed_hash import KeyedHasher
from matchers.native import HIT
from matchers.passes import build_passes
from matchers.protect import protected_forms
from matchers.registry import IdentifierRegistry
from storage.repositories.hits import HitRow

KEY = b"bench-key-not-a-secret-0123456789"
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = "민서준지현우예도하윤수영진호성은재경태혜철희"
DOMAINS = ["naver.com", "gmail.com", "daum.net", "hanmail.net", "kakao.com", "nate.com"]
NOISE = ["서울특별시 강남구", "경기도 성남시", "부산광역시 해운대구", "VIP", "일반", "탈퇴", "휴면", "주문완료"]
PRODUCTS = ["무선 이어폰", "생수 2L x 12", "유아용 물티슈", "캠핑 의자", "USB-C cable", "coffee beans 1kg"]


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
            line = (
                f"{row},{name},{phone_form(rng, phone, obfuscated)},{email},{rng.choice(NOISE)},"
                f"{rng.randrange(1970, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d},"
                f"{rng.randrange(1000, 999999)},{rng.choice(PRODUCTS)},ok\n"
            )
            lines.append(line)
            written += len(line.encode())
            row += 1
            if len(lines) >= 10000:
                fh.write("".join(lines))
                lines.clear()
        fh.write("".join(lines))
    return row


def naive_scan(path: Path, key: bytes, hex_set: set[str]) -> tuple[int, int]:
    """The same job done plainly: stdlib re per type, re.sub normalization, hmac.new, set of hex digests."""
    area = r"0(?:1[016789]|2|[3-6][1-5]|70|50[2-8])"
    phone_re = re.compile(
        r"(?<![0-9])(?:\(?"
        + area
        + r"\)?|(?:\+|00[125678]?[-. ]?)?82[-. ]?0?"
        + area[1:]
        + r")[-. /]?[0-9]{3,4}[-. /]?[0-9]{4}(?![0-9])"
    )
    email_re = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}")
    rrn_re = re.compile(r"(?<![0-9])[0-9]{6} ?-? ?[0-9]{7}(?![0-9])")
    card_re = re.compile(r"(?<![0-9])[0-9]{4}[- ]?[0-9]{4,6}[- ]?[0-9]{4,5}(?:[- ]?[0-9]{1,4})?(?![0-9])")
    nondigit = re.compile(r"[^0-9]")
    cands = hits = 0

    def check(id_type: str, canonical: str) -> int:
        msg = f"leakmon/v1/{id_type}/full".encode() + b"\x00" + canonical.encode()
        return hmac.new(key, msg, "sha256").hexdigest() in hex_set

    with path.open(encoding="utf-8") as fh:
        while True:
            chunk = fh.read(8 << 20)
            if not chunk:
                break
            chunk += fh.readline()
            for m in phone_re.findall(chunk):
                d = nondigit.sub("", m)
                if d.startswith("00"):
                    d = d[d.index("82") :]
                d = ("82" + d[2:].removeprefix("0")) if d.startswith("82") else "82" + d[1:]
                cands += 1
                hits += check("phone", d)
            for m in email_re.findall(chunk):
                local, _, domain = m.lower().rpartition("@")
                cands += 1
                hits += check("email", f"{local}@{'daum.net' if domain == 'hanmail.net' else domain}")
            for m in rrn_re.findall(chunk):
                cands += 1
                hits += check("rrn", nondigit.sub("", m))
            for m in card_re.findall(chunk):
                d = nondigit.sub("", m)
                if _luhn(d):
                    cands += 1
                    hits += check("card", d)
    return cands, hits


def _luhn(d: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(d)):
        n = int(c) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def scan_rows(matcher: Matcher, dump: Path, jobs: int) -> list[HitRow]:
    """The dump's finished hit rows as ``leakmon scan --jobs N`` matches a big line file: the workers
    read their own newline-aligned ranges (crawlers.parallel.ParallelScanner); no database."""
    scan = ParallelScanner(matcher, jobs).line_file(dump, dump.name, ReadLimits(), "bench", None)
    if scan is None:
        raise SystemExit(f"{dump} cannot be read in ranges")
    return [row for rows, _ in scan.rows for row in rows]


def timed(fn):  # type: ignore[no-untyped-def]
    """(result, wall seconds, CPU seconds of this process)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=100)
    ap.add_argument("--identifiers", type=int, default=1_000_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--obfuscated",
        type=float,
        default=0.01,
        help="share of phones written full-width, masked or letter-swapped (slow path)",
    )
    ap.add_argument("--hit-rate", type=float, default=0.01, help="share of rows holding a protected subject")
    ap.add_argument("--no-50m", action="store_true", help="skip the 50M-entry index projection")
    args = ap.parse_args()
    rng = random.Random(7)
    registry = IdentifierRegistry.default()
    hasher = KeyedHasher(KEY)
    tmp = Path(tempfile.mkdtemp(prefix="leakmon-bench-"))
    try:
        (people, keys, subs, count), t_set, _ = timed(lambda: build_set(args.identifiers, hasher, registry, rng))
        index, t_index, _ = timed(lambda: ProtectedIndex(keys, subs))
        print(
            f"protected set: {count:,} identifiers, {len(index):,} index entries (with partial forms), "
            f"hashed in {t_set:.1f} s, index built in {t_index:.2f} s"
        )
        full_only = ProtectedIndex(*_full_only(people, hasher))
        dump = tmp / "dump.csv"
        size = int(args.size_mb * 2**20)
        rows, t_dump, _ = timed(lambda: build_dump(dump, size, people, rng, args.hit_rate, args.obfuscated))
        mb = dump.stat().st_size / 2**20
        print(
            f"dump: {mb:.1f} MB, {rows:,} rows, {dump.stat().st_size / rows:.0f} B/row, "
            f"{args.hit_rate:.1%} rows protected, {args.obfuscated:.1%} phones obfuscated ({t_dump:.1f} s)"
        )
        print(
            f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs "
            "(wall-clock figures suffer when others use the cores; CPU-time figures less so)\n"
        )

        matcher = Matcher(hasher, index, registry)
        dump.read_bytes()  # warm the page cache
        cands = _count_candidates(matcher, dump)
        hits, w1, c1 = timed(lambda: scan_rows(matcher, dump, 1))
        print(
            f"leakmon 1 process : {mb / w1:6.1f} MB/s wall, {mb / c1:6.1f} MB/s CPU, "
            f"{cands / c1 / 1e3:5.0f}k candidates/s CPU, {len(hits):,} hit rows"
        )
        hex_set = {
            hasher.digest(t, c).hex() for p in people for t, c in (("phone", "82" + p[1][1:]), ("email", _email(p[2])))
        }
        (n_cands, n_hits), wn, cn = timed(lambda: naive_scan(dump, KEY, hex_set))
        print(
            f"naive baseline    : {mb / wn:6.1f} MB/s wall, {mb / cn:6.1f} MB/s CPU, "
            f"{n_cands / cn / 1e3:5.0f}k candidates/s CPU, {n_hits:,} exact hits "
            f"-> leakmon x{wn / w1:.2f} wall, x{cn / c1:.2f} CPU"
        )
        floor, wf, cf = timed(lambda: _bare_pipeline(matcher, dump))
        print(
            f"bare fast path    : {mb / wf:6.1f} MB/s wall, {mb / cf:6.1f} MB/s CPU (extract, canonicalize, hash, "
            f"look up only: no de-obfuscation, no hit explanations; {floor:,} index hits) = this machine's ceiling"
        )
        print(f"HMAC per digest   : {_hmac_cost(hasher) * 1e6:6.2f} us (precomputed pad states)")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        hits2, w2, parent_cpu = timed(lambda: scan_rows(matcher, dump, args.jobs))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        workers_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        total_cpu = workers_cpu + parent_cpu
        print(
            f"leakmon --jobs {args.jobs}  : {mb / w2:6.1f} MB/s wall, speedup x{w1 / w2:.2f} over 1 process (wall); "
            f"CPU {total_cpu:.1f} s vs {c1:.1f} s in 1 process -> projected x{args.jobs * c1 / total_cpu:.2f} on "
            f"{args.jobs} idle cores; {len(hits2):,} hit rows"
        )
        if shutil.which("grep"):
            pats = tmp / "plain.txt"
            pats.write_text("".join(f"{p[1][:3]}-{p[1][3:7]}-{p[1][7:]}\n{p[2]}\n" for p in people))
            _, wg, _ = timed(
                lambda: subprocess.run(
                    ["grep", "-c", "-F", "-f", str(pats), str(dump)], capture_output=True, check=False
                )
            )
            print(f"grep -F -f (plain): {mb / wg:6.1f} MB/s wall (plaintext, one written form, incl. compile)")

        print(
            f"\nindex: {index.nbytes / 2**20:.1f} MiB = {index.nbytes / count:.2f} B/identifier with partial "
            f"forms; full forms only {full_only.nbytes / len(full_only):.2f} B/identifier"
        )
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


def _bare_pipeline(matcher: Matcher, dump: Path) -> int:
    """The part of a scan every candidate pays for, and nothing else."""
    found = 0
    with dump.open("rb") as fh:
        while block := fh.read(8 << 20):
            block += fh.readline()
            found += len(matcher.hasher.scan(block, matcher.index.kernel_tiers)) // HIT.size  # the native kernel
            for pass_ in matcher._passes:  # the types without a native scanner
                raws = pass_.find_all(block)
                for rec, mine, _ in pass_.split(raws):
                    canon, _ = rec.valid_canonicals(mine)
                    found += len(matcher.lookup(matcher.hasher.digest_many(rec.domain, canon)))
    return found


def _hmac_cost(hasher: KeyedHasher, n: int = 200_000) -> float:
    values = [b"8210%08d" % i for i in range(n)]
    start = time.process_time()
    hasher.digest_many("phone", values)
    return (time.process_time() - start) / n


def _count_candidates(matcher: Matcher, dump: Path) -> int:
    data = dump.read_bytes()[: 16 << 20]
    n = sum(len(p.find_all(data)) for p in build_passes(matcher.registry.recognizers()))
    return int(n * dump.stat().st_size / max(len(data), 1))


def _project_50m() -> None:
    n = 50_000_000
    rng = np.random.default_rng(1)
    keys = np.sort(rng.integers(0, 2**63, n, dtype=np.uint64))
    subs = rng.integers(0, 2**31, n, dtype=np.uint32)
    c0 = time.process_time()
    index = ProtectedIndex(keys, subs, presorted=True)
    t = time.process_time() - c0
    del keys, subs
    q = rng.integers(0, 2**63, 1_000_000, dtype=np.uint64)
    _, _, tq = timed(lambda: index.lookup(q))
    print(
        f"50M full-form entries: {index.nbytes / 2**20:.0f} MiB = {index.nbytes / n:.2f} B/identifier "
        f"(built from sorted arrays in {t:.1f} s CPU; 1M-query batch lookup {1 / tq:.1f}M/s CPU)"
    )


if __name__ == "__main__":
    main()
