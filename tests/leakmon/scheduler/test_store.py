"""The job store: restart keeps jobs, config changes are applied with a log line, nothing vanishes silently."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, Table, select, update
from structlog.testing import capture_logs

from leakmon.scheduler.store import stored_jobs
from storage.db import transaction
from storage.models.core import Run
from storage.repositories.runs import INTERRUPTED, start_run

from .conftest import Workspace, chat, open_service, web_source

pytestmark = pytest.mark.asyncio


async def test_restart_keeps_jobs_and_their_next_run_time(workspace: Workspace) -> None:
    app = workspace.app(sources=web_source("forum"), chats=chat("chan"))
    service = await open_service(app)
    assert sorted(job.id for job in service._running().get_jobs()) == ["telegram:chan", "web:forum"]
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    service._running().modify_job("web:forum", next_run_time=later)
    await service.close()
    app.close()

    app = workspace.app(sources=web_source("forum"), chats=chat("chan"))
    service = await open_service(app)
    try:
        assert service.context.app is app
        job = service._running().get_job("web:forum")
        assert job is not None
        assert job.next_run_time == later
        assert job.func_ref == "leakmon.scheduler.jobs:crawl_web_source"
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 1800)
    finally:
        await service.close()
        app.close()
    assert stored_jobs(app.engine)["web:forum"] == later


async def test_a_new_source_is_due_at_once(workspace: Workspace) -> None:
    app = workspace.app(sources=web_source("forum"))
    service = await open_service(app)
    try:
        assert service.due_jobs() == ["web:forum"]
    finally:
        await service.close()
        app.close()


async def test_a_renamed_source_is_removed_and_added_with_log_lines(workspace: Workspace) -> None:
    app = workspace.app(sources=web_source("forum"))
    await (await open_service(app)).close()
    app.close()

    app = workspace.app(sources=web_source("forum_kr"))
    with capture_logs() as logs:
        service = await open_service(app)
    try:
        jobs = [job.id for job in service._running().get_jobs()]
    finally:
        await service.close()
        app.close()
    assert jobs == ["web:forum_kr"]
    removed = [e for e in logs if e["event"].startswith("job removed")]
    added = [e for e in logs if e["event"].startswith("job added")]
    assert [(e["job"], e["log_level"]) for e in removed] == [("web:forum", "warning")]
    assert [e["job"] for e in added] == ["web:forum_kr"]


async def test_a_job_whose_function_moved_is_reported_and_rebuilt(workspace: Workspace) -> None:
    app = workspace.app(sources=web_source("forum"))
    await (await open_service(app)).close()
    table = Table("apscheduler_jobs", MetaData(), autoload_with=app.engine)
    with app.engine.begin() as connection:
        state = pickle.loads(connection.execute(select(table.c.job_state)).scalar_one())  # noqa: S301 - our own row
        state["func"] = "leakmon.scheduler.jobs:crawl_forum_v1"  # as if the function had been renamed
        connection.execute(update(table).values(job_state=pickle.dumps(state)))
    app.close()

    app = workspace.app(sources=web_source("forum"))
    with capture_logs() as logs:
        service = await open_service(app)
    try:
        job = service._running().get_job("web:forum")
    finally:
        await service.close()
        app.close()
    warnings = [e for e in logs if e["event"].startswith("stored job could not be restored")]
    assert [e["job"] for e in warnings] == ["web:forum"]
    assert "rebuilt from config" in warnings[0]["event"]
    assert job is not None
    assert job.func_ref == "leakmon.scheduler.jobs:crawl_web_source"


async def test_a_changed_schedule_replaces_the_trigger(workspace: Workspace) -> None:
    app = workspace.app(sources=web_source("forum", schedule="1h"))
    await (await open_service(app)).close()
    app.close()
    app = workspace.app(sources=web_source("forum", schedule="*/10 * * * *"))
    service = await open_service(app)
    try:
        job = service._running().get_job("web:forum")
    finally:
        await service.close()
        app.close()
    assert job is not None
    assert job.name == "web:forum every */10 * * * *"
    assert "cron" in str(job.trigger)


async def test_a_run_killed_mid_way_is_marked_and_runs_again_at_next_start(workspace: Workspace) -> None:
    app = workspace.app(sources=web_source("forum"))
    service = await open_service(app)
    later = datetime.now(UTC) + timedelta(hours=1)
    service._running().modify_job("web:forum", next_run_time=later)  # not due by its schedule
    await service.close()
    with transaction(app.sessions) as session:
        run_id = start_run(session, "forum", "crawl").id  # a run whose process was SIGKILLed
    service = await open_service(app)
    try:
        due = service.due_jobs()
    finally:
        await service.close()
    with app.sessions() as session:
        run = session.get(Run, run_id)
        assert run is not None
        assert (run.status, run.error) == ("interrupted", INTERRUPTED)
        assert run.finished_at is not None
    assert due == ["web:forum"]
    app.close()
