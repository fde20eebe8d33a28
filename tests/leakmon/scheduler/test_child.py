"""The crawl child's lifecycle: results relayed, timeouts and cancellation stop it (SIGINT, then SIGKILL)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from leakmon.app import App
from leakmon.scheduler import JobContext, JobOptions
from leakmon.scheduler.web import CrawlChild, crawl_in_child
from leakmon.settings import load_settings

pytestmark = pytest.mark.asyncio

DONE = {"event": "done", "payload": {"status": "ok", "new_posts": 3, "changed_posts": 1, "new_hits": 5, "errors": 0}}
READY = 'print(\'{"event": "ready", "payload": {}}\', flush=True); '
STUBS = {
    "done": f"import sys, json; sys.stdin.read(); print('noise'); print(json.dumps({DONE!r}))",
    "crash": "import sys; sys.stdin.read(); sys.exit(3)",
    "error": "import sys, json; sys.stdin.read(); "
    "print(json.dumps({'event': 'error', 'payload': 'boom 010-1234-5678'}))",
    # Like the real child (leakmon/scheduler/crawl_child.py), the stub sets its own SIGINT handler: a
    # process started with SIGINT ignored (a pytest-xdist worker, a background job) would pass that on.
    "sleeps": "import signal, sys, time; signal.signal(signal.SIGINT, signal.default_int_handler); "
    + READY
    + "sys.stdin.read(); time.sleep(60)",
    "ignores_sigint": "import signal, sys, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    + READY
    + "sys.stdin.read(); time.sleep(60)",
}


@pytest.fixture
def workspace(tmp_path: Path) -> App:
    return App(settings=load_settings(home=tmp_path))


def _context(workspace: App, stub: str, **options: object) -> JobContext:
    command = (sys.executable, "-c", STUBS[stub])
    return JobContext(app=workspace, options=JobOptions(child_command=command, **options))  # type: ignore[arg-type]


async def test_the_done_summary_is_relayed(workspace: App) -> None:
    outcome = await crawl_in_child(_context(workspace, "done"), "forum", 1)
    assert (outcome.status, outcome.posts, outcome.hits, outcome.errors) == ("ok", 4, 5, 0)
    assert outcome.error is None


@pytest.mark.parametrize(
    ("stub", "error"), [("crash", "crawl process exited with code 3"), ("error", "boom [redacted]")]
)
async def test_a_failed_child_is_a_failed_run_with_a_masked_error(workspace: App, stub: str, error: str) -> None:
    outcome = await crawl_in_child(_context(workspace, stub), "forum", 1)
    assert outcome.status == "failed"
    assert outcome.error == error


async def test_a_child_past_its_timeout_is_killed_when_it_ignores_sigint(workspace: App) -> None:
    context = _context(workspace, "ignores_sigint", crawl_timeout=1.0, stop_grace=0.5)
    outcome = await crawl_in_child(context, "forum", 1)
    assert outcome.status == "failed"
    assert outcome.error == "timed out after 1 s"
    assert context.children == set()


async def _started_child(context: JobContext, task: asyncio.Future[object]) -> CrawlChild:
    """The child once it said ``ready`` (it takes SIGINT from then on)."""
    while not context.children:
        assert not task.done()
        await asyncio.sleep(0)  # a yield to the loop, not a timed wait
    (child,) = context.children
    await asyncio.wait_for(child.ready.wait(), 30)
    return child


async def test_a_cancelled_job_stops_its_child(workspace: App) -> None:
    context = _context(workspace, "sleeps", stop_grace=5.0)
    task = asyncio.ensure_future(crawl_in_child(context, "forum", 1))
    child = await _started_child(context, task)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert child.process.returncode == -signal.SIGINT  # stopped by SIGINT, not orphaned or killed
    assert context.children == set()
