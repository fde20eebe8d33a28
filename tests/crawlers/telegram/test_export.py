"""Telegram Desktop export import: both text shapes, files present/absent, both export shapes, idempotence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from tg_fakes import FakeSink

from crawlers.telegram.export import ExportImporter, marked_chat_id, message_text, message_time

SEOUL = timezone(timedelta(hours=9))


def write_export(directory: Path, root: dict[str, Any], files: dict[str, bytes] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "result.json").write_text(json.dumps(root, ensure_ascii=False), encoding="utf-8")
    for relative, data in (files or {}).items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return directory


def channel_export(messages: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return {"name": "DB 판매", "type": "private_channel", "id": 1234567, "messages": messages, **kw}


MESSAGES: list[dict[str, Any]] = [
    {"id": 1, "type": "service", "date": "2026-10-01T10:00:00", "action": "create_channel", "text": ""},
    {
        "id": 2,
        "type": "message",
        "date": "2026-10-01T10:05:00",
        "date_unixtime": "1790845500",
        "text": "plain text post",
    },
    {
        "id": 3,
        "type": "message",
        "date": "2026-10-01T10:06:00",
        "date_unixtime": "1790845560",
        "text": [
            "Download ",
            {"type": "text_link", "text": "here", "href": "https://files.example/x.zip"},
            ", 비번: qwer1234",
        ],
        "text_entities": [
            {"type": "plain", "text": "Download "},
            {"type": "text_link", "text": "here", "href": "https://files.example/x.zip"},
            {"type": "plain", "text": ", 비번: qwer1234"},
        ],
    },
    {
        "id": 4,
        "type": "message",
        "date": "2026-10-01T10:07:00",
        "date_unixtime": "1790845620",
        "text": ["list ", {"type": "bold", "text": "inside"}],
        "file": "files/users.csv",
        "file_name": "users.csv",
        "mime_type": "text/csv",
    },
    {
        "id": 5,
        "type": "message",
        "date": "2026-10-01T10:08:00",
        "date_unixtime": "1790845680",
        "text": "",
        "file": "(File not included. Change data exporting settings to download.)",
        "file_name": "big.zip",
        "file_size": 99999999,
    },
    {
        "id": 6,
        "type": "message",
        "date": "2026-10-01T10:09:00",
        "date_unixtime": "1790845740",
        "text": "missing file",
        "file": "files/gone.csv",
    },
    {
        "id": 7,
        "type": "message",
        "date": "2026-10-01T10:10:00",
        "date_unixtime": "1790845800",
        "text": "sneaky",
        "file": "../../outside.csv",
    },
    {
        "id": 8,
        "type": "message",
        "date": "2026-10-01T10:11:00",
        "date_unixtime": "1790845860",
        "text": "",
        "file": "stickers/s.webp",
        "media_type": "sticker",
    },
]


def test_single_chat_export(tmp_path: Path) -> None:
    export = write_export(tmp_path / "ChatExport", channel_export(MESSAGES), {"files/users.csv": b"a,b\n1,2\n"})
    (tmp_path / "outside.csv").write_bytes(b"secret")
    sink = FakeSink()
    summary = ExportImporter(sink).import_path(export)
    assert (summary.chats, summary.messages, summary.new, summary.files) == (1, 7, 7, 1)
    posts = {p.external_id: p for p, _ in sink.log}
    assert sorted(posts) == [f"-1000001234567/{i}" for i in range(2, 9)]
    assert posts["-1000001234567/2"].url == "https://t.me/c/1234567/2"
    assert posts["-1000001234567/2"].venue == "telegram_export"
    assert posts["-1000001234567/2"].posted_at == datetime.fromtimestamp(1790845500, UTC)
    assert posts["-1000001234567/3"].text == "Download here, 비번: qwer1234\nhttps://files.example/x.zip"
    assert "qwer1234" in sink.passwords["-1000001234567/3"]
    assert posts["-1000001234567/4"].text == "list inside"
    assert sink.files["-1000001234567/4"] == [b"a,b\n1,2\n"]
    assert "DB 판매" in sink.passwords["-1000001234567/4"]  # the chat name, a common archive password
    kinds = {key: [f.kind for f in found] for key, found in sink.post_findings.items() if found}
    assert kinds == {
        "-1000001234567/5": ["file_not_exported"],
        "-1000001234567/6": ["file_missing"],
        "-1000001234567/7": ["path_traversal"],
    }
    assert sink.files["-1000001234567/7"] == [None]  # never read from outside the export
    assert posts["-1000001234567/8"].attachments == ()


@pytest.mark.parametrize("cut", [0.6, None])
def test_a_damaged_export_keeps_the_messages_before_the_damage(tmp_path: Path, cut: float | None) -> None:
    posts = [
        {"id": i, "type": "message", "date_unixtime": str(1790845500 + i), "text": f"post {i}"} for i in range(1, 41)
    ]
    export = write_export(tmp_path / "e", channel_export(posts))
    data = (export / "result.json").read_bytes()
    if cut is not None:  # an interrupted download
        data = data[: int(len(data) * cut)]
    else:  # garbage in the middle of the message list
        at = data.index(b'"id": 30')
        data = data[:at] + b"}}}" + data[at:]
    (export / "result.json").write_bytes(data)
    sink = FakeSink()
    summary = ExportImporter(sink).import_path(export)
    imported = [p.external_id for p, _ in sink.log]
    assert 10 < len(imported) < 40
    assert imported == [f"-1000001234567/{i}" for i in range(1, len(imported) + 1)]  # in order, none skipped
    assert [f.kind for f in summary.details] == ["corrupt"]
    assert "ends early or is not valid JSON" in summary.details[0].reason
    assert f"{len(imported)} message(s)" in summary.details[0].reason


def test_an_account_export_is_read_chat_by_chat(tmp_path: Path) -> None:
    from crawlers.telegram.export import stream_chats

    chats = [channel_export(MESSAGES[:3]), {**channel_export(MESSAGES[3:5]), "id": 99, "name": "두번째"}]
    export = write_export(
        tmp_path / "acct", {"about": "x", "chats": {"list": chats[:1]}, "left_chats": {"list": chats[1:]}}
    )
    seen = [(chat["id"], [m["id"] for m in messages]) for chat, messages in stream_chats(export / "result.json")]
    assert seen == [(1234567, [1, 2, 3]), (99, [4, 5])]


def test_importing_the_same_export_twice_adds_nothing(tmp_path: Path) -> None:
    export = write_export(tmp_path / "e", channel_export(MESSAGES), {"files/users.csv": b"a,b\n"})
    sink = FakeSink()
    importer = ExportImporter(sink)
    importer.import_path(export)
    second = importer.import_path(export)
    assert (second.new, second.changed, second.unchanged) == (0, 0, 7)
    assert len(sink.posts) == 7


def test_full_account_export_and_public_permalinks(tmp_path: Path) -> None:
    root = {
        "about": "export",
        "chats": {
            "about": "",
            "list": [
                {
                    "name": "Shop",
                    "type": "public_channel",
                    "id": 111,
                    "messages": [
                        {
                            "id": 9,
                            "type": "message",
                            "date": "2026-10-01T10:00:00",
                            "date_unixtime": "1790845200",
                            "text": "hello",
                        }
                    ],
                },
                {
                    "name": "Friends",
                    "type": "private_group",
                    "id": 55,
                    "messages": [{"id": 3, "type": "message", "date": "2026-10-01T10:00:00", "text": "hi"}],
                },
            ],
        },
        "left_chats": {
            "about": "",
            "list": [
                {
                    "name": "Old",
                    "type": "private_supergroup",
                    "id": 77,
                    "messages": [{"id": 1, "type": "message", "date": "2026-10-01T10:00:00", "text": "bye"}],
                },
            ],
        },
    }
    export = write_export(tmp_path / "full", root)
    sink = FakeSink()
    usernames = {-1000000000111: "leakshop"}
    ExportImporter(sink, username_for=usernames.get, local_tz=SEOUL).import_path(tmp_path)
    posts = {p.external_id: p for p, _ in sink.log}
    assert set(posts) == {"-1000000000111/9", "-55/3", "-1000000000077/1"}
    assert posts["-1000000000111/9"].url == "https://t.me/leakshop/9"  # same link as the live reader
    assert posts["-55/3"].url is None  # basic groups have no message links
    assert posts["-55/3"].posted_at == datetime(2026, 10, 1, 1, 0, tzinfo=UTC)  # local date, Seoul
    assert export.is_dir()


@pytest.mark.parametrize(
    ("chat", "expected"),
    [
        ({"type": "public_channel", "id": 5}, -1000000000005),
        ({"type": "private_supergroup", "id": 5}, -1000000000005),
        ({"type": "private_group", "id": 5}, -5),
        ({"type": "personal_chat", "id": 5}, 5),
        ({"type": "saved_messages"}, None),
    ],
)
def test_marked_ids(chat: dict[str, Any], expected: int | None) -> None:
    assert marked_chat_id(chat) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"text": "plain"}, "plain"),
        ({"text": ["a ", {"type": "bold", "text": "b"}, " c"]}, "a b c"),
        ({"text": "ignored", "text_entities": [{"type": "plain", "text": "preferred"}]}, "preferred"),
        ({"text": [{"type": "text_link", "text": "x", "href": "https://h/1"}]}, "x\nhttps://h/1"),
        ({}, ""),
    ],
)
def test_message_text(message: dict[str, Any], expected: str) -> None:
    assert message_text(message) == expected


def test_unixtime_wins_over_local_date() -> None:
    message = {"date": "2026-10-01T10:00:00", "date_unixtime": "0"}
    assert message_time(message, "date", SEOUL) == datetime(1970, 1, 1, tzinfo=UTC)
    assert message_time({"date": "2026-10-01T10:00:00"}, "date", UTC) == datetime(2026, 10, 1, 10, tzinfo=UTC)
    assert message_time({}, "edited", UTC) is None
