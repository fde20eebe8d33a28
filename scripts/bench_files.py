"""Leaked-file reader benchmark: MB/s and peak RSS for a big CSV, a zip of it, an xlsx, and a zip bomb.

    python scripts/bench_files.py [--csv-mb 100] [--xlsx-rows 50000] [--bomb-mb 1100] [--full]
        [--formats-from /tmp/leakbench/dump_100M.csv]

``--full`` reads a 1 GB CSV (and its zip) and a 200k-row xlsx. Each case runs in a fresh child process, so the peak RSS
printed is that case's own (``ru_maxrss``, including the interpreter and imports). Files are
synthetic and generated in a temporary directory. Speed is measured here, never asserted in tests.
``--formats-from DUMP`` adds a CSV, a JSON-lines file and a SQL dump made of DUMP's rows of each kind
(as ``bench_kernel.py --formats`` makes them, each as big as DUMP): the per-record readers' cost.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawlers.files import ReadLimits, read_path
from crawlers.model import TextBlock

MiB = 1 << 20
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = "민서준지현우예도하윤수영진호성은재경태혜철희"
DOMAINS = ["naver.com", "gmail.com", "daum.net", "hanmail.net", "kakao.com", "nate.com"]
CITIES = [
    "서울특별시 강남구 테헤란로",
    "경기도 성남시 분당구 판교역로",
    "부산광역시 해운대구 센텀로",
    "인천광역시 연수구",
]


def _rows(rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        phone = f"010-{rng.randrange(10000):04d}-{rng.randrange(10000):04d}"
        email = f"user{rng.randrange(10**7)}@{rng.choice(DOMAINS)}"
        address = f"{rng.choice(CITIES)} {rng.randrange(1, 300)}"
        out.append(f"{name},{phone},{email},{address},{rng.randrange(10**6)}\n")
    return out


def make_csv(path: Path, size: int) -> None:
    """A dense synthetic dump: header + rows (~90 B each) until ``size`` bytes."""
    rng = random.Random(7)
    pool = _rows(rng, 20_000)
    with path.open("wb") as handle:
        written = handle.write("이름,전화번호,이메일,주소,회원번호\n".encode())
        while written < size:
            rng.shuffle(pool)
            written += handle.write("".join(pool).encode())


def make_zip(source: Path, path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.write(source, "dump/users.csv")


def make_xlsx(path: Path, rows: int) -> None:
    import xlsxwriter

    rng = random.Random(11)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False})
    sheet = workbook.add_worksheet("회원")
    sheet.write_row(0, 0, ["이름", "전화번호", "이메일", "주소", "회원번호"])
    for index, line in enumerate(_rows(rng, rows), start=1):
        sheet.write_row(index, 0, line.rstrip("\n").split(","))
    workbook.close()


def make_bomb(path: Path, size: int) -> None:
    """A zip whose one member expands to ``size`` bytes of newline-aligned text."""
    line = b"0" * 99 + b"\n"
    chunk = line * (MiB // len(line))
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("bomb.txt", "w", force_zip64=True) as member,
    ):
        written = 0
        while written < size:
            member.write(chunk)
            written += len(chunk)


def run_case(path: Path, limits: ReadLimits) -> dict[str, object]:
    """Read ``path`` fully; the figures this child reports."""
    started = time.perf_counter()
    cpu_started = time.process_time()
    chars = 0
    reading = read_path(path, limits=limits)
    for item in reading:
        if isinstance(item, TextBlock):
            chars += len(item.text)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    report = reading.report
    return {
        "file_mb": path.stat().st_size / MiB,
        "expanded_mb": report.expanded_bytes / MiB,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "lines": report.lines,
        "status": report.status,
        "findings": sorted({finding.kind for finding in report.findings}),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def child(case: str, path: Path) -> None:
    limits = ReadLimits()
    if case == "bomb-uncapped":  # ratio cap off: the whole bomb streams through, memory must stay flat
        limits = ReadLimits(max_ratio=1e9, max_total_bytes=8 << 30)
    print(json.dumps(run_case(path, limits)))


def measure(case: str, path: Path) -> dict[str, object]:
    command = [sys.executable, __file__, "--child", case, str(path)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, object] = json.loads(output)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv-mb", type=int, default=100, help="size of the synthetic CSV (default 100)")
    parser.add_argument("--xlsx-rows", type=int, default=50_000, help="rows in the xlsx (default 50000)")
    parser.add_argument("--bomb-mb", type=int, default=1100, help="what the zip bomb expands to (default 1100)")
    parser.add_argument("--full", action="store_true", help="1 GB CSV and 200k xlsx rows (overrides both)")
    parser.add_argument("--formats-from", type=Path, help="also read csv/jsonl/sql files made of this dump's rows")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    csv_mb = 1024 if args.full else args.csv_mb
    xlsx_rows = 200_000 if args.full else args.xlsx_rows
    workdir = Path(tempfile.mkdtemp(prefix="bench_files_"))
    try:
        print(f"generating: {csv_mb} MB csv, its zip, {xlsx_rows} xlsx rows, {args.bomb_mb} MB bomb ...")
        started = time.perf_counter()
        csv_path, zip_path = workdir / "users.csv", workdir / "users.zip"
        xlsx_path, bomb_path = workdir / "users.xlsx", workdir / "bomb.zip"
        make_csv(csv_path, csv_mb * MiB)
        make_zip(csv_path, zip_path)
        make_xlsx(xlsx_path, xlsx_rows)
        make_bomb(bomb_path, args.bomb_mb * MiB)
        cases = [
            ("csv", csv_path),
            ("zip", zip_path),
            ("xlsx", xlsx_path),
            ("bomb-default-limits", bomb_path),
            ("bomb-uncapped", bomb_path),
        ]
        if args.formats_from:
            from bench_kernel import format_file

            for fmt in ("csv", "jsonl", "sql"):
                cases.append((f"dump rows, {fmt}", format_file(args.formats_from, workdir, fmt)))
        print(f"generated in {time.perf_counter() - started:.1f} s\n")
        print(
            f"{'case':<21}{'file MB':>8}{'out MB':>8}{'wall s':>8}{'cpu s':>7}{'MB/s wall':>10}{'MB/s cpu':>9}"
            f"{'lines':>10}{'RSS MB':>8}  status"
        )
        for case, path in cases:
            r = measure(case, path)
            out_mb, wall, cpu = (float(r[key]) for key in ("expanded_mb", "seconds", "cpu_seconds"))  # type: ignore[arg-type]
            print(
                f"{case:<21}{float(r['file_mb']):>8.1f}{out_mb:>8.1f}{wall:>8.2f}{cpu:>7.2f}"  # type: ignore[arg-type]
                f"{out_mb / wall:>10.1f}{out_mb / max(cpu, 1e-9):>9.1f}{r['lines']:>10}"
                f"{float(r['peak_rss_mb']):>8.1f}  {r['status']} {','.join(r['findings'])}"  # type: ignore[arg-type]
            )
        print(
            "\nout MB = bytes produced at every layer (the budget's expanded_bytes; xlsx: its unpacked XML parts)."
            "\nMB/s cpu = out MB / process CPU time: steadier than wall time on a shared machine."
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
