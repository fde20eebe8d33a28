"""The fake itself: GetHistory offsets as core.telegram.org/api/offsets defines them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telethon.tl import functions, types
from tg_fakes import FakeTelegramClient, World


@pytest.fixture
def channel_world(world: World) -> tuple[World, Any]:
    channel = world.channel(111, "Big")
    for i in range(1, 251):
        world.post(channel, i, f"m{i}")
    return world, types.InputPeerChannel(channel.id, channel.access_hash)


@pytest.mark.parametrize(
    ("offset_id", "add_offset", "limit", "min_id", "max_id", "expected"),
    [
        (0, 0, 3, 0, 0, [250, 249, 248]),  # newest first
        (100, 0, 3, 0, 0, [99, 98, 97]),  # strictly older than offset_id
        (101, -3, 3, 0, 0, [103, 102, 101]),  # negative add_offset: newer than offset_id
        (101, -5, 3, 0, 0, [105, 104, 103]),
        (3, 0, 10, 0, 0, [2, 1]),  # clipped at the oldest
        (250, -10, 20, 0, 0, list(range(250, 239, -1))),  # window starts before the newest: clipped
        (0, 0, 10, 245, 0, [250, 249, 248, 247, 246]),  # min_id filters the page
        # min_id/max_id filter the offset window (Telethon always sends 0 and checks ranges itself).
        (0, 0, 5, 0, 248, [247, 246]),
    ],
)
def test_get_history_offsets(
    channel_world: tuple[World, Any],
    offset_id: int,
    add_offset: int,
    limit: int,
    min_id: int,
    max_id: int,
    expected: list[int],
) -> None:
    world, peer = channel_world
    request = functions.messages.GetHistoryRequest(
        peer=peer,
        offset_id=offset_id,
        offset_date=None,
        add_offset=add_offset,
        limit=limit,
        max_id=max_id,
        min_id=min_id,
        hash=0,
    )
    result = world.handle(request)
    assert [m.id for m in result.messages] == expected


def test_telethon_pages_both_directions(channel_world: tuple[World, Any]) -> None:
    world, peer = channel_world
    client = FakeTelegramClient(world)

    async def collect(**kw: Any) -> list[int]:
        return [m.id async for m in client.iter_messages(peer, wait_time=0, **kw)]

    assert asyncio.run(collect(min_id=100, reverse=True)) == list(range(101, 251))
    assert asyncio.run(collect(min_id=100)) == list(range(250, 100, -1))
    assert asyncio.run(collect(limit=5)) == [250, 249, 248, 247, 246]


def test_unknown_requests_are_refused(world: World) -> None:
    with pytest.raises(NotImplementedError, match="GetDialogsRequest"):
        world.handle(
            functions.messages.GetDialogsRequest(
                offset_date=None, offset_id=0, offset_peer=types.InputPeerEmpty(), limit=1, hash=0
            )
        )
