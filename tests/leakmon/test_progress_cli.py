"""Progress of `protect import`, `scan` and `export affected` (issue 12; `run --once`:
tests/leakmon/scheduler/test_once_progress.py): a rich bar on stderr when stderr is a terminal,
JSON lines with `--log-format json`, nothing otherwise; stdout carries the records only.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from leakmon import progress
from tests.leakmon.cli import CliResult, run_cli
from tests.leakmon.test_privacy_sweep import LEAK_ROWS, PEOPLE
from tests.leakmon.test_protect_and_scan import workspace  # noqa: F401 - the CLI workspace fixture

CaptureFixture = pytest.CaptureFixture[str]
LABELS = {"protect": "hashing", "scan": "scan", "export": "export affected"}


def _commands(capsys: CaptureFixture, tmp_path: Path, *extra: str) -> dict[str, CliResult]:
    """The three commands in order on a fresh workspace, each with ``extra`` options."""
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    (tmp_path / "leak.csv").write_text(LEAK_ROWS, encoding="utf-8")
    assert run_cli(capsys, "init").code == 0
    results = {"protect": run_cli(capsys, "protect", "import", "people.csv", *extra)}
    results["scan"] = run_cli(capsys, "scan", "leak.csv", "--format", "jsonl", *extra)
    listed = run_cli(capsys, "incidents", "--format", "jsonl").out.splitlines()
    incident = str(json.loads(listed[0])["incident_id"])
    results["export"] = run_cli(capsys, "export", "affected", incident, "--format", "jsonl", *extra)
    for name, result in results.items():
        assert result.code == 0, (name, result.err)
    return results


def _records_only(results: dict[str, CliResult]) -> None:
    for name in ("scan", "export"):
        lines = results[name].out.splitlines()
        assert lines, name
        assert all(isinstance(json.loads(line), dict) for line in lines), name  # no bar, no progress in stdout
        assert all("event" not in json.loads(line) for line in lines), name


@pytest.mark.usefixtures("workspace")
def test_a_bar_on_a_terminal_and_stdout_keeps_only_the_records(
    tmp_path: Path, capsys: CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(progress, "err_console", Console(file=screen, force_terminal=True, width=120))
    drawn: dict[str, str] = {}
    real_exit = progress.Ticker.__exit__

    def remember(self: progress.Ticker, *exc: object) -> None:
        drawn[self.label] = screen.getvalue()
        real_exit(self, *exc)

    monkeypatch.setattr(progress.Ticker, "__exit__", remember)
    results = _commands(capsys, tmp_path)
    for command, label in LABELS.items():
        assert label in drawn, (command, sorted(drawn))
        assert "\x1b[" in drawn[label]  # drawn by rich on the terminal
    assert "storing" in drawn  # protect import's second phase
    _records_only(results)
    assert "progress" not in "".join(result.err for result in results.values())


def _progress_lines(err: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "progress"]


@pytest.mark.usefixtures("workspace")
def test_json_progress_lines_with_log_format_json(
    tmp_path: Path, capsys: CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "JSON_EVERY", 0)  # a line at every step, not every 10 s
    results = _commands(capsys, tmp_path, "--log-format", "json")
    for command, label in LABELS.items():
        lines = _progress_lines(results[command].err)
        assert lines, command
        assert {line["task"] for line in lines} >= {label}, command
        assert sum(line["final"] for line in lines if line["task"] == label) == 1, command
        for line in lines:
            assert {"done", "unit", "rate_per_second", "elapsed_seconds", "final"} <= set(line), command
    (final,) = [line for line in _progress_lines(results["export"].err) if line["final"]]
    assert (final["unit"], final["done"]) == ("rows", len(results["export"].out.splitlines()))
    _records_only(results)


@pytest.mark.usefixtures("workspace")
def test_nothing_extra_when_not_on_a_terminal(tmp_path: Path, capsys: CaptureFixture) -> None:
    results = _commands(capsys, tmp_path)
    for command, label in LABELS.items():
        err = results[command].err
        assert _progress_lines(err) == [], command
        assert "\x1b[" not in err, command
        assert label not in err or command == "scan", command  # scan's summary says "scanned ..."
    _records_only(results)
