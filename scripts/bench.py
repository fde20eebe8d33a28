"""`make bench`: every benchmark, one after the other, printing figures (never asserting them).

Each benchmark is a script of its own that can be run alone with more options:
- scripts/bench_kernel.py  side by side on the shared dump: kernel alone, leakmon scan (--no-store and
                           storing), naive and best pure-Python pipelines, grep -F -f, with load average
- scripts/bench_scan.py    matcher throughput vs a naive baseline and grep -F -f; index memory
- scripts/bench_import.py  protect import rate into SQLite (and PostgreSQL with --pg URL)
- scripts/bench_files.py   leaked-file reader throughput (CSV, zip, xlsx) and peak memory
- scripts/bench_cli.py     the real commands end to end: protect import, then leakmon scan
- scripts/bench_massbreach.py  a dump of our own users: scan+store, hits/s, export affected, 20 MB
                               one-line JSON; SQLite and PostgreSQL (LEAKMON_TEST_PG) side by side
- scripts/bench_matchhits.py   Matcher.iter_hits alone on such a dump: hits per CPU second (--profile N)
- scripts/bench_firstseen.py   the first-sighting fold of a repeat breach (the same N people from a
                               second source): CPU and peak RSS; SQLite and PostgreSQL (LEAKMON_TEST_PG)

Pass ``--full`` for the issue-size runs (100 MB dump, 10M identifiers, 1 GB CSV): slow.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

QUICK = {
    "bench_kernel.py": [],
    "bench_scan.py": [],
    "bench_import.py": ["--identifiers", "1000000"],
    "bench_files.py": [],
    "bench_cli.py": [],
    "bench_massbreach.py": ["--rows", "100000"],
    "bench_matchhits.py": ["--users", "20000"],
    "bench_firstseen.py": ["--rows", "100000", "--repeat", "1"],
}
FULL = {
    "bench_kernel.py": [],
    "bench_scan.py": ["--size-mb", "100"],
    "bench_import.py": ["--identifiers", "10000000"],
    "bench_files.py": ["--full"],
    "bench_cli.py": ["--size-mb", "100"],
    "bench_massbreach.py": ["--rows", "1000000"],
    "bench_matchhits.py": ["--users", "100000"],
    "bench_firstseen.py": ["--rows", "1000000", "--repeat", "1"],
}


def main() -> int:
    plan = FULL if "--full" in sys.argv[1:] else QUICK
    failures = 0
    for script, args in plan.items():
        path = HERE / script
        if not path.exists():
            print(f"== {script}: not present, skipped")
            continue
        print(f"== {script} {' '.join(args)}", flush=True)
        failures += subprocess.run([sys.executable, str(path), *args], check=False).returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
