"""Configured chat references (@name, t.me links, invite links) and resolved peers with permalinks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from telethon import utils as tl_utils

PeerKind = Literal["channel", "chat", "user"]
_PREVIEW = re.compile(r"^(?:https?://)?(?:www\.)?t\.me/s/([A-Za-z0-9_]{4,32})/?$")


@dataclass(frozen=True, slots=True)
class ChatRefSpec:
    """A configured reference, parsed: exactly one of ``username`` and ``invite_hash`` is set."""

    username: str | None = None
    invite_hash: str | None = None


def parse_ref(ref: str) -> ChatRefSpec:
    """Parse ``@name``, ``t.me/name``, ``t.me/s/name``, ``t.me/+HASH`` or ``t.me/joinchat/HASH``."""
    text = ref.strip()
    preview = _PREVIEW.match(text)
    if preview:
        return ChatRefSpec(username=preview.group(1).lower())
    value, is_invite = tl_utils.parse_username(text)
    if not value:
        raise ValueError(f"not a Telegram username or link: {ref!r}")
    if is_invite:
        return ChatRefSpec(invite_hash=value)
    return ChatRefSpec(username=value.lower())


@dataclass(frozen=True, slots=True)
class Peer:
    """A resolved chat: what we persist so it is never resolved again."""

    marked_id: int
    kind: PeerKind
    access_hash: int | None
    username: str | None
    title: str | None

    @property
    def bare_id(self) -> int:
        """The id without the -100 / - mark (what t.me/c/ links use)."""
        return unmark(self.marked_id)

    def permalink(self, message_id: int) -> str | None:
        """t.me/USERNAME/ID for public chats, t.me/c/ID/ID for other channels; None for basic groups."""
        return permalink(self.marked_id, self.username, message_id)

    def renamed(self, seen: Peer | None) -> Peer:
        """This peer with the username and title seen on a message of the same chat (kept otherwise)."""
        if seen is None or seen.marked_id != self.marked_id:
            return self
        return Peer(self.marked_id, self.kind, self.access_hash, seen.username, seen.title or self.title)


def unmark(marked_id: int) -> int:
    """Strip Telegram's marking: -100123 -> 123, -123 -> 123, 123 -> 123."""
    if marked_id <= -1_000_000_000_000:
        return -marked_id - 1_000_000_000_000
    return abs(marked_id)


def mark_channel(bare_id: int) -> int:
    """The marked id of a channel or supergroup (-100...)."""
    return -1_000_000_000_000 - bare_id


def is_channel(marked_id: int) -> bool:
    return marked_id <= -1_000_000_000_000


def permalink(marked_id: int, username: str | None, message_id: int) -> str | None:
    """The stable link to a message, as the reader and the export importer both build it."""
    if username:
        return f"https://t.me/{username}/{message_id}"
    if is_channel(marked_id):
        return f"https://t.me/c/{unmark(marked_id)}/{message_id}"
    return None


def external_id(marked_id: int, message_id: int) -> str:
    """The post key: ``<marked chat id>/<message id>`` (albums: the first message id)."""
    return f"{marked_id}/{message_id}"
