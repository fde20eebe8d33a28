"""The Telegram port and its Telethon implementation (the only module that drives a TelegramClient).

``TelethonSource`` turns Telethon's RPC errors into the reader's own errors (:mod:`.errors`) and
never resolves a chat it was given as a :class:`Peer`: it builds the input peer from the stored
id and access hash.
"""

from __future__ import annotations

import math
import stat
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

from telethon import TelegramClient, errors, utils
from telethon.sessions import SQLiteSession, StringSession
from telethon.tl import functions, types

from crawlers.telegram.config import TelegramConfig
from crawlers.telegram.errors import AccountError, ChatUnavailable, FloodWait, TelegramUnavailable
from crawlers.telegram.refs import Peer

REQUEST_SIZE = 512 * 1024  # Telethon's MAX_CHUNK_SIZE


class TelegramSource(Protocol):
    """What the reader needs from Telegram."""

    async def resolve_username(self, username: str) -> Peer: ...
    async def check_invite(self, invite_hash: str) -> Peer | None:
        """The chat when already a member (or peeking); None when joining is needed."""
        ...

    async def import_invite(self, invite_hash: str) -> Peer: ...
    async def join_channel(self, peer: Peer) -> Peer: ...
    def iter_after(self, peer: Peer, after_id: int) -> AsyncIterator[Any]:
        """Messages with id > ``after_id``, oldest first."""
        ...

    def current_peer(self, message: Any, peer: Peer) -> Peer:
        """``peer`` with the username and title the server sent along with ``message``."""
        ...

    async def download(self, peer: Peer, message: Any, document: Any, max_bytes: int, out: IO[bytes]) -> int | None:
        """Write the document to ``out``; its size, or None once more than ``max_bytes`` arrived."""
        ...


_ACCOUNT_ERRORS = (errors.UnauthorizedError, errors.AuthKeyDuplicatedError)
_FLOOD_ERRORS = (errors.FloodWaitError, errors.FloodPremiumWaitError, errors.SlowModeWaitError)
_SERVICE_ERRORS = (
    errors.ServerError,
    errors.TimedOutError,
    errors.RpcCallFailError,
    errors.RpcMcgetFailError,
    ConnectionError,
    TimeoutError,
)
_CHAT_ERRORS = {
    errors.InviteHashExpiredError: "invite_expired",
    errors.InviteHashInvalidError: "invite_invalid",
    errors.InviteHashEmptyError: "invite_invalid",
    errors.InviteRequestSentError: "join_pending",
    errors.ChannelsTooMuchError: "join_failed",
}


@contextmanager
def translate_errors() -> Iterator[None]:
    """Map Telethon RPC errors to the reader's errors (flood, account, chat)."""
    try:
        yield
    except _FLOOD_ERRORS as exc:
        request = getattr(exc.request, "query", exc.request)  # unwrap InvokeWithoutUpdates
        raise FloodWait(int(exc.seconds), type(request).__name__) from exc
    except _ACCOUNT_ERRORS as exc:
        reason = f"{type(exc).__name__.removesuffix('Error')}: {exc.message}"
        raise AccountError(f"the Telegram account cannot be used ({reason}); log in again or replace it") from exc
    except _SERVICE_ERRORS as exc:
        raise TelegramUnavailable(f"Telegram is unreachable or failing ({type(exc).__name__})") from exc
    except tuple(_CHAT_ERRORS) as exc:
        raise ChatUnavailable(_CHAT_ERRORS[type(exc)], exc.message) from exc
    except (errors.BadRequestError, errors.ForbiddenError) as exc:
        raise ChatUnavailable("chat_unavailable", exc.message) from exc
    except ValueError as exc:  # get_input_entity: unknown username
        raise ChatUnavailable("chat_unavailable", str(exc)) from exc


def peer_from_entity(entity: Any) -> Peer:
    """A Peer from a Channel, Chat or User entity."""
    if isinstance(entity, types.Channel):
        username = entity.username or next(
            (u.username for u in entity.usernames or [] if getattr(u, "active", False)), None
        )
        return Peer(utils.get_peer_id(entity), "channel", entity.access_hash, username, entity.title)
    if isinstance(entity, types.Chat):
        return Peer(utils.get_peer_id(entity), "chat", None, None, entity.title)
    if isinstance(entity, types.User):
        name = " ".join(p for p in (entity.first_name, entity.last_name) if p) or None
        return Peer(utils.get_peer_id(entity), "user", entity.access_hash, entity.username, name)
    raise ChatUnavailable("chat_unavailable", f"the chat is not accessible ({type(entity).__name__})")


def input_peer(peer: Peer) -> Any:
    """The input peer built from stored values: no resolve round-trip."""
    if peer.kind == "channel":
        return types.InputPeerChannel(peer.bare_id, peer.access_hash or 0)
    if peer.kind == "chat":
        return types.InputPeerChat(peer.bare_id)
    return types.InputPeerUser(peer.marked_id, peer.access_hash or 0)


class TelethonSource:
    """TelegramSource over one connected TelegramClient (owned by the caller's event loop).

    It remembers long flood waits per request type and refuses that request type until the wait
    is over, without sending it. Telethon means to do the same, but with ``receive_updates=False``
    it files the wait under the InvokeWithoutUpdates wrapper and never matches it again (1.45).
    """

    def __init__(
        self, client: Any, history_wait_time: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.client = client
        self.history_wait_time = history_wait_time
        self._clock = clock
        self._blocked: dict[str, float] = {}

    @contextmanager
    def _calling(self, method: str) -> Iterator[None]:
        due = self._blocked.get(method, 0.0)
        remaining = due - self._clock()
        if remaining > 0:
            raise FloodWait(math.ceil(remaining), method)
        try:
            with translate_errors():
                yield
        except FloodWait as exc:
            self._blocked[method] = max(self._blocked.get(method, 0.0), self._clock() + exc.seconds)
            raise

    async def resolve_username(self, username: str) -> Peer:
        with self._calling("ResolveUsernameRequest"):
            result = await self.client(functions.contacts.ResolveUsernameRequest(username))
        wanted = utils.get_peer_id(result.peer)
        for entity in [*result.chats, *result.users]:
            if utils.get_peer_id(entity) == wanted:
                return peer_from_entity(entity)
        raise ChatUnavailable("chat_unavailable", f"@{username} resolved to nothing usable")

    async def check_invite(self, invite_hash: str) -> Peer | None:
        with self._calling("CheckChatInviteRequest"):
            result = await self.client(functions.messages.CheckChatInviteRequest(invite_hash))
        if isinstance(result, types.ChatInviteAlready | types.ChatInvitePeek):
            return peer_from_entity(result.chat)
        return None

    async def import_invite(self, invite_hash: str) -> Peer:
        try:
            with self._calling("ImportChatInviteRequest"):
                updates = await self.client(functions.messages.ImportChatInviteRequest(invite_hash))
        except ChatUnavailable as exc:
            if isinstance(exc.__cause__, errors.UserAlreadyParticipantError):
                joined = await self.check_invite(invite_hash)
                if joined is not None:
                    return joined
            raise
        return self._first_chat(updates)

    async def join_channel(self, peer: Peer) -> Peer:
        try:
            with self._calling("JoinChannelRequest"):
                updates = await self.client(functions.channels.JoinChannelRequest(input_peer(peer)))
        except ChatUnavailable as exc:
            if isinstance(exc.__cause__, errors.UserAlreadyParticipantError):
                return peer
            raise
        return self._first_chat(updates)

    @staticmethod
    def _first_chat(updates: Any) -> Peer:
        chats = getattr(updates, "chats", None) or []
        if not chats:
            raise ChatUnavailable("join_failed", "joining returned no chat")
        return peer_from_entity(chats[0])

    async def iter_after(self, peer: Peer, after_id: int) -> AsyncIterator[Any]:
        with self._calling("GetHistoryRequest"):
            async for message in self.client.iter_messages(
                input_peer(peer), reverse=True, min_id=after_id, wait_time=self.history_wait_time
            ):
                if message.id > after_id:
                    yield message

    def current_peer(self, message: Any, peer: Peer) -> Peer:
        entity = getattr(message, "chat", None)
        if not isinstance(entity, types.Channel | types.Chat):
            return peer
        try:
            fresh = peer_from_entity(entity)
        except ChatUnavailable:
            return peer
        if fresh.marked_id != peer.marked_id:
            return peer
        return Peer(peer.marked_id, peer.kind, peer.access_hash, fresh.username, fresh.title or peer.title)

    async def download(self, peer: Peer, message: Any, document: Any, max_bytes: int, out: IO[bytes]) -> int | None:
        with self._calling("GetFileRequest"):
            try:
                return await self._stream(document, max_bytes, out)
            except errors.FileReferenceExpiredError:
                # Telethon refreshes references only inside download_media; do the same once here.
                fresh = await self.client.get_messages(input_peer(peer), ids=message.id)
                media = getattr(fresh, "media", None)
                if media is None or getattr(media, "document", None) is None:
                    raise
                out.seek(0)
                out.truncate()
                return await self._stream(media.document, max_bytes, out)

    async def _stream(self, document: Any, max_bytes: int, out: IO[bytes]) -> int | None:
        # iter_download's ``limit`` counts chunks, so the byte cap is counted here; a file_size
        # past the cap keeps Telethon reading when the declared size understates the content.
        stream = self.client.iter_download(
            document, request_size=REQUEST_SIZE, file_size=max(int(document.size or 0), max_bytes + 1)
        )
        total = 0
        try:
            async for chunk in stream:
                total += len(chunk)
                if total > max_bytes:
                    return None
                out.write(chunk)
        finally:
            await stream.close()
        return total


def session_path(path: Path) -> Path:
    """The file Telethon actually uses (it appends ``.session`` when missing)."""
    return path if path.suffix == ".session" else path.with_name(path.name + ".session")


def make_session(config: TelegramConfig, *, for_login: bool = False) -> Any:
    """The configured session: a StringSession, else a SQLite session file that must be mode 0600."""
    if config.session_string is not None:
        return StringSession(config.session_string.get_secret_value())
    if config.session_file is None:
        if for_login:
            return StringSession()
        raise AccountError("no Telegram session configured; set LEAKMON_TELEGRAM__SESSION_STRING or session_file")
    path = session_path(config.session_file)
    if path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise AccountError(f"session file {path} is readable by others; chmod 600 it")
    if not path.exists() and not for_login:
        raise AccountError(f"session file {path} does not exist; run `leakmon telegram login`")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    return SQLiteSession(str(path))


def make_client(config: TelegramConfig, session: Any) -> Any:
    """A TelegramClient for a pure poller: no update handling, real errors surfaced."""
    if config.api_id is None or config.api_hash is None:
        raise AccountError("api_id and api_hash are not configured (LEAKMON_TELEGRAM__API_ID / __API_HASH)")
    return TelegramClient(
        session,
        config.api_id,
        config.api_hash.get_secret_value(),
        flood_sleep_threshold=config.flood_sleep_threshold,
        raise_last_call_error=True,
        receive_updates=False,
        request_retries=5,
    )


async def login(
    client: Any, *, phone: Callable[[], str], code: Callable[[], str], password: Callable[[], str]
) -> tuple[str, str | None]:
    """Interactive sign-in (login code, then the 2FA password if set).

    Returns who signed in and, for a StringSession, the session string to store as a secret
    (None for a session file, which Telethon has written already).
    """
    try:
        await client.start(phone=phone, code_callback=code, password=password)
        me = await client.get_me()
    except errors.RPCError as exc:
        raise AccountError(f"login failed ({type(exc).__name__.removesuffix('Error')})") from exc
    saved = client.session.save() if isinstance(client.session, StringSession) else None
    return f"user id {me.id}", saved or None


async def connect(client: Any) -> None:
    """Connect and require an authorized user account."""
    with translate_errors():
        await client.connect()
        if not await client.is_user_authorized():
            raise AccountError("the Telegram session is not logged in; run `leakmon telegram login`")
