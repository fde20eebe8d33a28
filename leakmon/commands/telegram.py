"""`leakmon telegram login|read|import-export`: the Telegram reader and the export importer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from pydantic import ValidationError

from crawlers.telegram.config import TelegramConfig
from crawlers.telegram.errors import AccountError, TelegramConfigError, TelegramUnavailable, UnknownChat
from leakmon.app import App
from leakmon.choices import Format, FormatOption
from leakmon.errors import ConfigError, InputError, LeakmonError, NotFoundError
from leakmon.output import err_console, write_records
from leakmon.settings import invalid_section

if TYPE_CHECKING:  # Telethon costs ~2 s to import: only the commands that talk to Telegram load it
    from crawlers.telegram.client import ClientFactory
    from crawlers.telegram.reader import ReadSummary

#: Builds the TelegramClient for `telegram login` and `telegram read` (None: Telethon's, from
#: crawlers.telegram.client). Tests set a factory answering from a fake world.
client_factory: ClientFactory | None = None

SUMMARY_COLUMNS = [
    "name",
    "status",
    "new_posts",
    "changed_posts",
    "removed_posts",
    "new_hits",
    "last_message_id",
    "retry_after",
    "reason",
]
IMPORT_COLUMNS = ["exports", "chats", "messages", "new", "changed", "unchanged", "files", "findings", "new_hits"]


class TelegramAccountError(LeakmonError):
    """The Telegram account or session cannot be used (revoked, banned, not logged in)."""

    exit_code = 5


class TelegramUnavailableError(LeakmonError):
    """Telegram cannot be reached, or keeps failing, right now."""

    exit_code = 6


def telegram_config(app: App) -> TelegramConfig:
    """``[telegram]`` validated; a bad section is one ConfigError sentence."""
    try:
        return TelegramConfig.from_settings(app.settings.telegram)
    except ValidationError as exc:
        raise invalid_section(exc, "telegram") from None


async def read_chats_app(
    app: App, names: Sequence[str] | None = None, *, force: bool = False, factory: ClientFactory | None = None
) -> ReadSummary:
    """Read chats with the app's database and ingest sink through one client made by ``factory``."""
    from crawlers.telegram.client import connect_source, telethon_client
    from crawlers.telegram.reader import ReaderDeps, read_chats, record_account_error
    from crawlers.telegram.state import SqlChatState
    from leakmon.keycheck import require_set_key
    from leakmon.runtime import build_sink

    config = telegram_config(app)
    require_set_key(app)
    sink = build_sink(app)
    source = None
    with telegram_errors():
        try:
            try:
                source = await connect_source(config, factory or client_factory or telethon_client)
            except AccountError as exc:
                record_account_error(sink, config, exc)
                raise
            deps = ReaderDeps(config, source, sink, SqlChatState(app.sessions))
            return await read_chats(deps, names, force=force)
        finally:
            if source is not None:
                await source.client.disconnect()


@contextmanager
def telegram_errors() -> Iterator[None]:
    """The reader's errors as leakmon errors (exit codes 2, 4, 5, 6), each one sentence."""
    try:
        yield
    except AccountError as exc:
        raise TelegramAccountError(str(exc)) from None
    except TelegramUnavailable as exc:
        raise TelegramUnavailableError(str(exc)) from None
    except TelegramConfigError as exc:
        raise ConfigError(str(exc)) from None
    except UnknownChat as exc:
        raise NotFoundError(str(exc)) from None


def login(
    phone: Annotated[str | None, typer.Option("--phone", help="Phone number; asked when omitted.")] = None,
) -> None:
    """Sign a user account in interactively (login code, 2FA password) and keep its session.

    With `session_file` configured the session is written there (mode 0600). Otherwise the
    StringSession is printed once: store it in the secret store as LEAKMON_TELEGRAM__SESSION_STRING.
    A new session connects to [telegram.server] when configured (test DCs, a self-hosted server).
    Exit code 5 when signing in fails, 6 when Telegram cannot be reached.
    """
    config = telegram_config(App())
    with telegram_errors():
        who, secret = asyncio.run(login_app(config, phone))
    err_console.print(f"logged in: {who}")
    if secret:
        err_console.print("store this session string as LEAKMON_TELEGRAM__SESSION_STRING (a full credential):")
        typer.echo(secret)


async def login_app(
    config: TelegramConfig, phone: str | None, factory: ClientFactory | None = None
) -> tuple[str, str | None]:
    """Sign in on a client made by ``factory`` (prompting on the terminal); who, and the session string."""
    from crawlers.telegram.client import login as sign_in
    from crawlers.telegram.client import open_client, telethon_client

    client = await open_client(config, factory or client_factory or telethon_client, for_login=True)
    try:
        return await sign_in(
            client,
            phone=lambda: phone or typer.prompt("phone number"),
            code=lambda: typer.prompt("login code"),
            password=lambda: typer.prompt("2FA password", hide_input=True),
        )
    finally:
        await client.disconnect()


def read(
    chats: Annotated[
        list[str] | None, typer.Argument(help="Chat names configured under telegram.chats; default all.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Read even chats deferred by a flood wait.")] = False,
    fmt: FormatOption = Format.TABLE,
    output: Annotated[str | None, typer.Option("--output", help="Write the summary here.")] = None,
) -> None:
    """Read configured chats now: new messages since each chat's checkpoint, plus a re-read tail.

    Exit code 5 when the account cannot be used (revoked session, banned account), 6 when Telegram
    cannot be reached. Chats deferred by a long flood wait show their retry time.
    """
    app = App()
    try:
        summary = asyncio.run(read_chats_app(app, chats or None, force=force))
    finally:
        app.close()
    for chat in summary.chats:
        for finding in chat.findings:
            err_console.print(f"finding: {finding.locator}: {finding.kind}: {finding.reason}")
    records = [{k: v for k, v in asdict(c).items() if k in SUMMARY_COLUMNS} for c in summary.chats]
    write_records(records, fmt=fmt, columns=SUMMARY_COLUMNS, output=output, title="telegram chats")


def import_export(
    directory: Annotated[Path, typer.Argument(help="Export directory (with result.json) or a result.json file.")],
    tz: Annotated[
        str, typer.Option("--timezone", help="Zone of the export's local dates (old exports lack unix times).")
    ] = "UTC",
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Import a Telegram Desktop "Export chat history" (JSON) through the ingest sink.

    Posts get the live reader's ids and permalinks, so importing the same export twice adds nothing.
    Files not included in the export are reported as findings.
    """
    from crawlers.telegram.export import ExportImporter
    from crawlers.telegram.state import SqlChatState
    from leakmon.runtime import build_sink

    if not directory.exists():
        raise InputError(f"{directory} does not exist")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {tz!r}") from None
    app = App()
    try:
        config = telegram_config(app)
        app.require_schema()
        importer = ExportImporter(
            build_sink(app),
            source=config.source_name,
            username_for=SqlChatState(app.sessions).username_for,
            max_attachment_bytes=config.max_attachment_bytes,
            local_tz=zone,
        )
        summary = importer.import_path(directory)
    finally:
        app.close()
    if summary.exports == 0:
        raise InputError(f"no result.json found in {directory}")
    for finding in summary.details:
        err_console.print(f"finding: {finding.locator}: {finding.kind}: {finding.reason}")
    record = {k: v for k, v in asdict(summary).items() if k in IMPORT_COLUMNS}
    write_records([record], fmt=fmt, columns=IMPORT_COLUMNS, title="telegram export import")


def register(app: typer.Typer) -> None:
    telegram = typer.Typer(
        help="Read Telegram chats with a user account; import Telegram Desktop exports.",
        no_args_is_help=True,
    )
    telegram.command("login")(login)
    telegram.command("read")(read)
    telegram.command("import-export")(import_export)
    app.add_typer(telegram, name="telegram")
