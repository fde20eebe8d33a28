"""Fixtures for the Telegram tests: a fake world, a client on it, a fake sink, and reader deps."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import pytest
import telethon
from tg_fakes import Dials, FakeSink, FakeTelegramClient, World, make_config

from crawlers.telegram.reader import ReaderDeps
from crawlers.telegram.source import TelethonSource
from crawlers.telegram.state import MemoryChatState


def pytest_report_header() -> str:
    """Which Telethon the Telegram tests ran on (`make test` runs them on 1.39 and the pinned one)."""
    return f"telethon {telethon.__version__}"


@pytest.fixture(autouse=True)
def dials(monkeypatch: pytest.MonkeyPatch) -> Dials:
    """No test reaches Telegram: non-loopback connections are refused (and recorded)."""
    return Dials.installed(monkeypatch)


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()


@pytest.fixture
def deps_for(world: World) -> Callable[..., ReaderDeps]:
    """Build reader deps around one fake client; state survives across calls via ``state=``."""

    def build(sink: FakeSink, state: MemoryChatState | None = None, threshold: int = 0, **overrides: Any) -> ReaderDeps:
        config = make_config(flood_sleep_threshold=threshold, **overrides)
        client = FakeTelegramClient(world, flood_sleep_threshold=threshold)
        state = state or MemoryChatState(sink.checkpoints)
        state.checkpoints = sink.checkpoints
        return ReaderDeps(config, TelethonSource(client, history_wait_time=0, account_id=world.account), sink, state)

    return build


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record asyncio.sleep calls (Telethon's flood sleeps) instead of waiting."""
    recorded: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(delay: float, result: Any = None) -> Any:
        recorded.append(delay)
        return await real_sleep(0, result)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    return recorded
