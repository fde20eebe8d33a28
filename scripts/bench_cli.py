"""End-to-end benchmark: the real `leakmon` commands on the scan benchmark's synthetic world.

    python scripts/bench_cli.py [--size-mb 100] [--identifiers 1000000]

`protect import`, then `leakmon scan` twice (the first run builds the index cache from the
database, the second loads it), each a fresh process as a user would run it: start-up, index,
reading, matching, confirming in the database, storing hits and writing JSONL all count.
Nothing here is asserted: speed is measured, not tested.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scan import build_dump, person


def leakmon(home: Path, *args: str) -> float:
    """Run one command in ``home``; wall seconds."""
    env = {**os.environ, "LEAKMON_HOME": str(home)}
    for name in ("LEAKMON_CONFIG", "LEAKMON_DATABASE_URL", "LEAKMON_KEY_FILE"):
        env.pop(name, None)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "leakmon", *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100)
    parser.add_argument("--identifiers", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="leakmon-bench-cli-") as tmp:
        root = Path(tmp)
        people = [person(rng, i) for i in range(args.identifiers // 3 + 1)]
        protected = root / "set.csv"
        with protected.open("w", encoding="utf-8") as out:
            out.write("subject_ref,name,phone,email\n")
            out.writelines(f"s{i},{name},{phone},{email}\n" for i, (name, phone, email) in enumerate(people))
        dump = root / "dump.csv"
        build_dump(dump, int(args.size_mb * 2**20), people, rng, 0.01, 0.01)
        mb = dump.stat().st_size / 2**20
        home = root / "ws"
        leakmon(home, "init")
        identifiers = 3 * len(people)
        seconds = leakmon(home, "protect", "import", str(protected), "--jobs", str(args.jobs))
        rate = identifiers / seconds
        print(f"leakmon protect import --jobs {args.jobs}: {rate:,.0f} identifiers/s ({seconds:.1f} s)")
        for label in ("first run (builds the index cache)", "second run (cached index)"):
            output = root / "hits.jsonl"
            seconds = leakmon(home, "scan", str(dump), "--format", "jsonl", "--output", str(output))
            hits = sum(1 for _ in output.open(encoding="utf-8"))
            print(f"leakmon scan, {label}: {mb / seconds:5.1f} MB/s ({mb:.0f} MB in {seconds:.1f} s, {hits:,} hits)")
        seconds = leakmon(
            home, "scan", str(dump), "--no-store", "--jobs", str(args.jobs), "--format", "jsonl", "--output", os.devnull
        )
        print(f"leakmon scan --no-store --jobs {args.jobs}: {mb / seconds:5.1f} MB/s")


if __name__ == "__main__":
    main()
