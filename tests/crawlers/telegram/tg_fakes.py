"""A fake Telegram world behind ``TelegramClient._call``, and a fake ingest sink.

The fake answers at Telethon's single network boundary, so Telethon's own pagination,
entity cache, ``_finish_init``, download iteration, flood-wait and retry code all run.
Every message is served as a fresh copy deserialized from its TL bytes, which also proves the
objects we build serialize under the current layer. Offsets follow core.telegram.org/api/offsets.
"""

from __future__ import annotations

import asyncio
import itertools
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from telethon import TelegramClient, errors
from telethon.extensions import BinaryReader
from telethon.sessions import MemorySession
from telethon.sessions.abstract import Session
from telethon.tl import functions, types

from crawlers.interface import CheckpointUpdate, IngestResult
from crawlers.model import CrawledPost, Finding
from crawlers.telegram.config import TelegramConfig

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
DC_ID = 2


def clone(obj: Any) -> Any:
    return BinaryReader(bytes(obj)).tgread_object()


def message_empty(message_id: int) -> Any:
    """``messageEmpty flags:0 id`` as Telegram sends it for a deleted id (Telethon patches the class)."""
    return BinaryReader(struct.pack("<Iii", types.MessageEmpty.CONSTRUCTOR_ID, 0, message_id)).tgread_object()


@dataclass
class FakeChannel:
    id: int
    access_hash: int
    title: str
    username: str | None = None
    member: bool = True
    megagroup: bool = False
    messages: dict[int, Any] = field(default_factory=dict)

    def entity(self) -> types.Channel:
        return types.Channel(
            id=self.id,
            title=self.title,
            photo=types.ChatPhotoEmpty(),
            date=T0,
            access_hash=self.access_hash,
            username=self.username,
            broadcast=not self.megagroup,
            megagroup=self.megagroup,
            left=not self.member,
        )

    @property
    def marked_id(self) -> int:
        return -1_000_000_000_000 - self.id


@dataclass
class Scripted:
    request: str
    message: str  # an RPC error string, or "TYPE_NOT_FOUND" for a reply Telethon cannot parse
    times: int = 1
    skip: int = 0


class World:
    """Channels, messages, files and invites, plus scripted RPC errors and a call log."""

    def __init__(self) -> None:
        self.channels: dict[int, FakeChannel] = {}
        self.invites: dict[str, int | str] = {}
        self.files: dict[int, bytes] = {}
        self.scripted: list[Scripted] = []
        self.calls: list[str] = []
        self.short_pages: int | None = None  # history pages hold at most this many messages
        self.revoked = False  # every request answers SESSION_REVOKED (401)
        self.account = 4242
        self._ids = itertools.count(5000)

    # -- building ---------------------------------------------------------------------------

    def channel(self, channel_id: int, title: str, username: str | None = None, **kw: Any) -> FakeChannel:
        channel = FakeChannel(channel_id, access_hash=channel_id * 7 + 1, title=title, username=username, **kw)
        self.channels[channel_id] = channel
        return channel

    def document(
        self, name: str, data: bytes, *, declared: int | None = None, mime: str = "text/csv", extra: Any = ()
    ) -> types.MessageMediaDocument:
        doc_id = next(self._ids)
        self.files[doc_id] = data
        document = types.Document(
            id=doc_id,
            access_hash=doc_id * 3,
            file_reference=b"ref",
            date=T0,
            mime_type=mime,
            size=len(data) if declared is None else declared,
            dc_id=DC_ID,
            attributes=[types.DocumentAttributeFilename(name), *extra],
        )
        return types.MessageMediaDocument(document=document)

    def post(
        self,
        channel: FakeChannel,
        message_id: int,
        text: str = "",
        *,
        minutes: int | None = None,
        **kw: Any,
    ) -> Any:
        message = types.Message(
            id=message_id,
            peer_id=types.PeerChannel(channel.id),
            date=T0 + timedelta(minutes=message_id if minutes is None else minutes),
            message=text,
            post=not channel.megagroup,
            **kw,
        )
        channel.messages[message_id] = message
        return message

    def service(self, channel: FakeChannel, message_id: int) -> Any:
        message = types.MessageService(
            id=message_id,
            peer_id=types.PeerChannel(channel.id),
            date=T0 + timedelta(minutes=message_id),
            action=types.MessageActionPinMessage(),
        )
        channel.messages[message_id] = message
        return message

    def edit(self, channel: FakeChannel, message_id: int, text: str) -> None:
        old = channel.messages[message_id]
        channel.messages[message_id] = types.Message(
            id=old.id,
            peer_id=old.peer_id,
            date=old.date,
            message=text,
            post=old.post,
            media=old.media,
            grouped_id=old.grouped_id,
            edit_date=old.date + timedelta(hours=1),
        )

    def switch_account(self, user_id: int) -> None:
        """Sign in as another account: every channel's access hash is different for it."""
        self.account = user_id
        for channel in self.channels.values():
            channel.access_hash = channel.id * 7 + 1 + user_id

    def fail(self, request: str, message: str, *, times: int = 1, skip: int = 0) -> None:
        """Make the next matching request(s) fail with the RPC error ``message`` (e.g. FLOOD_WAIT_30)."""
        self.scripted.append(Scripted(request, message, times, skip))

    # -- serving ----------------------------------------------------------------------------

    def handle(self, sent: Any) -> Any:
        request = sent.query if isinstance(sent, functions.InvokeWithoutUpdatesRequest) else sent
        name = type(request).__name__
        self.calls.append(name)
        if self.revoked:
            raise errors.rpc_message_to_error(types.RpcError(401, "SESSION_REVOKED"), sent)
        self._maybe_fail(name, sent)  # like Telegram's errors, scripted ones name the request as sent
        handler: Callable[[Any], Any] | None = getattr(self, f"_on_{name}", None)
        if handler is None:
            raise NotImplementedError(f"the fake Telegram does not answer {name}")
        return handler(request)

    def _maybe_fail(self, name: str, request: Any) -> None:
        for item in self.scripted:
            if item.request != name or item.times <= 0:
                continue
            if item.skip > 0:
                item.skip -= 1
                continue
            item.times -= 1
            if item.message == "TYPE_NOT_FOUND":  # e.g. a constructor of a newer layer
                raise errors.TypeNotFoundError(0x1BADC0DE, b"")
            code = (
                420 if "FLOOD" in item.message else 401 if "AUTH" in item.message or "SESSION" in item.message else 400
            )
            raise errors.rpc_message_to_error(types.RpcError(code, item.message), request)

    def _error(self, request: Any, message: str) -> Exception:
        return errors.rpc_message_to_error(types.RpcError(400, message), request)

    def _channel(self, request: Any, peer: Any) -> FakeChannel:
        channel = self.channels.get(getattr(peer, "channel_id", -1))
        if channel is None or channel.access_hash != peer.access_hash:
            raise self._error(request, "CHANNEL_INVALID")
        if not channel.member and not channel.username:
            raise self._error(request, "CHANNEL_PRIVATE")
        return channel

    def _on_GetHistoryRequest(self, request: Any) -> Any:
        channel = self._channel(request, request.peer)
        newest_first = sorted(channel.messages.values(), key=lambda m: m.id, reverse=True)
        if request.offset_id:
            index = next((i for i, m in enumerate(newest_first) if m.id < request.offset_id), len(newest_first))
        elif request.offset_date:
            index = next((i for i, m in enumerate(newest_first) if m.date < request.offset_date), len(newest_first))
        else:
            index = 0
        start = index + request.add_offset
        page = newest_first[max(0, start) : max(0, start + request.limit)]
        if self.short_pages is not None:  # a server that pads: the oldest few, as if history ended
            page = page[-self.short_pages :]
        if request.min_id:
            page = [m for m in page if m.id > request.min_id]
        if request.max_id:
            page = [m for m in page if m.id < request.max_id]
        return types.messages.ChannelMessages(
            pts=1,
            count=len(newest_first),
            messages=[clone(m) for m in page],
            topics=[],
            chats=[channel.entity()],
            users=[],
        )

    def _on_GetMessagesRequest(self, request: Any) -> Any:
        channel = self._channel(request, request.channel)
        found = [clone(channel.messages[i.id]) if i.id in channel.messages else message_empty(i.id) for i in request.id]
        return types.messages.ChannelMessages(
            pts=1, count=len(found), messages=found, topics=[], chats=[channel.entity()], users=[]
        )

    def _on_ResolveUsernameRequest(self, request: Any) -> Any:
        for channel in self.channels.values():
            if channel.username and channel.username.lower() == request.username.lower():
                return types.contacts.ResolvedPeer(
                    peer=types.PeerChannel(channel.id), chats=[channel.entity()], users=[]
                )
        raise self._error(request, "USERNAME_NOT_OCCUPIED")

    def _invite(self, request: Any) -> FakeChannel:
        target = self.invites.get(request.hash)
        if target is None:
            raise self._error(request, "INVITE_HASH_INVALID")
        if target == "expired":
            raise self._error(request, "INVITE_HASH_EXPIRED")
        return self.channels[int(target)]

    def _on_CheckChatInviteRequest(self, request: Any) -> Any:
        channel = self._invite(request)
        if channel.member:
            return types.ChatInviteAlready(chat=channel.entity())
        return types.ChatInvite(
            title=channel.title,
            photo=types.PhotoEmpty(0),
            participants_count=3,
            color=0,
            channel=True,
            broadcast=not channel.megagroup,
        )

    def _on_ImportChatInviteRequest(self, request: Any) -> Any:
        channel = self._invite(request)
        if channel.member:
            raise self._error(request, "USER_ALREADY_PARTICIPANT")
        channel.member = True
        return types.Updates(updates=[], users=[], chats=[channel.entity()], date=T0, seq=0)

    def _on_JoinChannelRequest(self, request: Any) -> Any:
        channel = self._channel(request, request.channel)
        if channel.member:
            raise self._error(request, "USER_ALREADY_PARTICIPANT")
        channel.member = True
        return types.Updates(updates=[], users=[], chats=[channel.entity()], date=T0, seq=0)

    # -- login (no 2FA) ---------------------------------------------------------------------

    authorized = False
    login_code = "24680"

    def _on_GetUsersRequest(self, request: Any) -> Any:
        if not self.authorized:
            raise errors.rpc_message_to_error(types.RpcError(401, "AUTH_KEY_UNREGISTERED"), request)
        return [self._me()]

    def _me(self) -> types.User:
        return types.User(id=self.account, is_self=True, access_hash=1, first_name="Analyst", phone="821000000000")

    def _on_SendCodeRequest(self, request: Any) -> Any:
        return types.auth.SentCode(type=types.auth.SentCodeTypeApp(length=5), phone_code_hash="hash")

    def _on_SignInRequest(self, request: Any) -> Any:
        if request.phone_code != self.login_code or request.phone_code_hash != "hash":
            raise self._error(request, "PHONE_CODE_INVALID")
        self.authorized = True
        return types.auth.Authorization(user=self._me())

    def _on_GetStateRequest(self, request: Any) -> Any:
        return types.updates.State(pts=1, qts=0, date=T0, seq=1, unread_count=0)

    def _on_GetDifferenceRequest(self, request: Any) -> Any:
        return types.updates.DifferenceEmpty(date=T0, seq=1)

    def _on_GetFileRequest(self, request: Any) -> Any:
        data = self.files.get(request.location.id)
        if data is None:
            raise self._error(request, "FILE_ID_INVALID")
        chunk = data[request.offset : request.offset + request.limit]
        return types.upload.File(type=types.storage.FilePartial(), mtime=0, bytes=chunk)


class FakeSender:
    def __init__(self, world: World) -> None:
        self.world = world

    def send(self, request: Any, ordered: bool = False) -> Any:
        async def answer() -> Any:
            return self.world.handle(request)

        return answer()


class FakeTelegramClient(TelegramClient):  # type: ignore[misc]
    """A real TelegramClient on a MemorySession whose network boundary is the fake world."""

    def __init__(self, world: World, *, flood_sleep_threshold: int = 0, session: Session | None = None) -> None:
        if session is None:
            session = MemorySession()
            session.set_dc(DC_ID, "127.0.0.1", 443)
        with _loop_for_construction():
            super().__init__(
                session,
                1,
                "x" * 32,
                flood_sleep_threshold=flood_sleep_threshold,
                raise_last_call_error=True,
                receive_updates=False,
                request_retries=3,
            )
        self._fake_sender = FakeSender(world)

    async def connect(self) -> None:  # never a socket: the world is in memory
        if not self.session.server_address:  # Telethon would pick its production default here
            self.session.set_dc(DC_ID, "127.0.0.1", 443)
        self._fake_connected = True

    def is_connected(self) -> bool:
        return bool(getattr(self, "_fake_connected", False))

    async def disconnect(self) -> None:
        self._fake_connected = False

    async def _call(self, sender: Any, request: Any, ordered: bool = False, flood_sleep_threshold: Any = None) -> Any:
        return await super()._call(
            self._fake_sender, request, ordered=ordered, flood_sleep_threshold=flood_sleep_threshold
        )


def fake_factory(world: World) -> Callable[[TelegramConfig, Session], FakeTelegramClient]:
    """A client factory (as ``telegram login``/``read`` and the scheduler take) answering from ``world``."""

    def build(config: TelegramConfig, session: Session) -> FakeTelegramClient:
        return FakeTelegramClient(world, flood_sleep_threshold=config.flood_sleep_threshold, session=session)

    return build


class _loop_for_construction:
    """Telethon 1.39 asks for an event loop while constructing a client; tests build some outside one."""

    def __enter__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)

    def __exit__(self, *exc: object) -> None:
        if self.loop is not None:
            asyncio.set_event_loop(None)
            self.loop.close()


class Dials:
    """Every TCP connection Telethon opens in a test: loopback ones proceed, any other is refused."""

    LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})

    def __init__(self) -> None:
        self.addresses: list[tuple[str, int]] = []
        self._real = asyncio.open_connection

    @classmethod
    def installed(cls, monkeypatch: Any) -> Dials:
        """A guard in place of ``asyncio.open_connection`` for one test."""
        dials = cls()
        monkeypatch.setattr(asyncio, "open_connection", dials.open_connection)
        return dials

    async def open_connection(self, host: str | None = None, port: int | None = None, **kw: Any) -> Any:
        self.addresses.append((str(host), int(port or 0)))
        if host not in self.LOOPBACK:
            raise ConnectionRefusedError(f"tests never dial {host}:{port}")
        return await self._real(host, port, **kw)


class Crash(Exception):
    """The process died between two posts (the failed post's transaction never committed)."""


class FakeSink:
    """Records what the reader hands over, like IngestSink would store it, in one 'transaction' each."""

    def __init__(self, crash_on: int | None = None) -> None:
        self.posts: dict[tuple[str, str], CrawledPost] = {}
        self.log: list[tuple[CrawledPost, str]] = []
        self.files: dict[str, list[bytes | None]] = {}
        self.checkpoints: dict[tuple[str, str], str] = {}
        self.passwords: dict[str, tuple[str, ...]] = {}
        self.post_findings: dict[str, tuple[Finding, ...]] = {}
        self.findings: list[tuple[str, Finding]] = []
        self.removed: list[tuple[str, str]] = []
        self.calls = 0
        self.crash_on = crash_on

    def ingest(
        self,
        post: CrawledPost,
        *,
        checkpoint: CheckpointUpdate | None = None,
        passwords: tuple[str, ...] = (),
        findings: tuple[Finding, ...] = (),
    ) -> IngestResult:
        self.calls += 1
        if self.crash_on == self.calls:
            raise Crash(post.external_id)
        key = (post.source, post.external_id)
        old = self.posts.get(key)
        status = "new" if old is None else "unchanged" if old.content_hash() == post.content_hash() else "changed"
        self.posts[key] = post
        self.log.append((post, status))
        self.files[post.external_id] = [None if a.skipped_reason else a.open_bytes() for a in post.attachments]
        self.passwords[post.external_id] = passwords
        self.post_findings[post.external_id] = findings
        if checkpoint is not None:
            self.checkpoints[(checkpoint.scope, checkpoint.key)] = checkpoint.value
        return IngestResult(post_id=len(self.posts), status=status)

    def record_removed(self, source: str, external_id: str) -> bool:
        self.removed.append((source, external_id))
        return (source, external_id) in self.posts

    def record_findings(self, source: str, findings: tuple[Finding, ...]) -> None:
        self.findings.extend((source, f) for f in findings)

    def statuses(self) -> list[str]:
        return [status for _, status in self.log]


def make_config(**overrides: Any) -> TelegramConfig:
    base: dict[str, Any] = {
        "history_wait_time": 0,
        "flood_sleep_threshold": 0,
        "reread_last_n": 5,
        "max_attachment_bytes": 10_000,
        "chats": {"leaks": {"ref": "@leakshop"}},
    }
    base.update(overrides)
    return TelegramConfig.model_validate(base)
