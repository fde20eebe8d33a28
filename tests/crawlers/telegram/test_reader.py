"""The reader against the fake Telegram world: Telethon's own paging, download and flood code run."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from telethon.tl import types
from tg_fakes import Crash, FakeSink, World

from crawlers import spool
from crawlers.telegram.errors import AccountError, TelegramUnavailable, UnknownChat
from crawlers.telegram.reader import ReaderDeps, ReadSummary, read_chats
from crawlers.telegram.state import MemoryChatState

Deps = Callable[..., ReaderDeps]
MARKED = -1_000_000_000_111


def run(deps: ReaderDeps, *names: str) -> ReadSummary:
    return asyncio.run(read_chats(deps, list(names) or None))


def public_channel(world: World, count: int = 3) -> object:
    channel = world.channel(111, "Leak shop", username="leakshop")
    for i in range(1, count + 1):
        world.post(channel, i, f"post {i}")
    return channel


def ids(sink: FakeSink) -> list[str]:
    return [post.external_id for post, _ in sink.log]


def test_first_run_reads_everything_in_order_with_permalinks(world: World, sink: FakeSink, deps_for: Deps) -> None:
    public_channel(world, 3)
    summary = run(deps_for(sink))
    assert ids(sink) == [f"{MARKED}/1", f"{MARKED}/2", f"{MARKED}/3"]
    post = sink.log[0][0]
    assert post.url == "https://t.me/leakshop/1"
    assert post.venue == "telegram"
    assert post.text == "post 1"
    assert post.extra["chat_id"] == str(MARKED)
    assert post.posted_at is not None
    assert post.posted_at.tzinfo is not None
    assert sink.checkpoints[("telegram", str(MARKED))] == "3"
    assert summary.chats[0].new_posts == 3
    assert summary.chats[0].last_message_id == 3


def test_second_run_reads_only_new_messages(world: World, sink: FakeSink, deps_for: Deps) -> None:
    channel = public_channel(world, 3)
    state = MemoryChatState()
    run(deps_for(sink, state))
    for i in (4, 5):
        world.post(channel, i, f"post {i}")  # type: ignore[arg-type]
    summary = run(deps_for(sink, state))
    assert summary.chats[0].new_posts == 2
    assert [p.external_id for p, s in sink.log if s == "new"][-2:] == [f"{MARKED}/4", f"{MARKED}/5"]
    assert sink.statuses().count("new") == 5
    assert "changed" not in sink.statuses()
    assert sink.checkpoints[("telegram", str(MARKED))] == "5"


def test_incremental_read_pages_through_history(world: World, sink: FakeSink, deps_for: Deps) -> None:
    channel = world.channel(111, "Big", username="leakshop")
    for i in range(1, 251):
        world.post(channel, i, f"p{i}")
    state = MemoryChatState()
    run(deps_for(sink, state))
    assert len(sink.log) == 250
    assert world.calls.count("GetHistoryRequest") == 4  # three pages, then an empty one ends it
    for i in range(251, 261):
        world.post(channel, i, f"p{i}")
    world.calls.clear()
    summary = run(deps_for(sink, state))
    assert summary.chats[0].new_posts == 10
    assert world.calls == ["GetHistoryRequest", "GetHistoryRequest"]  # one page, one empty


def test_known_chat_is_never_resolved_again(world: World, sink: FakeSink, deps_for: Deps) -> None:
    public_channel(world)
    state = MemoryChatState()
    run(deps_for(sink, state))
    run(deps_for(sink, state))
    assert world.calls.count("ResolveUsernameRequest") == 1


def test_edit_in_reread_window_is_caught(world: World, sink: FakeSink, deps_for: Deps) -> None:
    channel = public_channel(world, 6)
    state = MemoryChatState()
    run(deps_for(sink, state, reread_last_n=3))
    world.edit(channel, 5, "post 5 now with 010-0000-0000")  # type: ignore[arg-type]
    world.edit(channel, 1, "too old to be re-read")  # type: ignore[arg-type]
    summary = run(deps_for(sink, state, reread_last_n=3))
    assert summary.chats[0].changed_posts == 1
    post, status = sink.log[-1]
    assert (post.external_id, status) == (f"{MARKED}/5", "changed")
    assert post.edited_at is not None
    assert len(sink.log) == 7  # unchanged re-read posts are not ingested again
    assert sink.checkpoints[("telegram", str(MARKED))] == "6"


def test_deleted_message_in_window_is_recorded(world: World, sink: FakeSink, deps_for: Deps) -> None:
    channel = public_channel(world, 5)
    state = MemoryChatState()
    run(deps_for(sink, state))
    del channel.messages[4]  # type: ignore[attr-defined]
    summary = run(deps_for(sink, state))
    assert sink.removed == [("telegram", f"{MARKED}/4")]
    assert state.deletions == {(MARKED, 4)}
    assert summary.chats[0].removed_posts == 1
    run(deps_for(sink, state))
    assert len(sink.removed) == 1  # reported once


def test_album_is_one_post_with_every_file(world: World, sink: FakeSink, deps_for: Deps) -> None:
    channel = world.channel(111, "Leak shop", username="leakshop")
    world.post(channel, 1, "before")
    world.post(channel, 2, "DB dump, 비번: s3cret!", grouped_id=77, media=world.document("a.csv", b"a,b\n1,2\n"))
    world.post(channel, 3, "", grouped_id=77, media=world.document("b.csv", b"c,d\n3,4\n"))
    world.post(channel, 4, "after")
    run(deps_for(sink))
    assert ids(sink) == [f"{MARKED}/1", f"{MARKED}/2", f"{MARKED}/4"]
    album = sink.posts[("telegram", f"{MARKED}/2")]
    assert album.extra["message_ids"] == "2,3"
    assert album.extra["grouped_id"] == "77"
    assert [a.name for a in album.attachments] == ["a.csv", "b.csv"]
    assert sink.files[f"{MARKED}/2"] == [b"a,b\n1,2\n", b"c,d\n3,4\n"]
    assert sink.passwords[f"{MARKED}/2"][0] == "s3cret!"
    assert {"@leakshop", "t.me/leakshop", "Leak shop"} <= set(sink.passwords[f"{MARKED}/2"])
    assert sink.passwords[f"{MARKED}/1"] == ()  # no files, nothing to open
    assert sink.checkpoints[("telegram", str(MARKED))] == "4"


def test_album_cut_by_the_reread_window_is_not_split(world: World, sink: FakeSink, deps_for: Deps) -> None:
    channel = world.channel(111, "Leak shop", username="leakshop")
    for i in range(1, 4):
        world.post(channel, i, f"a{i}", grouped_id=9, media=world.document(f"{i}.csv", b"x"))
    world.post(channel, 4, "single")
    state = MemoryChatState()
    run(deps_for(sink, state, reread_last_n=2))
    world.post(channel, 5, "new")
    run(deps_for(sink, state, reread_last_n=2))
    assert sorted({p.external_id for p, _ in sink.log}) == sorted([f"{MARKED}/1", f"{MARKED}/4", f"{MARKED}/5"])


@pytest.mark.parametrize(
    ("declared", "actual", "expect_data", "reason_part"),
    [
        pytest.param(500, 500, True, None, id="under-cap"),
        pytest.param(20_000, 500, False, "declared size 20000", id="declared-over-cap"),
        pytest.param(500, 20_000, False, "more than 10000 bytes arrived", id="actual-over-cap"),
    ],
)
def test_attachment_caps(
    world: World,
    sink: FakeSink,
    deps_for: Deps,
    declared: int,
    actual: int,
    expect_data: bool,
    reason_part: str | None,
) -> None:
    channel = world.channel(111, "Leak shop", username="leakshop")
    world.post(channel, 1, "file", media=world.document("../../etc/users.csv", b"x" * actual, declared=declared))
    summary = run(deps_for(sink))
    post = sink.posts[("telegram", f"{MARKED}/1")]
    (attachment,) = post.attachments
    assert attachment.name == "users.csv"  # the sender's path never survives
    assert attachment.declared_size == declared
    if expect_data:
        assert sink.files[f"{MARKED}/1"] == [b"x" * actual]
        assert attachment.skipped_reason is None
    else:
        assert sink.files[f"{MARKED}/1"] == [None]
        assert attachment.skipped_reason is not None
        assert reason_part in attachment.skipped_reason
        (finding,) = sink.post_findings[f"{MARKED}/1"]
        assert finding.kind == "cap_bytes"
        assert summary.chats[0].findings == [finding]
        assert finding.locator == "https://t.me/leakshop/1!users.csv"


def test_big_attachment_streams_in_chunks_to_a_private_temp_file(world: World, sink: FakeSink, deps_for: Deps) -> None:
    channel = world.channel(111, "Leak shop", username="leakshop")
    data = bytes(range(256)) * 4500  # 1.1 MB: three 512 KiB requests
    world.post(channel, 1, "dump", media=world.document("dump.sql", data))
    run(deps_for(sink, max_attachment_bytes=2_000_000, spool_bytes=100_000))
    assert sink.files[f"{MARKED}/1"] == [data]
    assert world.calls.count("GetFileRequest") == 3
    (attachment,) = sink.posts[("telegram", f"{MARKED}/1")].attachments
    assert attachment.path is not None
    assert not attachment.path.exists()  # removed once ingested
    assert not attachment.path.parent.exists()  # and the private spool directory after the run


def test_big_attachments_spool_inside_the_configured_workspace_spool(
    world: World, sink: FakeSink, deps_for: Deps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Leaked bytes never land in the system temp folder (issue 15 item 6)."""
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    channel = world.channel(111, "Leak shop", username="leakshop")
    world.post(channel, 1, "dump", media=world.document("dump.sql", b"y" * 300_000))
    root = tmp_path / "home" / "spool"
    spool.configure(root)
    monkeypatch.setattr(spool, "_root", spool.root())  # restored after the test
    run(deps_for(sink, max_attachment_bytes=2_000_000, spool_bytes=100_000))
    (attachment,) = sink.posts[("telegram", f"{MARKED}/1")].attachments
    assert attachment.path is not None
    assert attachment.path.is_relative_to(root)
    assert list(system_tmp.iterdir()) == []
    assert list(root.iterdir()) == []  # the run's spool folder is gone


def test_stickers_and_voice_are_not_downloaded(world: World, sink: FakeSink, deps_for: Deps) -> None:
    channel = world.channel(111, "Leak shop", username="leakshop")
    sticker = types.DocumentAttributeSticker(alt="", stickerset=types.InputStickerSetEmpty())
    world.post(channel, 1, "", media=world.document("s.webp", b"x", mime="image/webp", extra=[sticker]))
    run(deps_for(sink))
    assert sink.posts[("telegram", f"{MARKED}/1")].attachments == ()
    assert "GetFileRequest" not in world.calls


def test_short_flood_wait_is_slept_through(world: World, sink: FakeSink, deps_for: Deps, sleeps: list[float]) -> None:
    public_channel(world, 3)
    world.fail("GetHistoryRequest", "FLOOD_WAIT_7")
    summary = run(deps_for(sink, threshold=10))
    assert 7 in sleeps
    assert summary.chats[0].status == "ok"
    assert len(sink.log) == 3
    assert sink.findings == []


def test_long_flood_wait_ends_the_chat_run_and_resumes_later(world: World, sink: FakeSink, deps_for: Deps) -> None:
    channel = world.channel(111, "Big", username="leakshop")
    for i in range(1, 151):
        world.post(channel, i, f"p{i}")
    world.fail("GetHistoryRequest", "FLOOD_WAIT_300", skip=1)  # the second page
    state = MemoryChatState()
    deps = deps_for(sink, state, threshold=10)
    before = deps.clock()
    summary = run(deps)
    chat = summary.chats[0]
    assert chat.status == "deferred"
    assert chat.last_message_id == 99  # 100 waited for its possible album mates on the next page
    assert chat.retry_after is not None
    assert chat.retry_after >= before + timedelta(seconds=300)
    assert summary.retry_after == chat.retry_after
    assert state.records["leaks"].not_before == chat.retry_after
    assert "GetHistoryRequest" in (state.records["leaks"].retry_reason or "")
    assert sink.checkpoints[("telegram", str(MARKED))] == "99"
    assert [f.kind for _, f in sink.findings] == ["flood_wait"]
    # Before not_before the chat is skipped without a request.
    world.calls.clear()
    assert run(deps_for(sink, state)).chats[0].status == "deferred"
    assert world.calls == []
    # Once due (forced here), it resumes after message 100: nothing twice, nothing missing.
    asyncio.run(read_chats(deps_for(sink, state), force=True))
    assert [p.external_id for p, s in sink.log] == [f"{MARKED}/{i}" for i in range(1, 151)]
    assert state.records["leaks"].not_before is None


def test_huge_flood_wait_defers_every_remaining_chat(world: World, sink: FakeSink, deps_for: Deps) -> None:
    public_channel(world)
    other = world.channel(222, "Other", username="other")
    world.post(other, 1, "x")
    world.fail("GetHistoryRequest", "FLOOD_WAIT_86400")
    deps = deps_for(sink, chats={"leaks": {"ref": "@leakshop"}, "other": {"ref": "t.me/other"}}, max_flood_wait=3600)
    summary = run(deps)
    assert [(c.name, c.status, c.reason) for c in summary.chats] == [
        ("leaks", "deferred", "account_flood"),
        ("other", "deferred", "account_flood"),
    ]
    assert world.calls.count("GetHistoryRequest") == 1


def test_long_flood_wait_on_one_chat_defers_the_next_without_a_request(
    world: World, sink: FakeSink, deps_for: Deps
) -> None:
    public_channel(world)
    other = world.channel(222, "Other", username="other")
    world.post(other, 1, "x")
    world.fail("GetHistoryRequest", "FLOOD_WAIT_300")
    chats = {"leaks": {"ref": "@leakshop"}, "other": {"ref": "@other"}}
    summary = run(deps_for(sink, threshold=10, chats=chats))
    assert [c.status for c in summary.chats] == ["deferred", "deferred"]
    # Telethon remembers the wait per request type and raises early for the second chat.
    assert world.calls.count("GetHistoryRequest") == 1
    assert len(sink.findings) == 2


@pytest.mark.parametrize(
    ("rpc", "name"),
    [
        ("AUTH_KEY_UNREGISTERED", "AUTH_KEY_UNREGISTERED"),
        ("SESSION_REVOKED", "SESSION_REVOKED"),
        ("USER_DEACTIVATED_BAN", "USER_DEACTIVATED_BAN"),
        ("AUTH_KEY_DUPLICATED", "AUTH_KEY_DUPLICATED"),
    ],
)
def test_account_errors_stop_the_reader(world: World, sink: FakeSink, deps_for: Deps, rpc: str, name: str) -> None:
    public_channel(world)
    world.fail("ResolveUsernameRequest", rpc)
    with pytest.raises(AccountError, match=name):
        run(deps_for(sink))
    assert [f.kind for _, f in sink.findings] == ["account_error"]
    assert sink.log == []


def test_revoked_session_mid_read_keeps_what_was_ingested(world: World, sink: FakeSink, deps_for: Deps) -> None:
    channel = world.channel(111, "Big", username="leakshop")
    for i in range(1, 151):
        world.post(channel, i, f"p{i}")
    world.fail("GetHistoryRequest", "SESSION_REVOKED", skip=1)
    with pytest.raises(AccountError):
        run(deps_for(sink))
    assert sink.checkpoints[("telegram", str(MARKED))] == "99"


def test_expired_invite_is_a_finding_not_a_crash(world: World, sink: FakeSink, deps_for: Deps) -> None:
    public_channel(world)
    world.invites["AbCdEf123"] = "expired"
    state = MemoryChatState()
    chats = {"private": {"ref": "https://t.me/+AbCdEf123", "join": True}, "leaks": {"ref": "@leakshop"}}
    summary = run(deps_for(sink, state, chats=chats))
    assert [(c.name, c.status) for c in summary.chats] == [("private", "unavailable"), ("leaks", "ok")]
    assert [(f.locator, f.kind) for _, f in sink.findings] == [("telegram:private", "invite_expired")]
    assert state.records["private"].invite_state == "invite_expired"
    world.calls.clear()
    run(deps_for(sink, state, chats=chats))
    assert "CheckChatInviteRequest" not in world.calls  # not retried until the link changes


def test_invite_link_joins_private_channel_with_private_permalinks(
    world: World, sink: FakeSink, deps_for: Deps
) -> None:
    channel = world.channel(333, "Private dumps", member=False)
    world.post(channel, 10, "hello")
    world.invites["HashXyz"] = 333
    state = MemoryChatState()
    chats = {"private": {"ref": "https://t.me/joinchat/HashXyz"}}
    summary = run(deps_for(sink, state, chats=chats, join=True))
    assert summary.chats[0].status == "ok"
    assert world.calls[:2] == ["CheckChatInviteRequest", "ImportChatInviteRequest"]
    ((post, _),) = sink.log
    assert post.external_id == "-1000000000333/10"
    assert post.url == "https://t.me/c/333/10"
    assert state.records["private"].invite_state == "joined"


def test_invite_without_join_permission_is_reported(world: World, sink: FakeSink, deps_for: Deps) -> None:
    world.channel(333, "Private dumps", member=False)
    world.invites["HashXyz"] = 333
    summary = run(deps_for(sink, chats={"private": {"ref": "t.me/+HashXyz"}}))
    assert summary.chats[0].reason == "not_member"
    assert "ImportChatInviteRequest" not in world.calls


def test_unknown_username_is_reported(world: World, sink: FakeSink, deps_for: Deps) -> None:
    summary = run(deps_for(sink, chats={"gone": {"ref": "@nosuchchannel"}}))
    assert summary.chats[0].status == "unavailable"
    assert [f.kind for _, f in sink.findings] == ["chat_unavailable"]


def test_unknown_chat_name_is_an_error(world: World, sink: FakeSink, deps_for: Deps) -> None:
    with pytest.raises(UnknownChat):
        run(deps_for(sink), "nope")


def test_username_change_updates_permalinks(world: World, sink: FakeSink, deps_for: Deps) -> None:
    channel = public_channel(world, 1)
    state = MemoryChatState()
    run(deps_for(sink, state))
    channel.username = "leakshop2"  # type: ignore[attr-defined]
    world.post(channel, 2, "after rename")  # type: ignore[arg-type]
    run(deps_for(sink, state))
    assert sink.posts[("telegram", f"{MARKED}/2")].url == "https://t.me/leakshop2/2"
    assert state.records["leaks"].peer is not None
    assert state.records["leaks"].peer.username == "leakshop2"


def test_service_messages_are_skipped(world: World, sink: FakeSink, deps_for: Deps) -> None:
    channel = public_channel(world, 2)
    world.service(channel, 3)  # type: ignore[arg-type]
    world.post(channel, 4, "p4")  # type: ignore[arg-type]
    run(deps_for(sink))
    assert ids(sink) == [f"{MARKED}/1", f"{MARKED}/2", f"{MARKED}/4"]


@pytest.mark.parametrize("crash_on", [1, 2, 3, 5])
def test_crash_between_posts_then_resume(world: World, deps_for: Deps, crash_on: int) -> None:
    channel = world.channel(111, "Leak shop", username="leakshop")
    for i in range(1, 6):
        world.post(channel, i, f"p{i}", media=world.document(f"{i}.csv", b"a,b\n"))
    sink = FakeSink(crash_on=crash_on)
    state = MemoryChatState()
    with pytest.raises(Crash):
        run(deps_for(sink, state))
    assert len(sink.log) == crash_on - 1
    sink.crash_on = None
    run(deps_for(sink, state))
    new = [p.external_id for p, s in sink.log if s == "new"]
    assert new == [f"{MARKED}/{i}" for i in range(1, 6)]  # none twice, none missing
    assert "changed" not in sink.statuses()


def test_max_posts_per_run_bounds_a_run(world: World, sink: FakeSink, deps_for: Deps) -> None:
    public_channel(world, 7)
    state = MemoryChatState()
    first = run(deps_for(sink, state, max_posts_per_run=3))
    assert (first.chats[0].new_posts, first.chats[0].reason) == (3, "max_posts_per_run")
    assert sink.checkpoints[("telegram", str(MARKED))] == "3"
    second = run(deps_for(sink, state, max_posts_per_run=10))
    assert second.chats[0].new_posts == 4
    assert [p.external_id for p, s in sink.log if s == "new"] == [f"{MARKED}/{i}" for i in range(1, 8)]
    assert sink.removed == []


def test_telegram_failing_after_retries_stops_the_run(
    world: World, sink: FakeSink, deps_for: Deps, sleeps: list[float]
) -> None:
    public_channel(world)
    world.fail("GetHistoryRequest", "RPC_CALL_FAIL", times=10)
    with pytest.raises(TelegramUnavailable, match="RpcCallFail"):
        run(deps_for(sink))
    assert sleeps.count(2) == 4  # Telethon retried: one try plus request_retries=3, 2 s apart
    assert sink.log == []


# -- issue 14: what a real MTProto server exposed ---------------------------------------------------


def test_finding_reasons_name_the_rpc_error(world: World, sink: FakeSink, deps_for: Deps) -> None:
    public_channel(world)
    world.fail("GetHistoryRequest", "CHANNEL_PRIVATE")
    summary = run(deps_for(sink))
    assert [(f.kind, f.reason) for _, f in sink.findings] == [("chat_unavailable", "CHANNEL_PRIVATE")]
    assert summary.chats[0].findings[0].reason == "CHANNEL_PRIVATE"  # not Telethon's generic BAD_REQUEST
    assert world.calls.count("ResolveUsernameRequest") == 1  # same account: no second resolve


def test_account_wide_flood_wait_is_stored_for_every_chat_not_read(
    world: World, sink: FakeSink, deps_for: Deps
) -> None:
    public_channel(world, 3)
    for channel_id, username in ((222, "other"), (333, "third")):
        world.post(world.channel(channel_id, username.title(), username=username), 1, "x")
    chats = {"leaks": {"ref": "@leakshop"}, "other": {"ref": "@other"}, "third": {"ref": "@third"}}
    state = MemoryChatState()
    run(deps_for(sink, state, chats=chats))
    world.fail("GetHistoryRequest", "FLOOD_WAIT_86400")
    first = run(deps_for(sink, state, chats=chats, max_flood_wait=3600))
    assert [c.status for c in first.chats] == ["deferred"] * 3
    # The next process (a new client, so no memory of the wait) asks Telegram nothing.
    world.calls.clear()
    second = run(deps_for(sink, state, chats=chats, max_flood_wait=3600))
    assert world.calls == []
    assert [(c.name, c.status, c.last_message_id) for c in second.chats] == [
        ("leaks", "deferred", 3),
        ("other", "deferred", 1),
        ("third", "deferred", 1),
    ]
    assert {c.retry_after for c in second.chats} == {first.chats[0].retry_after}
    for name in chats:
        assert "flood wait of 86400 s on GetHistoryRequest" in (state.records[name].retry_reason or "")


def test_a_short_page_never_records_live_posts_as_removed(world: World, sink: FakeSink, deps_for: Deps) -> None:
    channel = public_channel(world, 10)
    state = MemoryChatState()
    run(deps_for(sink, state, reread_last_n=8))
    world.short_pages = 2  # the server ends every history page early, as if history stopped there
    del channel.messages[9]  # type: ignore[attr-defined]  # one real deletion the read never reaches
    summary = run(deps_for(sink, state, reread_last_n=8))
    assert sink.removed == [("telegram", f"{MARKED}/9")]  # confirmed by MessageEmpty, the rest are live
    assert state.deletions == {(MARKED, 9)}
    assert summary.chats[0].removed_posts == 1
    assert world.calls.count("GetMessagesRequest") == 1
    world.short_pages = None
    run(deps_for(sink, state, reread_last_n=8))
    assert len(sink.removed) == 1


def test_a_post_that_reappears_undoes_its_deletion(world: World, sink: FakeSink, deps_for: Deps) -> None:
    channel = public_channel(world, 5)
    state = MemoryChatState()
    run(deps_for(sink, state))
    hidden = channel.messages.pop(4)  # type: ignore[attr-defined]
    run(deps_for(sink, state))
    assert state.deletions == {(MARKED, 4)}
    channel.messages[4] = hidden  # type: ignore[attr-defined]
    run(deps_for(sink, state))
    assert state.deletions == set()
    assert sink.log[-1][0].external_id == f"{MARKED}/4"  # ingested again: the sink clears removed_at


def test_account_switch_resolves_stored_chats_again(world: World, sink: FakeSink, deps_for: Deps) -> None:
    channel = public_channel(world, 2)
    state = MemoryChatState()
    run(deps_for(sink, state))
    world.switch_account(7777)  # logged in again with another account: its access hashes differ
    world.post(channel, 3, "after the switch")  # type: ignore[arg-type]
    summary = run(deps_for(sink, state))
    assert (summary.chats[0].status, summary.chats[0].new_posts) == ("ok", 1)
    assert world.calls.count("ResolveUsernameRequest") == 2
    record = state.records["leaks"]
    assert record.account_id == 7777
    assert record.peer is not None
    assert record.peer.access_hash == channel.access_hash  # type: ignore[attr-defined]


@pytest.mark.parametrize("ref", ["@leakshop", "https://t.me/+HashXyz"])
def test_stale_access_hash_of_an_unknown_account_is_resolved_once_more(
    world: World, sink: FakeSink, deps_for: Deps, ref: str
) -> None:
    channel = public_channel(world, 2)
    world.invites["HashXyz"] = 111
    chats = {"leaks": {"ref": ref}}
    state = MemoryChatState()
    run(deps_for(sink, state, chats=chats))
    state.records["leaks"].account_id = None  # a row stored before accounts were recorded
    world.switch_account(7777)
    world.post(channel, 3, "after the switch")  # type: ignore[arg-type]
    world.calls.clear()
    summary = run(deps_for(sink, state, chats=chats))
    assert (summary.chats[0].status, summary.chats[0].new_posts) == ("ok", 1)
    assert world.calls[0] == "GetHistoryRequest"  # the stored hash was tried first: CHANNEL_INVALID
    assert world.calls.count("GetHistoryRequest") == 3  # failed, then the page and the empty end
    assert sink.findings == []


def test_a_reply_telethon_cannot_parse_is_a_finding(world: World, sink: FakeSink, deps_for: Deps) -> None:
    public_channel(world)
    world.post(world.channel(222, "Other", username="other"), 1, "x")
    world.fail("GetHistoryRequest", "TYPE_NOT_FOUND")
    chats = {"leaks": {"ref": "@leakshop"}, "other": {"ref": "@other"}}
    summary = run(deps_for(sink, chats=chats))
    assert [(c.name, c.status, c.reason) for c in summary.chats] == [
        ("leaks", "unavailable", "unsupported_reply"),
        ("other", "ok", None),
    ]
    ((_, finding),) = sink.findings
    assert finding.kind == "unsupported_reply"
    assert "1badc0de" in finding.reason


def test_revoked_session_leaves_an_account_error_finding(world: World, sink: FakeSink, deps_for: Deps) -> None:
    public_channel(world)
    world.revoked = True
    with pytest.raises(AccountError, match="SESSION_REVOKED"):
        run(deps_for(sink))
    assert [(f.locator, f.kind) for _, f in sink.findings] == [("telegram:leaks", "account_error")]


def test_a_flood_wait_while_confirming_a_removal_keeps_the_candidate(
    world: World, sink: FakeSink, deps_for: Deps
) -> None:
    channel = public_channel(world, 5)
    state = MemoryChatState()
    run(deps_for(sink, state))
    del channel.messages[4]  # type: ignore[attr-defined]
    world.post(channel, 6, "new")  # type: ignore[arg-type]
    world.fail("GetMessagesRequest", "FLOOD_WAIT_300")
    summary = run(deps_for(sink, state, threshold=10))
    assert (summary.chats[0].status, summary.chats[0].last_message_id) == ("deferred", 6)
    assert sink.removed == []
    assert 6 in state.records["leaks"].recent  # the new post's progress was kept
    asyncio.run(read_chats(deps_for(sink, state), force=True))
    assert sink.removed == [("telegram", f"{MARKED}/4")]
    assert [p.external_id for p, s in sink.log if s == "new"][-1] == f"{MARKED}/6"  # not ingested twice
    assert sink.statuses().count("new") == 6
