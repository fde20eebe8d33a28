"""Sessions and clients: the one place a TelegramClient is made, connected and signed in.

``telegram login``, ``telegram read`` and the scheduler all go through :func:`open_client` with a
:class:`ClientFactory` (tests inject one that answers from a fake world). ``[telegram.server]`` is
applied to a new session before the client sees it: Telethon 1.39 picks its production default
while constructing the client, 1.45 while connecting, and both keep an address already set.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from telethon import TelegramClient, errors
from telethon.crypto import rsa
from telethon.sessions import SQLiteSession, StringSession
from telethon.sessions.abstract import Session
from telethon.tl import functions, types

from crawlers.telegram.config import ServerConfig, TelegramConfig
from crawlers.telegram.errors import AccountError, TelegramConfigError, TelegramUnavailable
from crawlers.telegram.source import TelethonSource, rpc_name, translate_errors

_TELETHON_LOG = logging.getLogger("telethon")


class ClientFactory(Protocol):
    """Builds an unconnected client for a session (called inside the running event loop)."""

    def __call__(self, config: TelegramConfig, session: Session) -> TelegramClient: ...


def telethon_client(config: TelegramConfig, session: Session) -> TelegramClient:
    """The default factory: a TelegramClient for a pure poller (no update handling, real errors surfaced)."""
    if config.api_id is None or config.api_hash is None:
        raise AccountError("api_id and api_hash are not configured (LEAKMON_TELEGRAM__API_ID / __API_HASH)")
    if not _TELETHON_LOG.handlers:  # its retry warnings reach leakmon's logging, never bare stderr
        _TELETHON_LOG.addHandler(logging.NullHandler())
    return TelegramClient(
        session,
        config.api_id,
        config.api_hash.get_secret_value(),
        flood_sleep_threshold=config.flood_sleep_threshold,
        raise_last_call_error=True,
        receive_updates=False,
        request_retries=5,
        use_ipv6=":" in (session.server_address or ""),
    )


def session_path(path: Path) -> Path:
    """The file Telethon actually uses (it appends ``.session`` when missing)."""
    return path if path.suffix == ".session" else path.with_name(path.name + ".session")


def make_session(config: TelegramConfig, *, for_login: bool = False) -> Session:
    """The configured session: a StringSession, else a SQLite session file that must be mode 0600.

    A session without an auth key starts on ``[telegram.server]`` when that is configured.
    """
    session: Session
    if config.session_string is not None:
        session = StringSession(config.session_string.get_secret_value())
    elif config.session_file is None:
        if not for_login:
            raise AccountError("no Telegram session configured; set LEAKMON_TELEGRAM__SESSION_STRING or session_file")
        session = StringSession()
    else:
        path = session_path(config.session_file)
        if path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise AccountError(f"session file {path} is readable by others; chmod 600 it")
        if not path.exists() and not for_login:
            raise AccountError(f"session file {path} does not exist; run `leakmon telegram login`")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        session = SQLiteSession(str(path))
    if config.server is not None:
        _apply_server(session, config.server)
    return session


def _apply_server(session: Session, server: ServerConfig) -> None:
    address = server.address()
    if address is not None and session.auth_key is None:
        session.set_dc(*address)
    if server.rsa_public_key_file is not None:
        try:
            rsa.add_key(server.rsa_public_key_file.read_bytes(), old=False)
        except (OSError, ValueError) as exc:
            raise TelegramConfigError(
                f"[telegram.server] rsa_public_key_file {server.rsa_public_key_file} is not a readable PEM "
                f"RSA public key ({type(exc).__name__})"
            ) from None


async def open_client(
    config: TelegramConfig, factory: ClientFactory = telethon_client, *, for_login: bool = False
) -> TelegramClient:
    """A connected client on the configured session (and server); unreachable → TelegramUnavailable."""
    client = factory(config, make_session(config, for_login=for_login))
    try:
        with translate_errors():
            await client.connect()
    except OSError as exc:  # after Telethon's retries; DNS and routing failures are plain OSErrors
        await client.disconnect()
        raise TelegramUnavailable(f"Telegram is unreachable ({type(exc).__name__})") from exc
    except BaseException:
        await client.disconnect()
        raise
    return client


async def signed_in_user(client: TelegramClient) -> int:
    """The signed-in account's user id; a revoked or never-signed-in session raises AccountError."""
    with translate_errors():
        users = await client(functions.users.GetUsersRequest([types.InputUserSelf()]))
    if not users or not isinstance(users[0], types.User):
        raise AccountError("the Telegram session is not logged in; run `leakmon telegram login`")
    return int(users[0].id)


async def login(
    client: TelegramClient, *, phone: Callable[[], str], code: Callable[[], str], password: Callable[[], str]
) -> tuple[str, str | None]:
    """Interactive sign-in (login code, then the 2FA password if set) on a connected client.

    Returns who signed in and, for a StringSession, the session string to store as a secret
    (None for a session file, which Telethon has written already).
    """
    try:
        await client.start(phone=phone, code_callback=code, password=password)
        me: Any = await client.get_me()
    except errors.RPCError as exc:
        raise AccountError(f"login failed ({rpc_name(exc)})") from exc
    except OSError as exc:  # the connection dropped after Telethon's retries
        raise TelegramUnavailable(f"Telegram is unreachable ({type(exc).__name__})") from exc
    saved = client.session.save() if isinstance(client.session, StringSession) else None
    return f"user id {me.id}", saved or None


async def connect_source(config: TelegramConfig, factory: ClientFactory = telethon_client) -> TelethonSource:
    """The reader's port over a connected, signed-in client (the caller disconnects ``source.client``)."""
    client = await open_client(config, factory)
    try:
        account = await signed_in_user(client)
    except BaseException:
        await client.disconnect()
        raise
    return TelethonSource(client, config.history_wait_time, account_id=account)
