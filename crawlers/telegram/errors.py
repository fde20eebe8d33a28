"""Errors of the Telegram reader, independent of Telethon (the CLI maps them to exit codes)."""

from __future__ import annotations


class TelegramReaderError(Exception):
    """Base of every Telegram reader error."""


class AccountError(TelegramReaderError):
    """The account or session is unusable (revoked, unregistered, banned): stop and alert."""


class TelegramConfigError(TelegramReaderError):
    """A Telegram setting cannot be used (for example an unreadable server key file)."""


class TelegramUnavailable(TelegramReaderError):
    """Telegram cannot be reached or keeps failing internally (after Telethon's retries): stop the run."""


class FloodWait(TelegramReaderError):
    """Telegram asked us to wait longer than the client sleeps through."""

    def __init__(self, seconds: int, method: str) -> None:
        super().__init__(f"flood wait of {seconds} s on {method}")
        self.seconds = seconds
        self.method = method


class ChatUnavailable(TelegramReaderError):
    """The chat cannot be read: unknown username, private, banned, or not a member.

    ``kind`` is a stable finding kind (``invite_expired``, ``invite_invalid``, ``join_pending``,
    ``not_member``, ``chat_unavailable``, ``unsupported_reply``); ``rpc`` is Telegram's error name
    (``CHANNEL_PRIVATE``...) when the server sent one.
    """

    def __init__(self, kind: str, reason: str, rpc: str | None = None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.rpc = rpc


class UnknownChat(TelegramReaderError):
    """A chat name that is not configured under [telegram.chats]."""
