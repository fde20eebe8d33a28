"""Pure pieces: reference parsing, permalinks and ids, safe names, message normalization, config."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from telethon.tl import types

from crawlers.telegram.config import ChatConfig, ServerConfig, TelegramConfig
from crawlers.telegram.normalize import compose_text, normalize, safe_name
from crawlers.telegram.refs import ChatRefSpec, Peer, external_id, mark_channel, parse_ref, permalink, unmark
from crawlers.telegram.source import to_message

PUBLIC = Peer(-1000000000111, "channel", 778, "leakshop", "Leak shop")
PRIVATE = Peer(-1000000000333, "channel", 99, None, "Private")
GROUP = Peer(-4242, "chat", None, None, "Old group")
WHEN = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("@LeakShop", ChatRefSpec(username="leakshop")),
        ("leakshop", ChatRefSpec(username="leakshop")),
        ("https://t.me/leakshop", ChatRefSpec(username="leakshop")),
        ("t.me/s/leakshop", ChatRefSpec(username="leakshop")),
        ("https://t.me/+AbCdEf123", ChatRefSpec(invite_hash="AbCdEf123")),
        ("https://t.me/joinchat/AbCdEf123", ChatRefSpec(invite_hash="AbCdEf123")),
        ("tg://join?invite=AbCdEf123", ChatRefSpec(invite_hash="AbCdEf123")),
    ],
)
def test_parse_ref(ref: str, expected: ChatRefSpec) -> None:
    assert parse_ref(ref) == expected


@pytest.mark.parametrize("ref", ["", "https://example.com/x", "@"])
def test_parse_ref_rejects_non_telegram(ref: str) -> None:
    with pytest.raises(ValueError, match="not a Telegram"):
        parse_ref(ref)


@pytest.mark.parametrize(
    ("peer", "expected"),
    [
        (PUBLIC, "https://t.me/leakshop/7"),
        (PRIVATE, "https://t.me/c/333/7"),
        (GROUP, None),
    ],
    ids=["public", "private-channel", "basic-group"],
)
def test_permalinks(peer: Peer, expected: str | None) -> None:
    assert peer.permalink(7) == expected
    assert permalink(peer.marked_id, peer.username, 7) == expected


def test_marking_round_trips() -> None:
    assert mark_channel(333) == -1000000000333
    assert unmark(-1000000000333) == 333
    assert unmark(-4242) == 4242
    assert unmark(77) == 77
    assert external_id(-1000000000333, 7) == "-1000000000333/7"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("users.csv", "users.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\dump.sql", "dump.sql"),
        ("..", "fallback"),
        (".hidden", "hidden"),
        ("a\x00b\nc.txt", "abc.txt"),
        (None, "fallback"),
        ("x" * 400, "x" * 255),
        ("kim_010-1234-5678.xlsx", "kim_[redacted].xlsx"),
        ("dump for a.b@example.com.zip", "dump for [redacted]"),
    ],
)
def test_safe_name(name: str | None, expected: str) -> None:
    assert safe_name(name, "fallback") == expected


def test_compose_text_appends_unique_hidden_links() -> None:
    assert compose_text(["a", "", "b"], ["https://x", "https://x", ""]) == "a\nb\nhttps://x"


def test_normalize_album_with_forward_reply_and_hidden_link() -> None:
    first = types.Message(
        id=10,
        peer_id=types.PeerChannel(111),
        date=WHEN,
        message="KR customer DB, 50k rows",
        entities=[types.MessageEntityTextUrl(offset=0, length=2, url="https://files.example/kr.zip")],
        grouped_id=5,
        post_author="seller",
        fwd_from=types.MessageFwdHeader(date=WHEN, from_id=types.PeerChannel(999), channel_post=44),
        reply_to=types.MessageReplyHeader(reply_to_msg_id=3),
    )
    second = types.Message(
        id=11,
        peer_id=types.PeerChannel(111),
        date=WHEN,
        message="",
        grouped_id=5,
        edit_date=datetime(2026, 11, 2, tzinfo=UTC),
    )
    post = normalize([to_message(first), to_message(second)], PUBLIC, "telegram")
    assert post.external_id == "-1000000000111/10"
    assert post.url == "https://t.me/leakshop/10"
    assert post.text == "KR customer DB, 50k rows\nhttps://files.example/kr.zip"
    assert post.author == "seller"
    assert post.title == "Leak shop"
    assert post.posted_at == WHEN
    assert post.edited_at == datetime(2026, 11, 2, tzinfo=UTC)
    assert dict(post.extra) == {
        "chat_id": "-1000000000111",
        "message_ids": "10,11",
        "chat_username": "leakshop",
        "grouped_id": "5",
        "reply_to": "3",
        "forward_from": "-1000000000999",
        "forward_message_id": "44",
    }


def test_normalize_keeps_album_key_after_first_member_deleted() -> None:
    remaining = types.Message(id=11, peer_id=types.PeerChannel(333), date=WHEN, message="x", grouped_id=5)
    post = normalize([to_message(remaining)], PRIVATE, "telegram", key_id=10)
    assert post.external_id == "-1000000000333/10"
    assert post.url == "https://t.me/c/333/11"


def test_config_defaults_and_validation() -> None:
    config = TelegramConfig.from_settings({"chats": {"a": {"ref": "@a", "join": True}, "b": {"ref": "@b"}}})
    assert config.max_attachment_bytes == 50 * 1024 * 1024
    assert config.should_join(config.chats["a"]) is True
    assert config.should_join(config.chats["b"]) is False
    assert config.api_hash is None
    with pytest.raises(ValidationError):
        TelegramConfig.from_settings({"chats": {"a": {"ref": "@a", "typo": 1}}})
    with pytest.raises(ValidationError):
        TelegramConfig.from_settings({"reread_last_n": -1})


def test_secrets_are_not_printed() -> None:
    config = TelegramConfig.from_settings({"api_id": "12", "api_hash": "deadbeef" * 4, "session_string": "1Abc"})
    assert "deadbeef" not in repr(config)
    assert "1Abc" not in str(config.model_dump())


@pytest.mark.parametrize("model", [TelegramConfig, ChatConfig, ServerConfig])
def test_every_setting_is_described(model: type[TelegramConfig] | type[ChatConfig] | type[ServerConfig]) -> None:
    missing = [name for name, field in model.model_fields.items() if not field.description]
    assert missing == []
