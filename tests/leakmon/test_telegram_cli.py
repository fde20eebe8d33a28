"""`leakmon telegram ...`: help, export import end to end, account errors, and the app-level read."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from pathlib import Path

import pytest
from telethon.crypto import AuthKey
from telethon.sessions import StringSession
from telethon.sessions.abstract import Session
from typer.testing import CliRunner

from crawlers.telegram.config import TelegramConfig
from leakmon.app import App
from leakmon.cli import app, main
from leakmon.commands import telegram as telegram_commands
from leakmon.commands.telegram import read_chats_app
from storage.models.core import FindingRecord
from tests.crawlers.telegram.tg_fakes import Dials, FakeTelegramClient, World, fake_factory

runner = CliRunner()


def _configure(workspace: Path, monkeypatch: pytest.MonkeyPatch, toml: str) -> None:
    """Use ``toml`` as the workspace's configuration, with a signed-in session in the environment."""
    config = workspace / "leakmon.toml"
    config.write_text(toml, "utf-8")
    monkeypatch.setenv("LEAKMON_CONFIG", str(config))
    monkeypatch.setenv("LEAKMON_TELEGRAM__SESSION_STRING", _session_string())


def _session_string() -> str:
    session = StringSession()
    session.set_dc(2, "127.0.0.1", 443)
    session.auth_key = AuthKey(bytes(range(256)))
    return str(session.save())


@pytest.fixture(autouse=True)
def dials(monkeypatch: pytest.MonkeyPatch) -> Dials:
    """No test reaches Telegram: non-loopback connections are refused (and recorded)."""
    return Dials.installed(monkeypatch)


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Telethon's reconnect delays pass at once."""
    real_sleep = asyncio.sleep

    async def fake_sleep(delay: float, result: object = None) -> object:
        return await real_sleep(0, result)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEAKMON_CONFIG", raising=False)
    monkeypatch.delenv("LEAKMON_DATABASE_URL", raising=False)
    monkeypatch.setenv("LEAKMON_HOME", str(tmp_path / "home"))
    for name in ("API_ID", "API_HASH", "SESSION_STRING", "SESSION_FILE"):
        monkeypatch.delenv(f"LEAKMON_TELEGRAM__{name}", raising=False)
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    return tmp_path


@pytest.mark.parametrize("command", [[], ["login"], ["read"], ["import-export"]], ids=" ".join)
def test_help(command: list[str]) -> None:
    result = runner.invoke(app, ["telegram", *command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_import_export_twice_adds_nothing(workspace: Path) -> None:
    export = workspace / "ChatExport"
    (export / "files").mkdir(parents=True)
    (export / "files" / "list.csv").write_bytes(b"id,memo\n1,none\n")
    root = {
        "name": "Shop",
        "type": "private_channel",
        "id": 4242,
        "messages": [
            {"id": 1, "type": "message", "date": "2026-10-01T10:00:00", "text": "hello"},
            {"id": 2, "type": "message", "date": "2026-10-01T10:01:00", "text": "", "file": "files/list.csv"},
            {
                "id": 3,
                "type": "message",
                "date": "2026-10-01T10:02:00",
                "text": "",
                "file": "(File not included. Change data exporting settings to download.)",
            },
        ],
    }
    (export / "result.json").write_text(json.dumps(root), encoding="utf-8")
    first = runner.invoke(app, ["telegram", "import-export", str(export), "--format", "jsonl"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout.splitlines()[-1])["new"] == 3
    assert "file_not_exported" in first.stderr
    second = runner.invoke(app, ["telegram", "import-export", str(export), "--format", "jsonl"])
    assert second.exit_code == 0, second.output
    counts = json.loads(second.stdout.splitlines()[-1])
    assert (counts["new"], counts["changed"], counts["unchanged"]) == (0, 0, 3)


def test_import_export_of_an_empty_directory_is_an_input_error(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace / "empty").mkdir()
    with pytest.raises(SystemExit) as exited:
        main(["telegram", "import-export", str(workspace / "empty")])
    assert exited.value.code == 2
    assert "no result.json" in capsys.readouterr().err


def test_read_without_a_session_is_an_account_error(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEAKMON_TELEGRAM__API_ID", "1")
    monkeypatch.setenv("LEAKMON_TELEGRAM__API_HASH", "x" * 32)
    with pytest.raises(SystemExit) as exited:
        main(["telegram", "read"])
    assert exited.value.code == 5
    assert "no Telegram session configured" in capsys.readouterr().err


def test_read_chats_app_on_the_real_sink(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _configure(workspace, monkeypatch, '[telegram]\nhistory_wait_time = 0\n[telegram.chats.shop]\nref = "@leakshop"\n')
    world = World()
    world.authorized = True
    channel = world.channel(111, "Leak shop", username="leakshop")
    world.post(channel, 1, "hello")
    world.post(channel, 2, "file", media=world.document("users.csv", b"a,b\n1,2\n"))
    application = App()
    try:
        summary = asyncio.run(read_chats_app(application, factory=fake_factory(world)))
        assert [(c.name, c.status, c.new_posts) for c in summary.chats] == [("shop", "ok", 2)]
        again = asyncio.run(read_chats_app(application, factory=fake_factory(world)))
        assert again.chats[0].new_posts == 0
    finally:
        application.close()


def test_unknown_chat_name_is_not_found(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKMON_TELEGRAM__SESSION_STRING", _session_string())
    world = World()
    world.authorized = True
    application = App()
    with pytest.raises(Exception, match="no chat named 'nope'") as raised:
        asyncio.run(read_chats_app(application, ["nope"], factory=fake_factory(world)))
    application.close()
    assert type(raised.value).__name__ == "NotFoundError"


def test_login_prints_the_string_session_once(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = World()

    def fake_client(config: TelegramConfig, session: Session) -> FakeTelegramClient:
        session.auth_key = AuthKey(bytes(range(256)))  # as if the key exchange had run
        return fake_factory(world)(config, session)

    monkeypatch.setattr(telegram_commands, "client_factory", fake_client)
    result = runner.invoke(app, ["telegram", "login", "--phone", "+821000000000"], input=f"{world.login_code}\n")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert StringSession(secret).dc_id == 2
    assert "LEAKMON_TELEGRAM__SESSION_STRING" in result.stderr
    assert secret not in result.stderr


@pytest.mark.parametrize("server", [None, "loopback"])
@pytest.mark.usefixtures("no_sleep")
def test_login_when_telegram_is_unreachable_is_one_sentence(
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    dials: Dials,
    server: str | None,
) -> None:
    monkeypatch.setenv("LEAKMON_TELEGRAM__API_ID", "1")
    monkeypatch.setenv("LEAKMON_TELEGRAM__API_HASH", "x" * 32)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as in a fresh `leakmon` process
    if server:
        with socket.socket() as probe:  # a loopback port nothing listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        config = workspace / "leakmon.toml"
        config.write_text(f'[telegram.server]\nhost = "127.0.0.1"\nport = {port}\n', "utf-8")
        monkeypatch.setenv("LEAKMON_CONFIG", str(config))
    with pytest.raises(SystemExit) as exited:
        main(["telegram", "login", "--phone", "+821000000000"])
    assert exited.value.code == 6
    err = capsys.readouterr().err.strip()
    assert "Telegram is unreachable" in err
    assert len(err.splitlines()) == 1
    assert dials.addresses
    if server:
        assert {host for host, _ in dials.addresses} == {"127.0.0.1"}  # [telegram.server], not production
    else:
        assert {host for host, _ in dials.addresses} == {"149.154.167.51"}  # refused by the guard


def test_read_with_a_revoked_session_leaves_an_account_error_finding(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _configure(workspace, monkeypatch, '[telegram.chats.shop]\nref = "@leakshop"\n')
    world = World()
    world.revoked = True
    monkeypatch.setattr(telegram_commands, "client_factory", fake_factory(world))
    with pytest.raises(SystemExit) as exited:
        main(["telegram", "read"])
    assert exited.value.code == 5
    assert "SESSION_REVOKED" in capsys.readouterr().err
    application = App()
    try:
        with application.sessions() as session:
            findings = [(f.locator, f.kind) for f in session.query(FindingRecord)]
    finally:
        application.close()
    assert findings == [("telegram:account", "account_error")]
