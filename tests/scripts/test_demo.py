"""`make demo` end to end on a small world: one scheduled cycle through the real code paths."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from leakmon.logs import redact_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_runs_one_scheduled_cycle_and_leaves_a_usable_workspace(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKMON_")}
    result = subprocess.run(
        [sys.executable, "scripts/demo.py", "--subjects", "400", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=170, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout
    assert "sources crawled by the scheduler: 2" in summary
    assert "web:demo_forum: ok" in summary
    assert "web:demo_channel: ok" in summary
    assert "none real" in summary

    db = out / "workspace" / "leakmon.db"
    with sqlite3.connect(db) as connection:
        sources = dict(connection.execute("SELECT source, count(*) FROM posts GROUP BY source").fetchall())
        hits = connection.execute("SELECT count(*), count(DISTINCT subject_id) FROM hits").fetchone()
        runs = connection.execute("SELECT source, status FROM runs ORDER BY source").fetchall()
    assert sources["demo_forum"] == 9
    assert sources["demo_channel"] == 14
    assert hits[0] > 0
    assert hits[1] > 20
    assert ("demo_forum", "ok") in runs
    assert ("demo_channel", "ok") in runs
    runs_file = [json.loads(line) for line in (out / "runs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(r["job"] for r in runs_file) == ["web:demo_channel", "web:demo_forum"]

    # The workspace stays usable: `leakmon status` right after, and the logs hold no plaintext.
    config = out / "leakmon.toml"
    status = subprocess.run(
        [sys.executable, "-m", "leakmon", "status", "--format", "jsonl"],
        cwd=ROOT, env={**env, "LEAKMON_HOME": str(out / "workspace"), "LEAKMON_CONFIG": str(config)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert status.returncode == 0, status.stderr
    rows = {row["job"]: row for row in map(json.loads, status.stdout.splitlines())}
    assert rows["web:demo_forum"]["result"] == "ok"
    assert rows["web:demo_forum"]["posts"] == 9
    assert rows["web:demo_channel"]["next_run"] > rows["web:demo_channel"]["last_run"]
    logs = (out / "logs" / "run.jsonl").read_text(encoding="utf-8")
    assert redact_text(logs) == logs  # nothing identifier-shaped reached the logs
