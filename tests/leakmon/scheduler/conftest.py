"""Fixtures for scheduler tests: an initialised workspace on each database leg and a fake Telegram port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from crawlers.telegram.refs import Peer
from leakmon.app import App
from leakmon.keyring import ensure_keyring
from leakmon.scheduler import JobOptions, SchedulerService
from leakmon.settings import load_settings


class GatedTelegram:
    """A TelegramSource for one public channel with no messages; ``gate`` holds every resolve."""

    account_id = None

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.resolves = 0
        self.entered = asyncio.Event()

    async def resolve_username(self, username: str) -> Peer:
        self.resolves += 1
        self.entered.set()
        await self.gate.wait()
        return Peer(-1001000000000 - self.resolves, "channel", 42, username, username)

    async def check_invite(self, invite_hash: str) -> Peer | None:
        return None

    async def import_invite(self, invite_hash: str) -> Peer:
        raise AssertionError("not used")

    async def join_channel(self, peer: Peer) -> Peer:
        return peer

    async def iter_after(self, peer: Peer, after_id: int) -> AsyncIterator[Any]:
        for message in ():
            yield message

    def current_peer(self, message: Any, peer: Peer) -> Peer:
        return peer

    async def download(self, peer: Peer, message: Any, document: Any, max_bytes: int, out: Any) -> int | None:
        return None

    async def deleted_ids(self, peer: Peer, ids: Any) -> set[int]:
        return set()


class Workspace:
    """Settings factory over one database and home; ``app()`` builds an App for given sources/chats."""

    def __init__(self, home: Path, db_url: str) -> None:
        self.home = home
        self.db_url = db_url

    def app(
        self,
        sources: dict[str, Any] | None = None,
        chats: dict[str, Any] | None = None,
        alerts: dict[str, Any] | None = None,
    ) -> App:
        telegram = {"chats": chats} if chats else {}
        settings = load_settings(
            home=self.home, database_url=self.db_url, sources=sources or {}, telegram=telegram, alerts=alerts or {}
        )
        return App(settings=settings)


@pytest.fixture
def workspace(tmp_path: Path, db_url: str) -> Workspace:
    space = Workspace(tmp_path / "home", db_url)
    app = space.app()
    app.migrate()
    ensure_keyring(app.settings.resolved_key_file)
    app.close()
    return space


def web_source(name: str = "forum", schedule: str = "1h", **extra: Any) -> dict[str, Any]:
    return {name: {"kind": "forum", "start_urls": ["http://127.0.0.1:9/"], "schedule": schedule, **extra}}


def chat(name: str = "chan", schedule: str = "1h") -> dict[str, Any]:
    return {name: {"ref": f"@{name}_ref", "schedule": schedule}}


async def open_service(app: App, telegram: GatedTelegram | None = None, **options: Any) -> SchedulerService:
    factory = (lambda _ctx: telegram) if telegram else None
    service = SchedulerService(app, JobOptions(telegram_factory=factory, **options))
    await service.open()
    return service
