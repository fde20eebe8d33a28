"""Issue 16 item 8: a stop (SIGTERM to the scheduler) while a crawl child is still starting ends as
cleanly as a stop mid-fetch: no KeyboardInterrupt traceback, no "exited with code -2"."""

from __future__ import annotations

import asyncio

import pytest

from leakmon.scheduler import JobContext, JobOptions
from leakmon.scheduler.web import crawl_in_child

from .conftest import Workspace, web_source

pytestmark = pytest.mark.asyncio


async def test_stop_while_the_crawl_child_starts_is_clean(
    workspace: Workspace, capfd: pytest.CaptureFixture[str]
) -> None:
    app = workspace.app(sources=web_source("forum"))
    context = JobContext(app=app, options=JobOptions(stop_grace=30.0))
    task = asyncio.ensure_future(crawl_in_child(context, "forum", 1))
    while not context.children:
        assert not task.done()
        await asyncio.sleep(0)
    (child,) = context.children
    child.request_stop()  # what SchedulerService.drain does on SIGTERM, before the child said ready
    outcome = await asyncio.wait_for(task, 60)
    app.close()
    assert child.process.returncode == 0
    assert (outcome.status, outcome.error) == ("ok", None)
    assert outcome.stats["finish_reason"] == "shutdown"
    errors = capfd.readouterr().err
    assert "Traceback" not in errors
    assert "KeyboardInterrupt" not in errors
