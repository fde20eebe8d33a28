"""A failed alert is retried when its backoff has passed, whether or not a run is due."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from leakmon.app import App
from storage.db import transaction
from storage.models.cases import AlertRecord
from tests.leakmon.workflows.receivers import webhook_receiver

from .conftest import Workspace, open_service

pytestmark = pytest.mark.asyncio


def _failed_alert(app: App) -> None:
    """An alert whose first delivery failed a while ago: its retry is due now."""
    past = datetime.now(UTC) - timedelta(hours=1)
    with transaction(app.sessions) as session:
        session.add(
            AlertRecord(
                kind="new_incident",
                text="incident #1: 3 subjects",
                created_at=past,
                status="failed",
                attempts=1,
                next_attempt_at=past,
            )
        )


def _status(app: App) -> tuple[str, int]:
    with app.sessions() as session:
        record = session.scalars(select(AlertRecord)).one()
        return record.status, record.attempts


async def test_run_once_retries_a_due_alert_when_no_source_is_due(workspace: Workspace) -> None:
    with webhook_receiver() as hook:
        app = workspace.app(alerts={"webhooks": [{"url": hook.url}]})
        _failed_alert(app)
        service = await open_service(app)
        try:
            assert await asyncio.wait_for(service.run_once(), 60) == []  # a cron tick with nothing due
        finally:
            await service.close()
        assert [body["text"] for body in hook.bodies] == ["incident #1: 3 subjects"]
    assert _status(app) == ("sent", 2)
    app.close()


async def test_a_running_schedule_retries_a_due_alert_without_a_run(workspace: Workspace) -> None:
    with webhook_receiver() as hook:
        app = workspace.app(alerts={"webhooks": [{"url": hook.url}]})
        _failed_alert(app)
        service = await open_service(app, alert_seconds=0.05)
        stop = asyncio.Event()
        try:
            running = asyncio.create_task(service.run_forever(stop))
            for _ in range(400):
                if hook.bodies:
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.wait_for(running, 30)
        finally:
            await service.close()
        assert [body["text"] for body in hook.bodies] == ["incident #1: 3 subjects"]
    assert _status(app) == ("sent", 2)
    app.close()
