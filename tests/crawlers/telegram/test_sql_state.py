"""The reader and the export importer on the real ingest sink and schema (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, select
from tg_fakes import FakeTelegramClient, World, make_config

from crawlers.analyzer import Analyzer
from crawlers.ingest import IngestSink
from crawlers.telegram.export import ExportImporter
from crawlers.telegram.reader import ReaderDeps, read_chats
from crawlers.telegram.source import TelethonSource
from crawlers.telegram.state import SqlChatState
from storage.db import make_engine, make_sessionmaker
from storage.migrate import alembic_config, upgrade
from storage.models.core import FindingRecord, Post
from storage.models.telegram import TelegramChat
from storage.repositories import telegram as repo

MARKED = -1_000_000_000_111


class NoHits:
    def scan_text(
        self,
        text: str,
        *,
        columns: Sequence[str] | None = None,
        delimiter: str | None = None,
        record_scope: str = "line",
    ) -> list[Any]:
        return []

    def iter_hits(
        self,
        data: bytes,
        *,
        columns: Sequence[str] | None = None,
        delimiter: str | None = None,
        line_offset: int = 0,
    ) -> Iterator[list[Any]]:
        return iter(())


@pytest.fixture
def sessions(db_url: str) -> Any:
    engine = make_engine(db_url)
    upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def deps(world: World, sessions: Any) -> ReaderDeps:
    sink = IngestSink(sessions, Analyzer(NoHits()))
    source = TelethonSource(FakeTelegramClient(world), history_wait_time=0, account_id=world.account)
    return ReaderDeps(make_config(), source, sink, SqlChatState(sessions))


def test_reader_persists_chat_checkpoint_and_deletions(world: World, sessions: Any) -> None:
    channel = world.channel(111, "Leak shop", username="leakshop")
    for i in range(1, 5):
        world.post(channel, i, f"post {i}", media=world.document(f"{i}.csv", b"a,b\n1,2\n"))
    asyncio.run(read_chats(deps(world, sessions)))
    with sessions() as session:
        chat = repo.get_chat(session, "leaks")
        assert chat is not None
        assert (chat.marked_id, chat.access_hash, chat.username, chat.title) == (MARKED, 778, "leakshop", "Leak shop")
        assert repo.last_message_id(session, MARKED) == 4
        assert session.scalars(select(Post.external_id).order_by(Post.id)).all() == [
            f"{MARKED}/{i}" for i in range(1, 5)
        ]
    del channel.messages[3]
    world.post(channel, 5, "post 5")
    summary = asyncio.run(read_chats(deps(world, sessions)))
    assert (summary.chats[0].new_posts, summary.chats[0].removed_posts) == (1, 1)
    assert world.calls.count("ResolveUsernameRequest") == 1  # resolved once, from the database after
    with sessions() as session:
        assert repo.deletions(session, MARKED) == [3]
        removed = session.scalar(select(Post.removed_at).where(Post.external_id == f"{MARKED}/3"))
        assert removed is not None
        assert repo.last_message_id(session, MARKED) == 5


def test_long_flood_wait_is_stored_for_the_scheduler(world: World, sessions: Any) -> None:
    channel = world.channel(111, "Leak shop", username="leakshop")
    world.post(channel, 1, "x")
    world.fail("GetHistoryRequest", "FLOOD_WAIT_900")
    summary = asyncio.run(read_chats(deps(world, sessions)))
    with sessions() as session:
        row = session.scalars(select(TelegramChat)).one()
        assert row.not_before == summary.retry_after
        assert row.retry_reason is not None
        assert "900" in row.retry_reason
        kinds = session.scalars(select(FindingRecord.kind)).all()
        assert kinds == ["flood_wait"]


def test_export_of_a_chat_read_live_adds_nothing(world: World, sessions: Any, tmp_path: Path) -> None:
    channel = world.channel(111, "Leak shop", username="leakshop")
    world.post(channel, 1, "hello")
    world.post(channel, 2, "file", media=world.document("users.csv", b"a,b\n1,2\n"))
    asyncio.run(read_chats(deps(world, sessions)))
    export = tmp_path / "ChatExport"
    (export / "files").mkdir(parents=True)
    (export / "files" / "users.csv").write_bytes(b"a,b\n1,2\n")
    messages = [
        {"id": 1, "type": "message", "date": "2026-11-01T09:01:00", "date_unixtime": "1793523660", "text": "hello"},
        {
            "id": 2,
            "type": "message",
            "date": "2026-11-01T09:02:00",
            "date_unixtime": "1793523720",
            "text": "file",
            "file": "files/users.csv",
            "file_name": "users.csv",
        },
    ]
    root = {"name": "Leak shop", "type": "public_channel", "id": 111, "messages": messages}
    (export / "result.json").write_text(json.dumps(root), encoding="utf-8")
    state = SqlChatState(sessions)
    importer = ExportImporter(IngestSink(sessions, Analyzer(NoHits())), username_for=state.username_for)
    summary = importer.import_path(export)
    assert (summary.new, summary.changed, summary.unchanged) == (0, 0, 2)
    with sessions() as session:
        assert session.scalars(select(Post.url).order_by(Post.id)).all() == [
            "https://t.me/leakshop/1",
            "https://t.me/leakshop/2",
        ]


def test_identifier_shaped_chat_titles_are_not_stored(world: World, sessions: Any) -> None:
    channel = world.channel(111, "DB 판매 문의 010-0000-1111 / sales@example.com", username="leakshop")
    world.post(channel, 1, "x")
    asyncio.run(read_chats(deps(world, sessions)))
    with sessions() as session:
        chat = repo.get_chat(session, "leaks")
        assert chat is not None
        assert chat.title == "DB 판매 문의 [redacted] / [redacted]"


def test_telegram_branch_migrates_down_and_up_alone(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    config = alembic_config(db_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "telegram@-2")  # both telegram revisions
    tables = set(inspect(engine).get_table_names())
    assert "telegram_chats" not in tables
    assert "posts" in tables
    upgrade(engine)
    assert {"telegram_chats", "telegram_deletions"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_changing_a_chat_ref_forgets_its_resolution(sessions: Any) -> None:
    with sessions.begin() as session:
        chat = repo.get_or_create_chat(session, "shop", "@old")
        chat.marked_id, chat.kind, chat.access_hash, chat.username = MARKED, "channel", 5, "old"
    with sessions.begin() as session:
        assert repo.username_for(session, MARKED) == "old"
        chat = repo.get_or_create_chat(session, "shop", "@new")
        assert (chat.marked_id, chat.access_hash, chat.username) == (None, None, None)
    with sessions.begin() as session:
        assert repo.record_deletion(session, MARKED, 7) is True
        assert repo.record_deletion(session, MARKED, 7) is False
    with sessions() as session:
        assert repo.deletions(session, MARKED) == [7]


def _encrypted_zip(password: bytes) -> bytes:
    import io

    import pyzipper

    buffer = io.BytesIO()
    with pyzipper.AESZipFile(buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(password)
        archive.writestr("users.csv", "id,memo\n1,none\n")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("text", "password", "expected"),
    [
        pytest.param("샘플 DB, 비번: qwer1234", b"qwer1234", [], id="password-in-text"),
        pytest.param("샘플 DB", b"@leakshop", [], id="password-is-the-channel"),
        pytest.param("샘플 DB", b"unknowable", ["encrypted_no_password"], id="no-password"),
    ],
)
def test_archive_passwords_reach_the_files_reader(
    world: World, sessions: Any, text: str, password: bytes, expected: list[str]
) -> None:
    channel = world.channel(111, "Leak shop", username="leakshop")
    world.post(channel, 1, text, media=world.document("sample.zip", _encrypted_zip(password), mime="application/zip"))
    asyncio.run(read_chats(deps(world, sessions)))
    with sessions() as session:
        kinds = session.scalars(select(FindingRecord.kind).where(FindingRecord.kind != "flood_wait")).all()
    assert [k for k in kinds if k.startswith("encrypted")] == expected


def test_post_text_never_reaches_the_telegram_tables_or_findings(world: World, sessions: Any) -> None:
    phone, email = "010-2345-6789", "victim.synthetic@example.org"
    channel = world.channel(111, "Leak shop", username="leakshop")
    world.post(channel, 1, f"sample: {phone} {email}", media=world.document("x.csv", b"a" * 20_000))
    world.post(channel, 2, f"{phone}", media=world.document(f"{phone}.csv", b"b", declared=20_000))
    asyncio.run(read_chats(deps(world, sessions)))
    del channel.messages[2]
    asyncio.run(read_chats(deps(world, sessions)))
    with sessions() as session:
        dumped = repr(session.scalars(select(TelegramChat)).all()[0].__dict__)
        dumped += repr([(f.locator, f.kind, f.reason) for f in session.scalars(select(FindingRecord))])
        dumped += repr(repo.deletions(session, MARKED))
    assert "2345" not in dumped  # not even from the sender's file name ("[redacted].csv")
    assert "https://t.me/leakshop/2![redacted].csv" in dumped
    assert email not in dumped


def test_a_post_back_after_removal_clears_its_deletion_and_removed_at(world: World, sessions: Any) -> None:
    channel = world.channel(111, "Leak shop", username="leakshop")
    for i in range(1, 4):
        world.post(channel, i, f"post {i}")
    asyncio.run(read_chats(deps(world, sessions)))
    hidden = channel.messages.pop(2)
    asyncio.run(read_chats(deps(world, sessions)))
    with sessions() as session:
        assert repo.deletions(session, MARKED) == [2]
        assert repo.get_chat(session, "leaks").account_id == world.account  # type: ignore[union-attr]
    channel.messages[2] = hidden
    asyncio.run(read_chats(deps(world, sessions)))
    with sessions() as session:
        assert repo.deletions(session, MARKED) == []
        assert session.scalar(select(Post.removed_at).where(Post.external_id == f"{MARKED}/2")) is None


def test_account_wide_flood_wait_is_stored_for_the_next_process(world: World, sessions: Any) -> None:
    for channel_id, username in ((111, "leakshop"), (222, "other")):
        world.post(world.channel(channel_id, username.title(), username=username), 1, "x")
    world.fail("GetHistoryRequest", "FLOOD_WAIT_86400")
    chats = {"leaks": {"ref": "@leakshop"}, "other": {"ref": "@other"}}

    def process() -> ReaderDeps:  # a new client (no memory of waits) on the same database
        base = deps(world, sessions)
        return ReaderDeps(make_config(chats=chats), base.source, base.sink, base.state)

    asyncio.run(read_chats(process()))
    world.calls.clear()
    summary = asyncio.run(read_chats(process()))
    assert world.calls == []
    assert [c.status for c in summary.chats] == ["deferred", "deferred"]
    with sessions() as session:
        rows = {row.name: row for row in session.scalars(select(TelegramChat))}
    assert rows["other"].not_before == rows["leaks"].not_before is not None
    assert "86400" in (rows["other"].retry_reason or "")
