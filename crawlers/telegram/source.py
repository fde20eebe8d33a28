"""The Telegram port and its Telethon implementation (the only module that drives a TelegramClient).

``TelethonSource`` turns Telethon's RPC errors into the reader's own errors (:mod:`.errors`) and
never resolves a chat it was given as a :class:`Peer`: it builds the input peer from the stored
id and access hash.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any, Protocol

from telethon import errors, utils
from telethon.errors import rpcerrorlist
from telethon.tl import functions, types

from crawlers.telegram.errors import AccountError, ChatUnavailable, FloodWait, TelegramUnavailable
from crawlers.telegram.messages import TgDocument, TgMessage
from crawlers.telegram.refs import Peer

REQUEST_SIZE = 512 * 1024  # Telethon's MAX_CHUNK_SIZE


class TelegramSource(Protocol):
    """What the reader needs from Telegram."""

    #: The signed-in account (access hashes belong to it); None when unknown.
    account_id: int | None

    async def resolve_username(self, username: str) -> Peer: ...
    async def check_invite(self, invite_hash: str) -> Peer | None:
        """The chat when already a member (or peeking); None when joining is needed."""
        ...

    async def import_invite(self, invite_hash: str) -> Peer: ...
    async def join_channel(self, peer: Peer) -> Peer: ...
    def iter_after(self, peer: Peer, after_id: int) -> AsyncIterator[TgMessage]:
        """Messages with id > ``after_id``, oldest first."""
        ...

    async def download(
        self, peer: Peer, message: TgMessage, document: TgDocument, max_bytes: int, out: IO[bytes]
    ) -> int | None:
        """Write the document to ``out``; its size, or None once more than ``max_bytes`` arrived."""
        ...

    async def deleted_ids(self, peer: Peer, ids: Sequence[int]) -> set[int]:
        """Of ``ids``, those Telegram answers as deleted (``MessageEmpty``) when asked for them by id."""
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


# Telethon's named errors keep a generic ``message`` (BAD_REQUEST); their RPC string is the class's key.
_RPC_NAMES: dict[type[BaseException], str] = {
    **{cls: re.sub(r"\(\\d\+\)", "X", pattern) for pattern, cls in rpcerrorlist.rpc_errors_re},
    **{cls: name for name, cls in rpcerrorlist.rpc_errors_dict.items()},
}


def rpc_name(exc: errors.RPCError) -> str:
    """Telegram's error string (``CHANNEL_PRIVATE``, ``FLOOD_WAIT_X``), not the generic ``BAD_REQUEST``."""
    return _RPC_NAMES.get(type(exc)) or str(exc.message)


@contextmanager
def translate_errors() -> Iterator[None]:
    """Map Telethon RPC errors to the reader's errors (flood, account, chat)."""
    try:
        yield
    except _FLOOD_ERRORS as exc:
        request = getattr(exc.request, "query", exc.request)  # unwrap InvokeWithoutUpdates
        raise FloodWait(int(exc.seconds), type(request).__name__) from exc
    except _ACCOUNT_ERRORS as exc:
        reason = f"the Telegram account cannot be used ({rpc_name(exc)}); log in again or replace it"
        raise AccountError(reason) from exc
    except _SERVICE_ERRORS as exc:
        raise TelegramUnavailable(f"Telegram is unreachable or failing ({type(exc).__name__})") from exc
    except tuple(_CHAT_ERRORS) as exc:
        raise ChatUnavailable(_CHAT_ERRORS[type(exc)], rpc_name(exc), rpc_name(exc)) from exc
    except errors.RPCError as exc:
        raise ChatUnavailable("chat_unavailable", rpc_name(exc), rpc_name(exc)) from exc
    except errors.TypeNotFoundError as exc:
        reason = (
            f"Telegram sent a constructor this Telethon version cannot read ({exc.invalid_constructor_id:08x}); "
            "the server's layer and Telethon's differ"
        )
        raise ChatUnavailable("unsupported_reply", reason) from exc
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


_SKIPPED_DOC_ATTRIBUTES = (
    types.DocumentAttributeSticker,
    types.DocumentAttributeAudio,
    types.DocumentAttributeVideo,
    types.DocumentAttributeAnimated,
    types.DocumentAttributeCustomEmoji,
)


def to_message(message: Any) -> TgMessage:
    """The reader's message from a Telethon one (text from ``.message``: ``.text`` needs a parse mode)."""
    media = getattr(message, "media", None)
    reply = getattr(message, "reply_to", None)
    forward = getattr(message, "fwd_from", None)
    return TgMessage(
        id=message.id,
        date=message.date,
        text=getattr(message, "message", None) or "",
        hidden_urls=tuple(
            e.url for e in getattr(message, "entities", None) or () if isinstance(e, types.MessageEntityTextUrl)
        ),
        grouped_id=getattr(message, "grouped_id", None),
        edit_date=getattr(message, "edit_date", None),
        post_author=getattr(message, "post_author", None) or None,
        reply_to=getattr(reply, "reply_to_msg_id", None) or None,
        forward_from=utils.get_peer_id(forward.from_id) if forward is not None and forward.from_id else None,
        forward_message_id=getattr(forward, "channel_post", None) or None,
        media_kind=type(media).__name__.removeprefix("MessageMedia").lower() if media is not None else None,
        document=_document(media),
        service=getattr(message, "action", None) is not None,
        chat=_chat(message),
    )


def _document(media: Any) -> TgDocument | None:
    if not isinstance(media, types.MessageMediaDocument) or not isinstance(media.document, types.Document):
        return None
    document = media.document
    name = next((a.file_name for a in document.attributes if isinstance(a, types.DocumentAttributeFilename)), None)
    return TgDocument(
        id=document.id,
        file_name=name,
        size=int(document.size or 0),
        mime_type=document.mime_type or None,
        fetchable=not any(isinstance(a, _SKIPPED_DOC_ATTRIBUTES) for a in document.attributes),
        handle=document,
    )


def _chat(message: Any) -> Peer | None:
    """The chat the server sent along with the message (after Telethon's ``_finish_init``)."""
    entity = getattr(message, "chat", None)
    if not isinstance(entity, types.Channel | types.Chat):
        return None
    try:
        return peer_from_entity(entity)
    except ChatUnavailable:
        return None


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
        self,
        client: Any,
        history_wait_time: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        account_id: int | None = None,
    ) -> None:
        self.client = client
        self.history_wait_time = history_wait_time
        self.account_id = account_id
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

    async def iter_after(self, peer: Peer, after_id: int) -> AsyncIterator[TgMessage]:
        with self._calling("GetHistoryRequest"):
            async for message in self.client.iter_messages(
                input_peer(peer), reverse=True, min_id=after_id, wait_time=self.history_wait_time
            ):
                if message.id > after_id:
                    yield to_message(message)

    async def download(
        self, peer: Peer, message: TgMessage, document: TgDocument, max_bytes: int, out: IO[bytes]
    ) -> int | None:
        with self._calling("GetFileRequest"):
            try:
                return await self._stream(document.handle, max_bytes, out)
            except errors.FileReferenceExpiredError:
                # Telethon refreshes references only inside download_media; do the same once here.
                fresh = await self.client.get_messages(input_peer(peer), ids=message.id)
                media = getattr(fresh, "media", None)
                if media is None or getattr(media, "document", None) is None:
                    raise
                out.seek(0)
                out.truncate()
                return await self._stream(media.document, max_bytes, out)

    async def deleted_ids(self, peer: Peer, ids: Sequence[int]) -> set[int]:
        wanted = sorted(set(ids))
        gone: set[int] = set()
        for at in range(0, len(wanted), 100):
            chunk = [types.InputMessageID(i) for i in wanted[at : at + 100]]
            with self._calling("GetMessagesRequest"):
                if peer.kind == "channel":
                    channel = types.InputChannel(peer.bare_id, peer.access_hash or 0)
                    result = await self.client(functions.channels.GetMessagesRequest(channel, chunk))
                else:
                    result = await self.client(functions.messages.GetMessagesRequest(chunk))
            gone.update(m.id for m in result.messages if isinstance(m, types.MessageEmpty))
        return gone

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
