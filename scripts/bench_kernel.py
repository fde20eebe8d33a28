"""Side by side in one run on the shared benchmark dump (../shared/bench, gen_dump.py 100) with 1M
protected identifiers (500k subjects, phone + e-mail): the native kernel alone, `leakmon scan
--no-store --jobs 2`, `leakmon scan --jobs 2` (storing hits), naive Python and the best pure-Python
pipeline (shared/bench/e2e_bench.py), and `grep -F -f` over 1M plaintext phones, with ratios and the
machine's load average beside every figure (the machine is shared: figures are noisy).

A second table scans the dump's rows as one file per format (CSV with quoted fields, TSV, JSON
lines, SQL INSERTs, free text; each cycled to the dump's size; ``dump``: the dump itself) with
--jobs 1 and --jobs N, alternated --repeat times: CPU seconds of the parent (in brackets its serial
part: outside its worker pools, i.e. start-up before the workers start and the output after they
end) and of the workers, the wall ratio, and "x crit": --jobs 1's CPU over --jobs N's critical
path on N idle cores (the serial part, then the rest of the parent's and the workers' CPU spread
over N cores): what the wall ratio would be on an idle machine.

    python scripts/bench_kernel.py [--size-mb 100] [--jobs 2] [--shared ../shared/bench]
        [--formats csv,tsv,jsonl,sql,text,dump] [--repeat 2]

Nothing is asserted: speed is measured, not tested.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from matchers.engine import iter_blocks
from matchers.index import ProtectedIndex, key_width, table_bits
from matchers.keyed_hash import KeyedHasher
from matchers.protect import protected_forms

ROOT = Path(__file__).resolve().parent.parent
SUBJECTS = 500_000


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (user + system)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(run: Callable[[], object]) -> tuple[float, float, str]:
    """(wall s, CPU s of this process and the children it ran, load average at the end) of one run.

    On a shared machine the wall time mostly measures the other tenants; the CPU time is what the
    work itself cost (with --jobs 2 it adds both workers)."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    run()
    return time.perf_counter() - wall, cpu_seconds() - cpu, load()


def shared_data(shared: Path, size_mb: int) -> tuple[Path, Path]:
    data = Path(os.environ.get("LEAKBENCH_DIR", "/tmp/leakbench"))  # noqa: S108 - the shared generator's folder
    dump, ids = data / f"dump_{size_mb}M.csv", data / "ids_1M.txt"
    for path, args in ((dump, [str(size_mb)]), (ids, ["1", "--kind=ids"])):
        if not path.exists():
            subprocess.run([sys.executable, str(shared / "gen_dump.py"), *args], check=True, cwd=shared)
    return dump, ids


def protected_values(shared: Path) -> list[tuple[str, str]]:
    sys.path.insert(0, str(shared))
    from common import email_of, pphone  # the shared generator's protected set

    return [(f"010{pphone(i):08d}", email_of(i)) for i in range(SUBJECTS)]


def index_memory(index: ProtectedIndex, identifiers: int) -> str:
    """The in-memory index's size per identifier, and what it is made of."""
    parts = {name: array.nbytes for name, array in index.tiers.items()}
    widths = "/".join(str(key_width(table_bits(radix))) for radix in index.kernel_tiers[1::2])

    def per(*names: str) -> str:
        return f"{sum(parts[name] for name in names) / identifiers:.3f}"

    return (
        f"index in memory: {index.nbytes / 2**20:.1f} MiB = {index.nbytes / identifiers:.3f} B/identifier "
        f"({identifiers:,}): keys {per('flat_keys', 'group_keys')} ({widths}-byte, flat/grouped), "
        f"subject ids {per('flat_subjects', 'group_subjects')}, radix tables {per('flat_radix', 'group_radix')}, "
        f"group offsets {per('group_offsets')}"
    )


def kernel_alone(dump: Path, people: list[tuple[str, str]]) -> tuple[float, float, str, int]:
    """The kernel over the dump in 8 MiB blocks (index in memory, no Python per candidate)."""
    hasher = KeyedHasher(os.urandom(32))
    phones = [protected_forms("phone", p, partial=False)[0][1] for p, _ in people]
    emails = [protected_forms("email", e, partial=False)[0][1] for _, e in people]
    joined = hasher.joined_digests("phone", phones) + hasher.joined_digests("email", emails)
    prefixes = np.frombuffer(joined, dtype=">u8")[::4].astype(np.uint64)
    index = ProtectedIndex(prefixes, np.tile(np.arange(SUBJECTS, dtype=np.uint32), 2))
    print(index_memory(index, len(prefixes)))
    blocks = [block for block, _ in iter_blocks(dump.read_bytes(), 8 << 20)]
    found = 0

    def run() -> None:
        nonlocal found
        found = sum(len(hasher.scan(b, index.kernel_tiers)) // 64 for b in blocks)

    wall, cpu, at = timed(run)
    return wall, cpu, at, found


#: ``python -m leakmon`` that also prints, at exit, the CPU seconds of the process itself and of its
#: worker processes (``--jobs N``), and the process's own CPU seconds when its first worker pool
#: started and when its last one ended: where the time of a parallel scan goes.
SPLIT_RUNNER = (
    "import atexit, contextlib, resource, sys\n"
    "def _cpu(who=resource.RUSAGE_SELF):\n"
    "    used = resource.getrusage(who)\n"
    "    return used.ru_utime + used.ru_stime\n"
    "_pools = []\n"
    "def _split():\n"
    "    marks = f' {_pools[0]:.3f} {_pools[-1]:.3f}' if _pools else ''\n"
    "    print(f'cpu-split {_cpu():.3f} {_cpu(resource.RUSAGE_CHILDREN):.3f}{marks}', file=sys.stderr)\n"
    "atexit.register(_split)\n"
    "import crawlers.parallel as _parallel\n"
    "_real = _parallel._pool\n"
    "@contextlib.contextmanager\n"
    "def _pool(*args, **kwargs):\n"
    "    _pools.append(_cpu())\n"
    "    try:\n"
    "        with _real(*args, **kwargs) as pool:\n"
    "            yield pool\n"
    "    finally:\n"
    "        _pools.append(_cpu())\n"
    "_parallel._pool = _pool\n"
    "from leakmon.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


class Leakmon:
    """One ``leakmon`` command, run as a user runs it; ``split`` is (parent, workers) CPU s of the last
    run and ``serial`` the parent's CPU s outside its worker pools (all of it without one)."""

    def __init__(self, home: Path, *args: str) -> None:
        self.env = {**os.environ, "LEAKMON_HOME": str(home)}
        # As a user runs it: cached bytecode (a session that forbids .pyc files compiles every module per run).
        for name in ("LEAKMON_CONFIG", "LEAKMON_DATABASE_URL", "LEAKMON_KEY_FILE", "PYTHONDONTWRITEBYTECODE"):
            self.env.pop(name, None)
        self.args = args
        self.split = (0.0, 0.0)
        self.serial = 0.0

    def __call__(self) -> None:
        # From this checkout's root: `python -c` imports from the working directory first, so a bench
        # started elsewhere (another worktree) would measure that directory's code.
        proc = subprocess.run(
            [sys.executable, "-c", SPLIT_RUNNER, *self.args],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        for line in proc.stderr.splitlines():
            if line.startswith("cpu-split "):
                own, kids, *pools = map(float, line.split()[1:])
                self.split = (own, kids)
                self.serial = pools[0] + own - pools[1] if pools else own

    def critical(self, cores: int) -> float:
        """CPU-normalized critical path on ``cores`` idle cores: the serial part, then the rest shared."""
        own, kids = self.split
        return self.serial + (own - self.serial + kids) / cores


def leakmon(home: Path, *args: str) -> Leakmon:
    return Leakmon(home, *args)


def e2e(shared: Path, size_mb: int, only: str) -> float | None:
    """MB/s of one shared/bench/e2e_bench.py pipeline (None if it did not run)."""
    proc = subprocess.run(
        [sys.executable, "e2e_bench.py", str(size_mb), "--n=1", "--reps=1", f"--only={only}"],
        cwd=shared,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) > 2 and only.split("|")[0] in cells[0]:
            return float(cells[2].replace(",", ""))
    print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
    return None


def _csvish(line: str) -> bool:
    return not line.startswith(("INSERT", "{", "["))


def _tsv(line: str) -> str:
    return "\t".join(next(csv.reader([line]))) + "\n"


def _text(line: str) -> str:
    """A CSV-like row or a log line as free text: fields joined by spaces, no quotes."""
    if line.startswith("["):
        return line
    return " ".join(next(csv.reader([line]))) + "\n"


#: How each format file is made from the dump's lines: (file name, header, which lines, how to write one).
FORMATS: dict[str, tuple[str, str, Callable[[str], bool], Callable[[str], str] | None]] = {
    "csv": ("rows.csv", "이름,전화번호,이메일,주소,주민번호\n", _csvish, None),
    "tsv": ("rows.tsv", "이름\t전화번호\t이메일\t주소\t주민번호\n", _csvish, _tsv),
    "jsonl": ("rows.jsonl", "", lambda line: line.startswith("{"), None),
    "sql": (
        "rows.sql",
        "CREATE TABLE `members` (\n  `id` int,\n  `name` varchar(20),\n  `phone` varchar(20),\n"
        "  `email` varchar(80),\n  `address` text,\n  `joined` datetime\n);\n",
        lambda line: line.startswith("INSERT"),
        None,
    ),
    "text": ("rows.txt", "", lambda line: not line.startswith(("INSERT", "{")), _text),
}


def format_file(dump: Path, folder: Path, fmt: str) -> Path:
    """The dump's lines of one format, cycled until the file is as big as the dump."""
    name, header, keep, write = FORMATS[fmt]
    with dump.open(encoding="utf-8") as lines:
        rows = [line if write is None else write(line) for line in lines if keep(line)]
    path, target = folder / name, dump.stat().st_size
    with path.open("w", encoding="utf-8") as out:
        size = out.write(header)
        while size < target:
            for row in rows:
                size += len(row.encode())
                out.write(row)
                if size >= target:
                    break
    return path


def per_format(home: Path, dump: Path, folder: Path, jobs: str, formats: list[str], repeat: int = 2) -> None:
    """--jobs 1 and --jobs N per format file, alternated ``repeat`` times: wall, CPU split, wall ratio
    and the ratio CPU allows (a row per pair of runs)."""
    tiny = folder / "one.txt"
    tiny.write_text("010-0000-0000\n", encoding="utf-8")
    startup = leakmon(
        home, "scan", str(tiny), "--no-store", "--format", "jsonl", "--output", os.devnull, "--jobs", jobs
    )
    startup()
    print(f"\nper format, scan --no-store (start-up: {startup.split[0]:.2f} CPU s on a one-line file)")
    print(
        "| format | MB  | jobs 1 MB/s | CPU s | jobs N MB/s | parent CPU s (serial) | workers CPU s | x wall "
        "| x crit | load"
    )
    for fmt in formats:
        path = format_file(dump, folder, fmt) if fmt != "dump" else dump
        mb = path.stat().st_size / 1e6
        args = ("scan", str(path), "--no-store", "--format", "jsonl", "--output", os.devnull, "--jobs")
        for _ in range(repeat):
            one = leakmon(home, *args, "1")
            wall1, _, _ = timed(one)
            many = leakmon(home, *args, jobs)
            wall2, _, at = timed(many)
            parent, workers = many.split
            cpu1 = one.split[0]
            # x crit: --jobs 1's CPU over --jobs N's critical path on N idle cores (what wall gives idle)
            print(
                f"| {fmt:6} | {mb:3.0f} | {mb / wall1:11.1f} | {cpu1:5.2f} | {mb / wall2:11.1f} "
                f"| {parent:5.2f} ({many.serial:4.2f}){'':10} | {workers:13.2f} | {wall1 / wall2:6.2f} "
                f"| {cpu1 / many.critical(int(jobs)):6.2f} | {at}"
            )
        if path != dump:
            path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--shared", type=Path, help="the shared bench folder (default: ../shared/bench)")
    parser.add_argument(
        "--formats", default="csv,tsv,jsonl,sql,text", help="per-format files to scan ('' for none; 'dump': the dump)"
    )
    parser.add_argument("--repeat", type=int, default=2, help="--jobs 1 / --jobs N pairs per format, alternated")
    args = parser.parse_args()
    near = [up / "shared" / "bench" for up in (ROOT.parent, ROOT.parent.parent)]  # a clone or a worktree
    shared = (args.shared or next((p for p in near if p.is_dir()), near[0])).resolve()
    if not (shared / "gen_dump.py").exists():
        print(f"bench_kernel: the shared benchmark folder {shared} is missing: skipped")
        return
    dump, ids = shared_data(shared, args.size_mb)
    mb = dump.stat().st_size / 1e6
    people = protected_values(shared)
    rows: list[tuple[str, float, float | None, str, str]] = []  # label, wall MB/s, CPU MB/s, load, note

    wall, cpu, at, found = kernel_alone(dump, people)
    rows.append(("kernel alone, one core", mb / wall, mb / cpu, at, f"{found:,} records (hits, spaced phones)"))
    with tempfile.TemporaryDirectory(prefix="leakmon-bench-kernel-") as tmp:
        home = Path(tmp) / "ws"
        leakmon(home, "init")()
        protected = Path(tmp) / "set.csv"
        with protected.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["subject_ref", "phone", "email"])
            writer.writerows((f"s{i}", p, e) for i, (p, e) in enumerate(people))
        wall, _, at = timed(leakmon(home, "protect", "import", str(protected), "--jobs", str(args.jobs)))
        print(f"protect import (1M identifiers + mask forms, SQLite): {2 * SUBJECTS / wall:,.0f} ids/s, load {at}")
        leakmon(home, "scan", str(ids), "--no-store", "--format", "jsonl", "--output", os.devnull)()  # index cache
        jobs = str(args.jobs)
        scan = ("scan", str(dump), "--format", "jsonl", "--output")
        wall1, cpu, at = timed(leakmon(home, *scan, os.devnull, "--no-store", "--jobs", "1"))
        rows.append(("leakmon scan --no-store --jobs 1", mb / wall1, mb / cpu, at, f"end to end, {cpu:.1f} CPU s"))
        run = leakmon(home, *scan, os.devnull, "--no-store", "--jobs", jobs)
        wall, cpu, at = timed(run)
        note = f"wall {wall1 / wall:.2f}x --jobs 1; CPU s: parent {run.split[0]:.1f}, workers {run.split[1]:.1f}"
        rows.append((f"leakmon scan --no-store --jobs {jobs}", mb / wall, mb / cpu, at, note))
        hits = Path(tmp) / "hits.jsonl"
        run = leakmon(home, *scan, str(hits), "--jobs", jobs)
        wall, cpu, at = timed(run)
        stored = sum(1 for _ in hits.open(encoding="utf-8"))
        note = f"{stored:,} hits stored; CPU s: parent {run.split[0]:.1f}, workers {run.split[1]:.1f}"
        rows.append((f"leakmon scan --jobs {jobs} (storing)", mb / wall, mb / cpu, at, note))
        formats = [name for name in args.formats.split(",") if name]
        if formats:
            per_format(home, dump, Path(tmp), jobs, formats, args.repeat)
    for label, only in (
        ("naive Python (e2e_bench.py)", "naive"),
        ("best pure-Python pipeline (e2e_bench.py)", "pyre2 chunks, HMAC-SHA256 (pads), numpy"),
    ):
        rate = e2e(shared, args.size_mb, only)
        if rate is not None:
            rows.append((label, rate, None, load(), "one core, wall only (its own table)"))
    grep = lambda: subprocess.run(["grep", "-c", "-F", "-f", str(ids), str(dump)], capture_output=True, check=False)  # noqa: E731
    wall, cpu, at = timed(grep)
    rows.append(("grep -F -f (1M plaintext phones)", mb / wall, mb / cpu, at, "no normalization, no hashing"))

    grep_wall, grep_cpu = rows[-1][1], rows[-1][2] or 1.0
    print(f"\n{dump.name} ({mb:.0f} MB), {2 * SUBJECTS:,} protected identifiers, {os.cpu_count()} cores")
    print(f"| {'':36} | wall MB/s | x grep | CPU MB/s | x grep | load | note")
    for label, rate, cpu_rate, at, note in rows:
        cpu_cells = f"{cpu_rate:8.1f} | {cpu_rate / grep_cpu:6.2f}" if cpu_rate else f"{'':8} | {'':6}"
        print(f"| {label:36} | {rate:9.1f} | {rate / grep_wall:6.2f} | {cpu_cells} | {at:>4} | {note}")


if __name__ == "__main__":
    main()
