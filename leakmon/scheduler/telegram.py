"""Read one configured Telegram chat on the scheduler's event loop with ONE long-lived client.

The client is created on first use and kept for the life of the scheduler; chats are read one at a
time (a Telethon ``.session`` must never be used twice at once). A chat in flood wait comes back
``deferred`` with its ``retry_after``; the reader already saved its resume point.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crawlers.telegram.config import TelegramConfig
from crawlers.telegram.errors import AccountError, TelegramReaderError
from crawlers.telegram.reader import ReaderDeps, read_chats, record_account_error
from crawlers.telegram.state import SqlChatState
from leakmon.runtime import build_sink
from leakmon.scheduler.context import JobContext

if TYPE_CHECKING:
    from crawlers.telegram.client import ClientFactory


@dataclass
class ChatOutcome:
    status: str  # ok | deferred | failed
    posts: int = 0
    hits: int = 0
    errors: int = 0
    error: str | None = None
    retry_after: datetime | None = None
    stats: dict[str, Any] | None = None


async def telethon_port(context: JobContext, factory: ClientFactory | None = None) -> Any:
    """The default Telegram port: one connected, signed-in client made by the shared client factory."""
    from crawlers.telegram.client import connect_source, telethon_client

    config = TelegramConfig.from_settings(context.app.settings.telegram)
    return await connect_source(config, factory or telethon_client)


async def close_port(context: JobContext) -> None:
    client = getattr(context.telegram, "client", None)
    context.telegram = None
    if client is not None:
        with contextlib.suppress(Exception):
            await client.disconnect()


async def read_chat(context: JobContext, name: str, run_id: int) -> ChatOutcome:
    """Read chat ``name`` once through the shared client and the ingest sink."""
    config = TelegramConfig.from_settings(context.app.settings.telegram)
    async with context.telegram_lock:
        sink = await asyncio.to_thread(build_sink, context.app, run_id=run_id)
        try:
            if context.telegram is None:
                factory = context.options.telegram_factory or telethon_port
                port = factory(context)
                try:
                    context.telegram = await port if asyncio.iscoroutine(port) else port
                except AccountError as exc:
                    await asyncio.to_thread(record_account_error, sink, config, exc)
                    raise
            state = SqlChatState(context.app.sessions)
            deps = ReaderDeps(config=config, source=context.telegram, sink=sink, state=state)
            summary = await read_chats(deps, [name])
        except TelegramReaderError as exc:
            return ChatOutcome("failed", errors=1, error=f"{type(exc).__name__}: {exc}")
    chat = summary.chats[0]
    stats = {
        "status": chat.status,
        "new_posts": chat.new_posts,
        "changed_posts": chat.changed_posts,
        "removed": chat.removed_posts,
        "new_hits": chat.new_hits,
        "last_message_id": chat.last_message_id,
        "reason": chat.reason,
    }
    status = {"ok": "ok", "deferred": "deferred"}.get(chat.status, "failed")
    return ChatOutcome(
        status,
        posts=chat.new_posts + chat.changed_posts,
        hits=chat.new_hits,
        errors=0 if status == "ok" else 1,
        error=chat.reason if status == "failed" else None,
        retry_after=chat.retry_after,
        stats=stats,
    )
