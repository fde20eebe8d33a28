"""Benchmark `protect import`: identifiers per second into SQLite (and PostgreSQL with --pg URL).

Builds a synthetic protected-set CSV (phones and e-mails, nobody real), then runs the real import
path (read -> normalize -> keyed hash -> stage -> set-based insert -> unique index) and prints
rates. Target from the issue: >= 250k identifiers/s into SQLite for a 10M-identifier set.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from leakmon.protect import ImportReport, hash_rows, plan_columns
from leakmon.tables import open_table
from matchers.keyed_hash import KeyedHasher
from matchers.protect import protected_forms
from matchers.registry import IdentifierRegistry
from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.repositories.protected import ProtectedLoader


def write_set(path: Path, identifiers: int) -> None:
    rng = random.Random(5)
    subjects = identifiers // 2
    with path.open("w", encoding="utf-8") as out:
        out.write("subject_ref,phone,email\n")
        for i in range(subjects):
            out.write(f"s{i:09d},010{rng.randrange(10**8):08d},user{i}.{rng.randrange(999)}@naver.com\n")


def run(url: str, path: Path, *, partial: bool, jobs: int) -> dict[str, float]:
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    registry = IdentifierRegistry.default()
    hasher = KeyedHasher(os.urandom(32), "bench")
    report = ImportReport()

    def forms(id_type: str, value: str) -> list[tuple[str, str]]:
        return protected_forms(id_type, value, registry, partial=partial)

    started = time.perf_counter()
    hashing = staging = finishing = 0.0
    with sessions.begin() as session:
        loader = ProtectedLoader(session)
        table = open_table(path)
        plan = plan_columns(table.header, subject_column="subject_ref", mapping={}, known_types=registry.types)
        batches = hash_rows(table, plan, hasher, forms, report, jobs=jobs)
        while True:
            t0 = time.perf_counter()
            batch = next(batches, None)
            hashing += time.perf_counter() - t0
            if batch is None:
                break
            t0 = time.perf_counter()
            loader.stage(batch)
            staging += time.perf_counter() - t0
        t0 = time.perf_counter()
        result = loader.finish(replace=False)
        finishing = time.perf_counter() - t0
    elapsed = time.perf_counter() - started
    engine.dispose()
    return {
        "identifiers": report.values,
        "digests": result.inserted,
        "seconds": elapsed,
        "hash_seconds": hashing,
        "stage_seconds": staging,
        "finish_seconds": finishing,
        "ids_per_s": report.values / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--identifiers", type=int, default=1_000_000, help="identifiers in the set (10M for the target)"
    )
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="hashing worker counts to compare")
    parser.add_argument("--pg", default=None, help="also load into this PostgreSQL database URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "set.csv"
        write_set(csv_path, args.identifiers)
        targets = [("sqlite", f"sqlite:///{tmp}/bench.db")] + ([("postgresql", args.pg)] if args.pg else [])
        print(f"protect import, {args.identifiers:,} identifiers (phones + e-mails)")
        for partial in (False, True):
            for jobs in args.jobs:
                for name, url in targets:
                    if name == "sqlite":
                        Path(f"{tmp}/bench.db").unlink(missing_ok=True)
                    r = run(url, csv_path, partial=partial, jobs=jobs)
                    label = "full + partial forms" if partial else "full forms only"
                    print(
                        f"  {name:10s} {label:22s} --jobs {jobs}  {r['ids_per_s']:>10,.0f} identifiers/s  "
                        f"({r['digests']:,} digests in {r['seconds']:.1f} s: waiting for hashes "
                        f"{r['hash_seconds']:.1f} s, staging {r['stage_seconds']:.1f} s, set-based insert "
                        f"{r['finish_seconds']:.1f} s)"
                    )


if __name__ == "__main__":
    main()
