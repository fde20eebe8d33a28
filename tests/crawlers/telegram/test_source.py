"""TelethonSource details: downloads that need a fresh file reference or a short wait, joins, sessions."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession, StringSession
from tg_fakes import FakeSink, FakeTelegramClient, World, make_config

from crawlers.telegram.client import login, make_session, session_path, telethon_client
from crawlers.telegram.errors import AccountError, ChatUnavailable
from crawlers.telegram.reader import ReaderDeps, read_chats
from crawlers.telegram.refs import Peer
from crawlers.telegram.source import TelethonSource, to_message

MARKED = -1_000_000_000_111


def test_expired_file_reference_is_refreshed_once(world: World) -> None:
    channel = world.channel(111, "Leak shop", username="leakshop")
    message = world.post(channel, 1, "f", media=world.document("a.csv", b"a,b\n1,2\n"))
    world.fail("GetFileRequest", "FILE_REFERENCE_EXPIRED")
    source = TelethonSource(FakeTelegramClient(world), history_wait_time=0)
    peer = Peer(MARKED, "channel", channel.access_hash, "leakshop", "Leak shop")
    out = io.BytesIO()
    converted = to_message(message)
    assert converted.document is not None
    size = asyncio.run(source.download(peer, converted, converted.document, 1000, out))
    assert (size, out.getvalue()) == (8, b"a,b\n1,2\n")
    assert world.calls == ["GetFileRequest", "GetMessagesRequest", "GetFileRequest"]


def test_short_flood_wait_during_download_is_slept_through(
    world: World, sink: FakeSink, deps_for: Callable[..., ReaderDeps], sleeps: list[float]
) -> None:
    channel = world.channel(111, "Leak shop", username="leakshop")
    world.post(channel, 1, "f", media=world.document("a.csv", b"data"))
    world.fail("GetFileRequest", "FLOOD_WAIT_3")
    asyncio.run(read_chats(deps_for(sink, threshold=10)))
    assert 3 in sleeps
    assert sink.files[f"{MARKED}/1"] == [b"data"]


def test_download_failure_is_a_finding_not_a_stop(
    world: World, sink: FakeSink, deps_for: Callable[..., ReaderDeps]
) -> None:
    channel = world.channel(111, "Leak shop", username="leakshop")
    world.post(channel, 1, "f", media=world.document("a.csv", b"data"))
    world.post(channel, 2, "next")
    world.fail("GetFileRequest", "FILE_REFERENCE_EXPIRED", times=2)
    asyncio.run(read_chats(deps_for(sink)))
    assert [f.kind for f in sink.post_findings[f"{MARKED}/1"]] == ["download_failed"]
    assert sink.checkpoints[("telegram", str(MARKED))] == "2"


def test_public_channel_is_joined_when_configured(
    world: World, sink: FakeSink, deps_for: Callable[..., ReaderDeps]
) -> None:
    channel = world.channel(111, "Leak shop", username="leakshop", member=False)
    world.post(channel, 1, "x")
    summary = asyncio.run(read_chats(deps_for(sink, join=True)))
    assert summary.chats[0].status == "ok"
    assert world.calls[:2] == ["ResolveUsernameRequest", "JoinChannelRequest"]
    assert channel.member


def test_import_of_an_invite_already_joined_returns_the_chat(world: World) -> None:
    channel = world.channel(333, "Private", member=True)
    world.invites["H"] = 333
    source = TelethonSource(FakeTelegramClient(world), history_wait_time=0)
    peer = asyncio.run(source.import_invite("H"))
    assert (peer.marked_id, peer.kind, peer.access_hash) == (-1_000_000_000_333, "channel", channel.access_hash)


def test_private_channel_without_access_is_unavailable(world: World) -> None:
    world.channel(333, "Private", member=False)
    source = TelethonSource(FakeTelegramClient(world), history_wait_time=0)
    peer = Peer(-1_000_000_000_333, "channel", 333 * 7 + 1, None, "Private")

    async def first() -> None:
        async for _ in source.iter_after(peer, 0):
            break

    with pytest.raises(ChatUnavailable) as raised:
        asyncio.run(first())
    assert raised.value.kind == "chat_unavailable"


def test_session_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "acct.session"
    path.write_bytes(b"")
    path.chmod(0o644)
    config = make_config(session_file=str(path))
    with pytest.raises(AccountError, match="chmod 600"):
        make_session(config)
    path.chmod(0o600)
    session = make_session(config)
    assert isinstance(session, SQLiteSession)
    session.close()


def test_login_creates_a_private_session_file(tmp_path: Path) -> None:
    config = make_config(session_file=str(tmp_path / "sub" / "acct"))
    with pytest.raises(AccountError, match="does not exist"):
        make_session(config)
    session = make_session(config, for_login=True)
    session.close()
    created = session_path(tmp_path / "sub" / "acct")
    assert created.name == "acct.session"
    assert created.stat().st_mode & 0o777 == 0o600


def test_string_session_wins_and_credentials_are_required(tmp_path: Path) -> None:
    stored = StringSession()
    stored.set_dc(2, "127.0.0.1", 443)
    stored.auth_key = AuthKey(bytes(256))
    config = make_config(session_string=stored.save(), session_file=str(tmp_path / "unused"))
    session = make_session(config)
    assert isinstance(session, StringSession)
    assert session.dc_id == 2
    assert not (tmp_path / "unused.session").exists()
    with pytest.raises(AccountError, match="no Telegram session"):
        make_session(make_config())
    with pytest.raises(AccountError, match="api_id and api_hash"):
        telethon_client(make_config(), StringSession())

    async def build() -> Any:  # clients are made on the running loop (Telethon 1.39 needs one)
        return telethon_client(make_config(api_id=1, api_hash=SecretStr("x" * 32)), StringSession())

    client = asyncio.run(build())
    assert client.flood_sleep_threshold == 0


def test_login_with_a_code_returns_a_string_session(world: World) -> None:
    client = FakeTelegramClient(world)
    client.session = StringSession()
    client.session.set_dc(2, "127.0.0.1", 443)
    client.session.auth_key = AuthKey(bytes(256))
    codes = iter(["11111", world.login_code])  # a wrong code is asked again
    who, saved = asyncio.run(login(client, phone=lambda: "+82 10-0000-0000", code=lambda: next(codes), password=str))
    assert who == "user id 4242"
    assert saved is not None
    assert StringSession(saved).dc_id == 2
    assert world.calls.count("SignInRequest") == 2
    assert asyncio.run(client.is_user_authorized())
