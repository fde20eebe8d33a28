"""The scheduler's Telegram job on the shared client factory: reader errors become findings, not crashes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from telethon.crypto import AuthKey
from telethon.sessions import StringSession

from crawlers.telegram.client import ClientFactory
from leakmon.scheduler import JobContext, JobOptions
from leakmon.scheduler.telegram import close_port, read_chat, telethon_port
from storage.db import transaction
from storage.models.core import FindingRecord
from storage.repositories.runs import start_run
from tests.crawlers.telegram.tg_fakes import World, fake_factory

from .conftest import Workspace, chat

pytestmark = pytest.mark.asyncio


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    session = StringSession()
    session.set_dc(2, "127.0.0.1", 443)
    session.auth_key = AuthKey(bytes(range(256)))
    monkeypatch.setenv("LEAKMON_TELEGRAM__SESSION_STRING", session.save())
    world = World()
    world.authorized = True
    world.post(world.channel(111, "Chan", username="chan_ref"), 1, "hello")
    return world


async def _read(workspace: Workspace, factory: ClientFactory) -> tuple[Any, list[tuple[str, str]]]:
    app = workspace.app(chats=chat("chan"))
    context = JobContext(app=app, options=JobOptions(telegram_factory=lambda ctx: telethon_port(ctx, factory)))
    with transaction(app.sessions) as session:
        run_id = start_run(session, "telegram", "telegram").id
    try:
        outcome = await read_chat(context, "chan", run_id)
        with app.sessions() as session:
            findings = [(f.locator, f.kind) for f in session.scalars(select(FindingRecord))]
    finally:
        await close_port(context)
        app.close()
    return outcome, findings


async def test_the_scheduler_reads_through_the_shared_client_factory(workspace: Workspace, world: World) -> None:
    outcome, findings = await _read(workspace, fake_factory(world))
    assert (outcome.status, outcome.posts) == ("ok", 1)
    assert "GetUsersRequest" in world.calls  # connect_source checked who is signed in
    assert findings == []


async def test_a_reply_telethon_cannot_parse_is_a_finding_in_the_scheduler(workspace: Workspace, world: World) -> None:
    world.fail("GetHistoryRequest", "TYPE_NOT_FOUND")
    outcome, findings = await _read(workspace, fake_factory(world))
    assert (outcome.status, outcome.error) == ("failed", "unsupported_reply")
    assert findings == [("telegram:chan", "unsupported_reply")]


async def test_a_revoked_session_leaves_an_account_error_finding_in_the_scheduler(
    workspace: Workspace, world: World
) -> None:
    world.revoked = True
    outcome, findings = await _read(workspace, fake_factory(world))
    assert outcome.status == "failed"
    assert "SESSION_REVOKED" in (outcome.error or "")
    assert findings == [("telegram:account", "account_error")]
