"""Matcher micro-benchmark on a mass-breach dump (issue 12): hits per CPU second of ``Matcher.iter_hits``.

    python scripts/bench_matchhits.py [--users 20000] [--repeat 3] [--profile 25]

Every row of the dump is a protected subject (name, phone, e-mail, address, as
scripts/bench_massbreach.py writes it: three hits per row), so the figure is the per-hit cost of
matching: kernel, address pass, records (weak evidence, composites, context, headers) and ``Hit``
building. The index is built in this process from the same people (full and mask forms). Figures
are this process's CPU time (``os.times``) with the load average beside them; nothing is asserted.
``--profile N`` prints the N most expensive functions (cProfile, cumulative) of one more pass.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_massbreach import person  # noqa: E402

from matchers.engine import Matcher  # noqa: E402
from matchers.index import ProtectedIndex  # noqa: E402
from matchers.keyed_hash import KeyedHasher  # noqa: E402
from matchers.protect import protected_forms  # noqa: E402
from matchers.registry import IdentifierRegistry  # noqa: E402

KEY = b"bench-key-not-a-secret-0123456789"
COLUMNS = ("이름", "전화번호", "이메일", "주소")
TYPES = ("name", "phone", "email", "address")


def build_matcher(users: int) -> Matcher:
    """A Matcher over the protected set of ``users`` people (every form ``protect import`` stores)."""
    hasher = KeyedHasher(KEY)
    registry = IdentifierRegistry.default()
    grouped: dict[tuple[str, str], tuple[list[str], list[int]]] = {}
    for sid in range(users):
        for id_type, value in zip(TYPES, person(sid)[1:], strict=True):
            for form, canonical in protected_forms(id_type, value, registry):
                values, subjects = grouped.setdefault((id_type, form), ([], []))
                values.append(canonical)
                subjects.append(sid + 1)
    prefixes: list[np.ndarray] = []
    subject_ids: list[int] = []
    for (id_type, form), (values, subjects) in grouped.items():
        joined = hasher.joined_digests(id_type, values, form)
        prefixes.append(np.frombuffer(joined, dtype=">u8")[::4].astype(np.uint64))
        subject_ids += subjects
    index = ProtectedIndex(np.concatenate(prefixes), np.array(subject_ids, dtype=np.uint32))
    return Matcher(hasher, index, registry)


def dump(users: int) -> bytes:
    return "".join(",".join(person(i)[1:]) + "\n" for i in range(users)).encode()


def run(matcher: Matcher, data: bytes) -> int:
    return sum(len(batch) for batch in matcher.iter_hits(data, columns=COLUMNS, delimiter=","))


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    matcher = build_matcher(args.users)
    data = dump(args.users)
    hits = run(matcher, data)  # warm-up (lazy compiles, caches of the first block)
    best = float("inf")
    for _ in range(args.repeat):
        start = cpu()
        run(matcher, data)
        best = min(best, cpu() - start)
    print(
        f"iter_hits, mass breach: {args.users:,} rows, {len(data) / 2**20:.1f} MB, {hits:,} hits: "
        f"{hits / best:,.0f} hits/s ({best:.2f} s CPU, best of {args.repeat}; "
        f"{args.users / best:,.0f} rows/s; load {os.getloadavg()[0]:.1f})"
    )
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(run, matcher, data)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
