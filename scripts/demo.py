"""`make demo`: one complete scheduled cycle on a synthetic world, through the real command line.

1. builds a synthetic world under ``demo-out/`` (protected set, leaked files, a forum and a t.me/s
   channel preview served on 127.0.0.1, a Telegram Desktop export; none of it a real person);
2. ``leakmon init`` and ``leakmon protect import`` (digests only; the plaintext CSV is deleted);
3. ``leakmon telegram import-export`` of the export;
4. ``leakmon run --once``: the real scheduler runs every source's job (a Scrapy crawl per child
   process) through the matchers into SQLite;
5. the analyst report and the affected-subject export (issue-7 commands, when present);
6. a summary. The workspace stays: try ``leakmon status``, ``leakmon hits`` ... right after.

``python scripts/demo.py --subjects 500 --out /tmp/x`` builds a smaller world elsewhere (tests).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_site import serve
from demo_world import (
    CHANNEL,
    FORUM_SELECTORS,
    make_people,
    site_routes,
    write_protected_set,
    write_telegram_export,
)

ROOT = Path(__file__).resolve().parent.parent
SUBJECTS = 3000
POSTS = "SELECT count(*) FROM posts"
HITS = "SELECT count(*) FROM hits"
HIT_KINDS = "SELECT match_kind, count(*) FROM hits GROUP BY 1 ORDER BY 1"
INCIDENTS = "SELECT count(*) FROM incidents"
AFFECTED = "SELECT count(DISTINCT subject_id) FROM hits"
FOUND_PER_SOURCE = "SELECT source, count(DISTINCT subject_id) FROM hits GROUP BY source"
FAST = "download_delay = 0\nautothrottle = false\nretries = 0\ntimeout = 10\nconcurrency = 4\n"


def leakmon(*args: str, log: Path) -> int:
    """Run ``leakmon ARGS`` through the real command line, in this process (one import, not six).

    Human output and logs go to ``log``; returns the exit code.
    """
    from leakmon.cli import main as cli_main

    with log.open("a", encoding="utf-8") as sink, redirect_stdout(sink), redirect_stderr(sink):
        try:
            code = cli_main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            _detach_log_handlers()
    return int(code or 0)


def _detach_log_handlers() -> None:
    """`run` routes logging to the stream it was given; that stream is closed after the call."""
    import logging

    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "leakmon"]:
        root.removeHandler(handler)


def must(code: int, what: str, log: Path) -> None:
    if code != 0:
        raise SystemExit(f"demo: `leakmon {what}` failed with exit code {code} (see {log})")


def has_command(*words: str) -> bool:
    """Whether this build's CLI has ``leakmon WORDS`` (issue-7 commands may not exist yet)."""
    import typer

    from leakmon.cli import app

    command: object = typer.main.get_command(app)
    for word in words:
        children = getattr(command, "commands", None)
        command = children.get(word) if isinstance(children, dict) else None
    return command is not None


def write_config(path: Path, base: str) -> None:
    forum_selectors = "".join(f'{key} = "{value}"\n' for key, value in FORUM_SELECTORS.items())
    path.write_text(
        "# Written by scripts/demo.py: two web sources on the local demo site.\n"
        'brands = ["쿠팡"]\n\n'
        '[evidence]\nstore_post_text = "encrypted"\n\n'
        '[sources.demo_forum]\nkind = "forum"\n'
        f'start_urls = ["{base}/forum/"]\ndepth = 3\nschedule = "6h"\n{FAST}'
        f"[sources.demo_forum.selectors]\n{forum_selectors}\n"
        '[sources.demo_channel]\nkind = "tme_preview"\n'
        f'start_urls = ["{base}/s/{CHANNEL}"]\ndepth = 1\nschedule = "30m"\n{FAST}',
        encoding="utf-8",
    )


def protect_columns() -> list[str]:
    """Ignore the address column when this build has no address type yet."""
    from matchers.registry import IdentifierRegistry

    return [] if "address" in IdentifierRegistry.default().types else ["--column", "address=-"]


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as connection:
        try:
            return int(connection.execute(sql).fetchone()[0] or 0)
        except sqlite3.OperationalError:
            return 0


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as connection:
        return list(connection.execute(sql).fetchall())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=SUBJECTS, help="Size of the synthetic protected set.")
    parser.add_argument("--out", type=Path, default=ROOT / "demo-out", help="Where the world and workspace go.")
    options = parser.parse_args(argv)
    started = time.monotonic()
    out: Path = options.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    workspace, logs = out / "workspace", out / "logs"
    logs.mkdir()
    config = out / "leakmon.toml"
    os.environ.update({"LEAKMON_HOME": str(workspace), "LEAKMON_CONFIG": str(config)})
    for name in ("LEAKMON_DATABASE_URL", "LEAKMON_KEY_FILE", "LEAKMON_REDIS_URL"):
        os.environ.pop(name, None)

    print(f"1. building a synthetic world in {out} ({options.subjects} protected subjects, none real)")
    people = make_people(options.subjects)
    protected_csv = out / "protected_set.csv"
    write_protected_set(people, protected_csv)
    routes, planted = site_routes(people, out)
    export_dir = out / "telegram_export"
    planted["telegram export"] = write_telegram_export(people, export_dir)

    with serve(routes) as base:
        write_config(config, base)
        print(f"   a trade forum at {base}/forum/ and a channel preview at {base}/s/{CHANNEL} (127.0.0.1 only)")
        print("2. leakmon init; leakmon protect import (hashed in memory, only digests stored)")
        must(leakmon("init", log=logs / "init.log"), "init", logs / "init.log")
        code = leakmon("protect", "import", str(protected_csv), *protect_columns(), log=logs / "protect.log")
        protected_csv.unlink()  # the plaintext set is not needed any more
        must(code, "protect import", logs / "protect.log")
        print(f"3. leakmon telegram import-export {export_dir.name}/")
        if has_command("telegram", "import-export"):
            log = logs / "telegram.log"
            must(leakmon("telegram", "import-export", str(export_dir), log=log), "telegram import-export", log)
        else:
            print("   (skipped: this build has no `leakmon telegram import-export` yet)")
        print("4. leakmon run --once   (one scheduled cycle: every due source, each crawl in its own process)")
        run_log, results = logs / "run.jsonl", out / "runs.jsonl"
        leakmon(
            "run",
            "--once",
            "--format",
            "jsonl",
            "--output",
            str(results),
            "--log-format",
            "json",
            "--crawl-timeout",
            "90",
            log=run_log,
        )
    runs = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines() if line.strip()]

    print("5. analyst report and affected-subject export")
    outputs: list[str] = []
    if has_command("incidents"):
        report = out / "incidents.csv"
        leakmon("incidents", "--format", "csv", "--output", str(report), log=logs / "report.log")
        outputs.append(f"analyst report (incidents): {report}")
    else:
        outputs.append("analyst report: `leakmon incidents` is not in this build yet")
    if has_command("export", "affected"):
        affected_csv = out / "affected.csv"
        export = ("export", "affected", "--all", "--format", "csv", "--output", str(affected_csv))
        leakmon(*export, log=logs / "report.log")
        outputs.append(f"affected-subject export: {affected_csv}")
    else:
        outputs.append("affected-subject export: `leakmon export affected` is not in this build yet")

    db = workspace / "leakmon.db"
    print()
    print("summary")
    print(f"  sources crawled by the scheduler: {len(runs)}")
    for run in runs:
        print(
            f"    {run['job']}: {run.get('status', run['outcome'])}, {run.get('posts', 0)} posts, "
            f"{run.get('hits', 0)} new hits, {run.get('errors', 0)} errors"
        )
    kinds = ", ".join(f"{kind} {n}" for kind, n in rows(db, HIT_KINDS))
    print(f"  posts read: {count(db, POSTS)}")
    print(f"  hits stored: {count(db, HITS)} ({kinds})")
    print(f"  incidents: {count(db, INCIDENTS)}")
    print(f"  affected subjects: {count(db, AFFECTED)} of {options.subjects} protected")
    found = dict(rows(db, FOUND_PER_SOURCE))
    print("  planted vs found, per source:")
    for source in sorted(found):
        print(f"    {source}: {found[source]} subjects found")
    print(f"    planted: {', '.join(f'{where} {n}' for where, n in planted.items())}")
    for line in outputs:
        print(f"  {line}")
    print(f"  logs (JSON, identifiers masked): {logs}")
    print("  the workspace stays; try, for example:")
    print(f"    export LEAKMON_HOME={workspace} LEAKMON_CONFIG={config}")
    tries = ["status", "hits --limit 10", "incidents", "run --once"]
    for words in tries:
        if has_command(words.split()[0]):
            print(f"    .venv/bin/leakmon {words}")
    print(f"  took {time.monotonic() - started:.1f} s")
    if not runs or any(run.get("status") == "failed" or run["outcome"] == "error" for run in runs):
        raise SystemExit(f"demo: the scheduled cycle did not complete cleanly (see {run_log})")


if __name__ == "__main__":
    main()
