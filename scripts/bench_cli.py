"""End-to-end benchmark: the real `leakmon` commands on the scan benchmark's synthetic world.

    python scripts/bench_cli.py [--size-mb 100] [--identifiers 1000000]
    python scripts/bench_cli.py --startup [--identifiers 10000000] [--workspace DIR]

`protect import`, then `leakmon scan` twice (the first run builds the index cache from the
database, the second loads it), each a fresh process as a user would run it: start-up, index,
reading, matching, confirming in the database, storing hits and writing JSONL all count.

``--startup`` measures start-up alone: `leakmon --help`, `leakmon scan --help` and
`leakmon scan --no-store` on a one-line file against a cached index of ``--identifiers`` entries
(issue target: at most 1 s at 10M), with the modules each imports and the index load on its own.
``--workspace`` keeps (and reuses) the workspace, whose set takes minutes to import at 10M.
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


def cpu_seconds() -> float:
    """CPU time (user + system) of the children this process ran and waited for."""
    t = os.times()
    return t.children_user + t.children_system


def timed_runs(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """The fastest wall and CPU seconds of ``runs`` fresh processes (the minimum is the least noisy)."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), cpu_seconds()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - wall)
        cpus.append(cpu_seconds() - cpu)
    return min(walls), min(cpus)


MODULES = "import runpy, sys; sys.argv = ['leakmon', *sys.argv[1:]]; import atexit; atexit.register(lambda: print(len(sys.modules), file=sys.__stderr__)); runpy.run_module('leakmon', run_name='__main__')"  # noqa: E501

INDEX_LOAD = """
import os, time, sys
from leakmon.app import App
from leakmon.index_cache import load_index_tiers
from leakmon.runtime import build_hasher
app = App()
hasher = build_hasher(app)
cpu, wall = time.process_time(), time.perf_counter()
with app.sessions() as session:
    tiers, types = load_index_tiers(session, hasher.key_id, app.settings.home)
print(f"{time.perf_counter() - wall:.3f} {time.process_time() - cpu:.3f} {sum(a.nbytes for a in tiers.values())}")
"""


def write_set(path: Path, identifiers: int) -> None:
    """Phones and e-mails of ``identifiers // 2`` synthetic subjects (nobody real)."""
    rng = random.Random(5)
    with path.open("w", encoding="utf-8") as out:
        out.write("subject_ref,phone,email\n")
        for i in range(identifiers // 2):
            out.write(f"s{i:09d},010{rng.randrange(10**8):08d},user{i}.{rng.randrange(999)}@naver.com\n")


def startup(identifiers: int, workspace: Path | None, runs: int) -> None:
    """Start-up figures against a cached index of ``identifiers`` entries (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="leakmon-bench-startup-") as tmp:
        root = workspace or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        home = root / f"ws-{identifiers}"
        tiny = root / "tiny.txt"
        tiny.write_text("nothing to see here, 010-0000-0000\n", encoding="utf-8")
        env = {**os.environ, "LEAKMON_HOME": str(home)}
        for name in ("LEAKMON_CONFIG", "LEAKMON_DATABASE_URL", "LEAKMON_KEY_FILE", "PYTHONDONTWRITEBYTECODE"):
            env.pop(name, None)
        if not (home / "ready").exists():
            protected = root / "set.csv"
            write_set(protected, identifiers)
            leakmon(home, "init")
            seconds = leakmon(home, "protect", "import", str(protected), "--jobs", "2")
            print(f"protect import of {identifiers:,} identifiers: {seconds:.0f} s")
            protected.unlink()
            (home / "ready").touch()
        scan = ["scan", str(tiny), "--no-store", "--format", "jsonl", "--output", os.devnull]
        leakmon(home, *scan)  # builds the index cache when the set changed
        python = [sys.executable, "-m", "leakmon"]
        print(f"start-up, fastest of {runs} fresh processes, {os.cpu_count()} cores")
        print(f"| {'command':44} | wall s | CPU s | modules | load")
        for label, args in (
            ("python -c pass", None),
            ("python -c 'import leakmon.cli'", ["-c", "import leakmon.cli"]),
            ("leakmon --help", ["--help"]),
            ("leakmon scan --help", ["scan", "--help"]),
            (f"leakmon scan --no-store (one line, {identifiers:,} cached)", scan),
        ):
            if args is None:
                argv = [sys.executable, "-c", "pass"]
                count = "-"
            elif args[0] == "-c":
                argv = [sys.executable, *args]
                probe = subprocess.run(
                    [sys.executable, "-c", "import sys, leakmon.cli; print(len(sys.modules))"],
                    env=env, check=True, capture_output=True, text=True,
                )  # fmt: skip
                count = probe.stdout.strip()
            else:
                argv = [*python, *args]
                probe = subprocess.run(
                    [sys.executable, "-c", MODULES, *args], env=env, check=True, capture_output=True, text=True
                )
                count = probe.stderr.strip().splitlines()[-1]
            wall, cpu = timed_runs(argv, env, runs)
            print(f"| {label:44} | {wall:6.2f} | {cpu:5.2f} | {count:>7} | {os.getloadavg()[0]:.1f}")
        loads = [
            subprocess.run([sys.executable, "-c", INDEX_LOAD], env=env, check=True, capture_output=True, text=True)
            for _ in range(runs)
        ]
        wall_s, cpu_s, size = min(tuple(map(float, p.stdout.split())) for p in loads)
        print(f"index load alone (cached, in-process): {wall_s:.2f} s wall, {cpu_s:.2f} s CPU, {size / 2**20:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100)
    parser.add_argument("--identifiers", type=int, default=None, help="default 1M (10M with --startup)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--startup", action="store_true", help="measure start-up only (see above)")
    parser.add_argument("--workspace", type=Path, help="with --startup: keep and reuse the workspace here")
    parser.add_argument("--runs", type=int, default=5, help="with --startup: fresh processes per figure")
    args = parser.parse_args()
    if args.startup:
        startup(args.identifiers or 10_000_000, args.workspace, args.runs)
        return
    args.identifiers = args.identifiers or 1_000_000
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
