"""``run --once`` progress: a bar on a terminal, JSON lines with --log-format json, nothing in a pipe."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from rich.console import Console

from leakmon import progress
from leakmon.commands import schedule
from leakmon.scheduler import JobOptions

from .conftest import GatedTelegram, Workspace, chat

pytestmark = pytest.mark.asyncio


async def _run_once(workspace: Workspace, *, log_json: bool) -> list[object]:
    telegram = GatedTelegram()
    app = workspace.app(chats={**chat("one"), **chat("two")})
    options = JobOptions(telegram_factory=lambda _ctx: telegram)
    try:
        return await asyncio.wait_for(schedule._main(app, options, once=True, every=True, log_json=log_json), 60)
    finally:
        app.close()


async def test_run_once_draws_a_bar_of_jobs_on_a_terminal(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(progress, "err_console", Console(file=screen, force_terminal=True, width=120))
    results = await _run_once(workspace, log_json=False)
    assert len(results) == 2
    drawn = screen.getvalue()
    assert "run --once" in drawn
    assert "2/2" in drawn  # jobs done of the cycle's, as the bar ends


async def test_run_once_writes_json_progress_lines_with_log_format_json(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    await _run_once(workspace, log_json=True)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    final = [line for line in lines if line.get("event") == "progress" and line["final"]]
    assert [(f["task"], f["unit"], f["done"], f["total"]) for f in final] == [("run --once", "jobs", 2, 2)]


async def test_run_once_adds_nothing_when_not_on_a_terminal(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    await _run_once(workspace, log_json=False)
    err = capsys.readouterr().err
    assert "progress" not in err
    assert "run --once" not in err
