"""`make demo`: a complete, offline run on a synthetic world, through the real command line.

Builds a synthetic protected set and leaked samples under ``demo-out/``, initialises a workspace
(``demo-out/workspace``), imports the set (digests only), scans the leaks and prints a summary.
The workspace stays, so the other commands can be tried on it right after.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_world import make_people, write_leaks, write_protected_set

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "demo-out"
SUBJECTS = 3000


def leakmon(*args: str, env: dict[str, str], capture: bool = False) -> str:
    command = [sys.executable, "-m", "leakmon", *args]
    result = subprocess.run(command, env=env, check=True, text=True, capture_output=capture, cwd=ROOT)
    return result.stdout if capture else ""


def main() -> None:
    started = time.monotonic()
    shutil.rmtree(OUT, ignore_errors=True)
    workspace = OUT / "workspace"
    env = {**os.environ, "LEAKMON_HOME": str(workspace), "LEAKMON_CONFIG": str(ROOT / "config" / "leakmon.toml")}
    env.pop("LEAKMON_DATABASE_URL", None)

    print(f"1. building a synthetic world in {OUT.relative_to(ROOT)}/ ({SUBJECTS} protected subjects)")
    people = make_people(SUBJECTS)
    protected_csv = OUT / "protected_set.csv"
    OUT.mkdir(parents=True)
    write_protected_set(people, protected_csv)
    exposed = write_leaks(people, OUT / "leaks")

    print("2. leakmon init")
    leakmon("init", env=env)
    print("3. leakmon protect import (values are hashed in memory; only digests are stored)")
    leakmon("protect", "import", str(protected_csv), env=env)
    protected_csv.unlink()  # the plaintext set is not needed any more
    print("4. leakmon scan demo-out/leaks --password leak2025")
    hits_file = OUT / "hits.jsonl"
    leakmon(
        "scan", str(OUT / "leaks"), "--password", "leak2025", "--format", "jsonl", "--output", str(hits_file), env=env
    )
    hits = [json.loads(line) for line in hits_file.read_text(encoding="utf-8").splitlines() if line]

    by_file: dict[str, set[str]] = {}
    kinds: Counter[str] = Counter()
    for hit in hits:
        kinds[hit["match_kind"]] += 1
        if hit["subject_ref"]:
            by_file.setdefault(Path(hit["source"]).name, set()).add(hit["subject_ref"])
    affected = {ref for refs in by_file.values() for ref in refs}
    print()
    print("summary")
    print(f"  files scanned: {len(list((OUT / 'leaks').iterdir()))}")
    print(f"  hits: {len(hits)} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})")
    print(f"  affected subjects: {len(affected)}")
    for name, planted in exposed.items():
        print(f"    {name}: {len(by_file.get(name, set()))} of {planted} planted subjects found")
    print(f"  hits written to {hits_file.relative_to(ROOT)}")
    print(f"  workspace kept: LEAKMON_HOME={workspace.relative_to(ROOT)} leakmon protect stats")
    print(f"  took {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
