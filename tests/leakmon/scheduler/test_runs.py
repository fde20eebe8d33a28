"""Running jobs through the real scheduler: overlap (max_instances), misfires (grace), deferral."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from leakmon.scheduler.web import RATE_LIMIT_BACKOFF, retry_after_from_findings
from storage.db import transaction
from storage.models.core import Run
from storage.repositories.runs import add_findings, finish_run, start_run
from storage.repositories.telegram import get_or_create_chat

from .conftest import GatedTelegram, Workspace, chat, open_service, web_source

pytestmark = pytest.mark.asyncio


def _runs(workspace_app: object, source: str) -> int:
    with workspace_app.sessions() as session:  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count()).select_from(Run).where(Run.source == source)) or 0)


async def test_an_overlapping_run_is_skipped_not_started_twice(workspace: Workspace) -> None:
    telegram = GatedTelegram()
    telegram.gate.clear()  # the first run blocks inside the reader
    app = workspace.app(chats=chat("chan"))
    service = await open_service(app, telegram)
    scheduler = service._running()
    try:
        cycle = asyncio.ensure_future(service.run_pending(["telegram:chan"]))
        await asyncio.wait_for(telegram.entered.wait(), 30)
        scheduler.modify_job("telegram:chan", next_run_time=datetime.now(UTC))  # due again while running
        skipped = await asyncio.wait_for(service.wait_for_result("telegram:chan", "skipped"), 30)
        telegram.gate.set()
        executed = await asyncio.wait_for(service.wait_for_result("telegram:chan", "executed"), 30)
        await cycle
    finally:
        await service.close()
    assert skipped.detail["reason"].startswith("previous run still going")
    assert executed.detail["status"] == "ok"
    assert [r.outcome for r in service.results].count("executed") == 1
    assert telegram.resolves == 1
    assert _runs(app, "telegram:chan") == 1
    app.close()


async def test_run_pending_gives_up_after_its_timeout(workspace: Workspace) -> None:
    telegram = GatedTelegram()
    telegram.gate.clear()  # the run never finishes on its own
    app = workspace.app(chats=chat("chan"))
    service = await open_service(app, telegram)
    try:
        results = await asyncio.wait_for(service.run_pending(["telegram:chan"], timeout=0.5), 30)
    finally:
        await service.close()
    assert [(r.job, r.outcome) for r in results] == [("telegram:chan", "timeout")]
    app.close()


async def test_a_run_later_than_its_grace_is_missed_and_rescheduled(workspace: Workspace) -> None:
    telegram = GatedTelegram()
    app = workspace.app(chats=chat("chan", schedule="1h"))  # grace 30 min
    service = await open_service(app, telegram)
    scheduler = service._running()
    try:
        scheduler.modify_job("telegram:chan", next_run_time=datetime.now(UTC) - timedelta(minutes=40))
        results = await asyncio.wait_for(service.run_pending(["telegram:chan"]), 30)
        job = scheduler.get_job("telegram:chan")
    finally:
        await service.close()
    assert [r.outcome for r in results] == ["missed"]
    assert telegram.resolves == 0
    assert _runs(app, "telegram:chan") == 0
    assert job is not None
    assert job.next_run_time > datetime.now(UTC)
    app.close()


async def test_a_run_late_within_its_grace_still_runs(workspace: Workspace) -> None:
    telegram = GatedTelegram()
    app = workspace.app(chats=chat("chan", schedule="1h"))
    service = await open_service(app, telegram)
    try:
        service._running().modify_job("telegram:chan", next_run_time=datetime.now(UTC) - timedelta(minutes=20))
        results = await asyncio.wait_for(service.run_pending(["telegram:chan"]), 30)
    finally:
        await service.close()
    assert [(r.outcome, r.detail.get("status")) for r in results] == [("executed", "ok")]
    assert _runs(app, "telegram:chan") == 1
    app.close()


async def test_run_once_runs_a_long_overdue_job_like_cron_would(workspace: Workspace) -> None:
    telegram = GatedTelegram()
    app = workspace.app(chats=chat("chan", schedule="1h"))
    service = await open_service(app, telegram)
    try:
        service._running().modify_job("telegram:chan", next_run_time=datetime.now(UTC) - timedelta(days=2))
        results = await asyncio.wait_for(service.run_once(), 30)
        not_due = service.due_jobs()
    finally:
        await service.close()
    assert [(r.job, r.outcome) for r in results] == [("telegram:chan", "executed")]
    assert not_due == []
    app.close()


async def test_a_web_source_in_retry_after_is_deferred_not_crawled(workspace: Workspace) -> None:
    app = workspace.app(sources=web_source("forum"))
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)  # later than the next run
    with transaction(app.sessions) as session:
        run_id = start_run(session, "forum", "crawl").id
        finish_run(session, run_id, status="ok", stats={}, retry_after=until)
    service = await open_service(app)
    try:
        results = await asyncio.wait_for(service.run_once(), 30)  # a crawl would fail: port 9 is closed
        job = service._running().get_job("web:forum")
    finally:
        await service.close()
    assert [(r.outcome, r.detail["status"]) for r in results] == [("executed", "deferred")]
    assert _runs(app, "forum") == 1  # no new run was started
    assert job is not None
    assert job.next_run_time == until
    app.close()


async def test_a_telegram_chat_in_flood_wait_is_deferred(workspace: Workspace) -> None:
    telegram = GatedTelegram()
    app = workspace.app(chats=chat("chan"))
    with transaction(app.sessions) as session:
        row = get_or_create_chat(session, "chan", "@chan_ref")
        row.not_before = datetime.now(UTC) + timedelta(hours=2)
        row.retry_reason = "flood wait of 7200 s on GetHistoryRequest"
    service = await open_service(app, telegram)
    try:
        results = await asyncio.wait_for(service.run_once(), 30)
    finally:
        await service.close()
    assert [r.detail["status"] for r in results] == ["deferred"]
    assert telegram.resolves == 0
    app.close()


@pytest.mark.parametrize(
    ("reason", "kind", "expected"),
    [
        ("HTTP 429", "http_error", RATE_LIMIT_BACKOFF),
        ("HTTP 429 (Retry-After: 120)", "http_error", timedelta(seconds=120)),
        ("HTTP 500", "http_error", None),
    ],
)
async def test_rate_limit_findings_give_a_retry_after(
    workspace: Workspace, reason: str, kind: str, expected: timedelta | None
) -> None:
    app = workspace.app()
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    with transaction(app.sessions) as session:
        run_id = start_run(session, "forum", "crawl").id
        add_findings(session, "forum", [("http://127.0.0.1/x", kind, reason)], run_id=run_id)
    with app.sessions() as session:
        got = retry_after_from_findings(session, run_id, now)
    assert got == (now + expected if expected is not None else None)
    app.close()


@pytest.mark.parametrize("status", [200, 500])
async def test_alerts_queued_before_a_run_are_delivered_after_it(workspace: Workspace, status: int) -> None:
    from storage.models.cases import AlertRecord
    from tests.leakmon.workflows.receivers import webhook_receiver

    with webhook_receiver(status=status) as hook:
        app = workspace.app(chats=chat("chan"), alerts={"webhooks": [{"url": hook.url}]})
        with transaction(app.sessions) as session:
            session.add(AlertRecord(kind="new_incident", text="incident #1: 3 subjects", created_at=datetime.now(UTC)))
        service = await open_service(app, GatedTelegram())
        try:
            results = await asyncio.wait_for(service.run_once(), 60)
        finally:
            await service.close()
        assert [r.outcome for r in results] == ["executed"]  # a failing receiver does not fail the run
        assert [body["text"] for body in hook.bodies] == ["incident #1: 3 subjects"]
    with app.sessions() as session:
        record = session.scalars(select(AlertRecord)).one()
        assert record.status == ("sent" if status == 200 else "failed")
        assert record.delivered_at is not None
    app.close()


async def test_a_run_whose_end_could_not_be_recorded_is_marked_interrupted_at_the_next_run(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk filled exactly when the run's end was written: the scheduler lives on, and its next
    run of any job marks that row interrupted instead of leaving it running for ever."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from leakmon.scheduler import jobs

    real_finish = jobs._finish

    def full_disk(*_args: object) -> None:
        raise OperationalError("UPDATE runs", {}, sqlite3.OperationalError("database or disk is full"))

    app = workspace.app(chats=chat("chan"))
    service = await open_service(app, GatedTelegram())
    scheduler = service._running()
    try:
        monkeypatch.setattr(jobs, "_finish", full_disk)
        [first] = await asyncio.wait_for(service.run_pending(["telegram:chan"]), 30)
        assert first.detail["status"] == "failed"
        with app.sessions() as session:
            assert session.scalars(select(Run.status)).all() == ["running"]
        monkeypatch.setattr(jobs, "_finish", real_finish)  # space freed
        scheduler.modify_job("telegram:chan", next_run_time=datetime.now(UTC))
        [second] = await asyncio.wait_for(service.run_pending(["telegram:chan"]), 30)
    finally:
        await service.close()
    assert second.detail["status"] == "ok"
    with app.sessions() as session:
        rows = session.execute(select(Run.id, Run.status, Run.finished_at).order_by(Run.id)).all()
    assert [(status, finished is not None) for _, status, finished in rows] == [("interrupted", True), ("ok", True)]
    assert rows[0].id == first.detail["run_id"]
    app.close()
