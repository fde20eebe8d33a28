"""The incremental chat reader: resolve once, read past the checkpoint, re-read the tail, hand posts to the sink.

Per chat and run: messages with id > (checkpoint - reread_last_n) are read oldest first; albums
(same ``grouped_id``) become one post; a new post advances the checkpoint through the sink in the
same transaction as its hits; a re-read post is ingested again only when its edit time or members
changed; a post of the re-read window that is gone, and that Telegram confirms deleted, is reported
removed. A long flood wait ends the chat's run (the checkpoint already marks the resume point) and
records ``not_before``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from crawlers import spool
from crawlers.files import passwords_from_text
from crawlers.interface import CheckpointUpdate, IngestResult, PostSink
from crawlers.model import CrawledPost, Finding, utcnow
from crawlers.telegram.attachments import fetch_attachments
from crawlers.telegram.config import ChatConfig, TelegramConfig
from crawlers.telegram.errors import AccountError, ChatUnavailable, FloodWait, UnknownChat
from crawlers.telegram.messages import TgMessage
from crawlers.telegram.normalize import channel_passwords, edit_stamp, normalize
from crawlers.telegram.refs import Peer, external_id, parse_ref
from crawlers.telegram.source import TelegramSource
from crawlers.telegram.state import ChatRecord, ChatState, RecentPost

CHECKPOINT_SCOPE = "telegram"
ACCOUNT = "telegram:account"  # locator of findings about the account rather than one chat
_GIVE_UP_STATES = ("invite_expired", "invite_invalid")
# Answers to a stored access hash that another account resolved (the chat may be fine).
_STALE_PEER_ERRORS = frozenset({"PEER_ID_INVALID", "CHANNEL_INVALID", "CHANNEL_PRIVATE"})


@dataclass
class ReaderDeps:
    """Everything a read needs; the scheduler builds it once around one connected client."""

    config: TelegramConfig
    source: TelegramSource
    sink: PostSink
    state: ChatState
    clock: Callable[[], datetime] = utcnow
    ingest_in_thread: bool = True  # keep the event loop (Telethon's pings) free while files are read


@dataclass
class ChatSummary:
    """What one chat's run did. ``status``: ok | deferred | unavailable | skipped."""

    name: str
    status: str = "ok"
    new_posts: int = 0
    changed_posts: int = 0
    removed_posts: int = 0
    new_hits: int = 0
    last_message_id: int | None = None
    retry_after: datetime | None = None
    reason: str | None = None
    detail: str | None = None  # a deferral's full reason (which wait, on which request)
    findings: list[Finding] = field(default_factory=list)  # what this run skipped, capped or hit


@dataclass
class ReadSummary:
    chats: list[ChatSummary] = field(default_factory=list)

    @property
    def retry_after(self) -> datetime | None:
        """The earliest time a deferred chat may be read again (for the scheduler)."""
        times = [c.retry_after for c in self.chats if c.retry_after is not None]
        return min(times, default=None)


async def read_chats(deps: ReaderDeps, names: Sequence[str] | None = None, *, force: bool = False) -> ReadSummary:
    """Read the named chats (default: every enabled configured chat) once.

    Raises :class:`AccountError` when the account is unusable (after recording a finding).
    ``force`` ignores a stored ``not_before``. An account-wide flood wait stores ``not_before`` for
    every chat not read yet, so the next process does not ask before the wait is over.
    """
    chats = deps.config.chats
    wanted = list(names) if names else [n for n, c in chats.items() if c.enabled]
    for name in wanted:
        if name not in chats:
            raise UnknownChat(f"no chat named {name!r} under [telegram.chats]")
    summary = ReadSummary()
    for index, name in enumerate(wanted):
        try:
            chat_summary = await _ChatRun(deps, name, chats[name], force).run()
        except AccountError as exc:
            record_account_error(deps.sink, deps.config, exc, f"telegram:{name}")
            raise
        summary.chats.append(chat_summary)
        if chat_summary.status == "deferred" and chat_summary.reason == "account_flood":
            until = chat_summary.retry_after
            for rest in wanted[index + 1 :]:
                summary.chats.append(_ChatRun(deps, rest, chats[rest], force).defer_unread(until, chat_summary.detail))
            break
    return summary


def record_account_error(sink: PostSink, config: TelegramConfig, exc: AccountError, locator: str = ACCOUNT) -> None:
    """Leave an ``account_error`` finding (a revoked session, a banned account) for the operator."""
    sink.record_findings(config.source_name, (Finding(locator, "account_error", str(exc)),))


@dataclass
class ReadWindow:
    """One chat's read: ids after ``start`` are read; what was seen, and how far new posts got."""

    peer: Peer
    start: int
    checkpoint_at_start: int
    known: dict[int, RecentPost]  # the stored re-read window
    deleted: set[int]  # message ids above ``start`` recorded as deleted before
    checkpoint: int = 0
    first_group: bool = True
    seen: dict[int, RecentPost] = field(default_factory=dict)
    seen_ids: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.checkpoint = self.checkpoint or self.checkpoint_at_start


class _ChatRun:
    def __init__(self, deps: ReaderDeps, name: str, chat: ChatConfig, force: bool) -> None:
        self.deps = deps
        self.config = deps.config
        self.name = name
        self.chat = chat
        self.force = force
        self.summary = ChatSummary(name)
        self.locator = f"telegram:{name}"
        self._spool: Path | None = None

    async def run(self) -> ChatSummary:
        try:
            return await self._run()
        finally:
            if self._spool is not None:
                spool.remove(self._spool)

    async def _run(self) -> ChatSummary:
        deps = self.deps
        record = deps.state.load(self.name, self.chat.ref)
        now = deps.clock()
        if not self.force and record.not_before is not None and record.not_before > now:
            self._deferred(record.not_before, record.retry_reason, self._stored_checkpoint(record))
            return self.summary
        window: ReadWindow | None = None
        try:
            peer = await self._peer(record)
            if peer is None:
                return self.summary
            window = self._window(peer, record)
            try:
                await self._read(record, window)
            except ChatUnavailable as exc:
                if not self._stale_peer(record, exc) or window.seen_ids:
                    raise
                # The stored access hash may belong to another account: resolve once more.
                record.peer = None
                peer = await self._peer(record)
                if peer is None:
                    return self.summary
                window = self._window(peer, record)
                await self._read(record, window)
        except FloodWait as exc:
            self._defer(record, exc, window)
        except ChatUnavailable as exc:
            self._unavailable(record, exc)
        return self.summary

    def defer_unread(self, until: datetime | None, reason: str | None) -> ChatSummary:
        """Store a deferral for a chat this run will not read (an account-wide flood wait)."""
        record = self.deps.state.load(self.name, self.chat.ref)
        if until is not None and (record.not_before is None or record.not_before < until):
            record.not_before, record.retry_reason = until, reason
            self.deps.state.save(record)
        self._deferred(until, "account_flood", self._stored_checkpoint(record))
        self.summary.detail = reason
        return self.summary

    def _stale_peer(self, record: ChatRecord, exc: ChatUnavailable) -> bool:
        """Whether an error may mean the stored access hash is another account's (then resolving helps)."""
        same_account = record.account_id is not None and record.account_id == self.deps.source.account_id
        return exc.rpc in _STALE_PEER_ERRORS and not same_account

    def _deferred(self, until: datetime | None, reason: str | None, last_message_id: int | None) -> None:
        self.summary.status = "deferred"
        self.summary.retry_after = until
        self.summary.reason = reason
        self.summary.last_message_id = last_message_id

    def _stored_checkpoint(self, record: ChatRecord) -> int | None:
        return self.deps.state.last_message_id(record.peer.marked_id) if record.peer is not None else None

    # -- resolution -------------------------------------------------------------------------

    async def _peer(self, record: ChatRecord) -> Peer | None:
        account = self.deps.source.account_id
        if record.peer is not None and (record.account_id is None or account is None or record.account_id == account):
            return record.peer  # never re-resolve a known chat (unless another account resolved it)
        if record.peer is None and record.invite_state in _GIVE_UP_STATES:
            self.summary.status = "unavailable"
            self.summary.reason = record.invite_state
            return None
        try:
            spec = parse_ref(self.chat.ref)
        except ValueError as exc:
            raise ChatUnavailable("chat_unavailable", str(exc)) from exc
        join = self.config.should_join(self.chat)
        source = self.deps.source
        record.account_id = account
        if spec.username is not None:
            peer = await source.resolve_username(spec.username)
            record.peer = peer
            self.deps.state.save(record)  # persist before anything else can fail
            if join and peer.kind == "channel":
                record.peer = await source.join_channel(peer)
                record.invite_state = "joined"
        else:
            invite_hash = spec.invite_hash or ""
            peer_or_none = await source.check_invite(invite_hash)
            if peer_or_none is None:
                if not join:
                    raise ChatUnavailable("not_member", "not a member of this invite-only chat and join is off")
                record.peer = await source.import_invite(invite_hash)
                record.invite_state = "joined"
            else:
                record.peer = peer_or_none
                record.invite_state = "member"
        self.deps.state.save(record)
        return record.peer

    # -- reading ----------------------------------------------------------------------------

    def _window(self, peer: Peer, record: ChatRecord) -> ReadWindow:
        checkpoint = self.deps.state.last_message_id(peer.marked_id) or 0
        start = _reread_start(checkpoint, self.config.reread_last_n, record.recent)
        deleted = self.deps.state.deleted_ids(peer.marked_id, start)
        return ReadWindow(peer, start, checkpoint, record.recent, deleted)

    async def _read(self, record: ChatRecord, window: ReadWindow) -> None:
        deps, config = self.deps, self.config
        group: list[TgMessage] = []
        limit = config.max_posts_per_run
        complete = True
        messages = deps.source.iter_after(window.peer, window.start)
        try:
            async for message in messages:
                if group and (message.grouped_id is None or message.grouped_id != group[0].grouped_id):
                    await self._handle(window, group)
                    group = []
                    if limit is not None and self.summary.new_posts >= limit:
                        complete = False  # the rest waits for the next run
                        break
                if message.service:
                    continue  # service message (join, pin...): nothing to ingest
                group.append(message)
            else:
                if group:
                    await self._handle(window, group)
            removed = await self._removed(window) if complete else set()
        except BaseException:
            self._save_progress(record, window, set())  # a removal not confirmed stays a candidate
            raise
        finally:
            close = getattr(messages, "aclose", None)
            if close is not None:
                await close()
        if not complete:
            self.summary.reason = "max_posts_per_run"
        record.not_before = None
        record.retry_reason = None
        self._save_progress(record, window, removed)
        self.summary.last_message_id = window.checkpoint or None

    def _save_progress(self, record: ChatRecord, window: ReadWindow, removed: set[int]) -> None:
        record.peer = window.peer
        record.recent = _merge_recent(record.recent, window.seen, removed, window.checkpoint, self.config.reread_last_n)
        self.deps.state.save(record)

    async def _handle(self, window: ReadWindow, group: list[TgMessage]) -> None:
        first_group, window.first_group = window.first_group, False
        window.peer = window.peer.renamed(group[0].chat)
        ids = tuple(m.id for m in group)
        key = _post_key(ids, window.known)
        seen = RecentPost(ids, edit_stamp(group))
        window.seen_ids.update(ids)
        back = window.deleted.intersection(ids)
        if back:  # recorded as deleted before, and here again: not evidence of a takedown
            self.deps.state.undo_deletions(window.peer.marked_id, back)
            window.deleted -= back
        last = ids[-1]
        if last <= window.checkpoint:
            known = window.known.get(key)
            if known == seen and not back:
                window.seen[key] = seen
                return
            if known is None and first_group and window.start > 0 and group[0].grouped_id is not None and not back:
                return  # may be the tail of an album cut by the re-read window
            window.seen[key] = seen
            result = await self._ingest(window, group, key, None)
            if result.status == "changed":
                self.summary.changed_posts += 1
        else:
            update = CheckpointUpdate(CHECKPOINT_SCOPE, str(window.peer.marked_id), str(last))
            result = await self._ingest(window, group, key, update)
            window.seen[key] = seen
            window.checkpoint = last
            self.summary.new_posts += 1
        self.summary.new_hits += result.new_hits

    def _spool_dir(self) -> Path:
        """A private (0700) spool folder in the workspace for big downloads, made on first use.

        Removed after the run; a run killed mid-download leaves it locked-free, and the next start
        removes it (:mod:`crawlers.spool`).
        """
        if self._spool is None:
            self._spool = spool.create("tg")
        return self._spool

    async def _ingest(
        self, window: ReadWindow, group: list[TgMessage], key: int, update: CheckpointUpdate | None
    ) -> IngestResult:
        deps, peer = self.deps, window.peer
        fetched = await fetch_attachments(deps.source, self.config, peer, group, self._spool_dir)
        try:
            self.summary.findings.extend(fetched.findings)
            post = normalize(group, peer, self.config.source_name, fetched.attachments, fetched.findings, key_id=key)
            kwargs: dict[str, Any] = {
                "checkpoint": update,
                "passwords": _passwords(post, peer),
                "findings": tuple(fetched.findings),
            }
            if deps.ingest_in_thread:
                return await asyncio.to_thread(deps.sink.ingest, post, **kwargs)
            return deps.sink.ingest(post, **kwargs)
        finally:
            for attachment in fetched.attachments:
                if attachment.path is not None:
                    attachment.path.unlink(missing_ok=True)

    async def _removed(self, window: ReadWindow) -> set[int]:
        """Posts of the re-read window seen before, missing now, and confirmed gone by Telegram.

        A history read can end early without saying so (a short page), so a missing post is only a
        candidate: removal is takedown evidence and is recorded only when asking for the post's ids
        answers ``MessageEmpty`` for every one of them.
        """
        start, checkpoint = window.start, window.checkpoint_at_start
        candidates = {
            key: post
            for key, post in window.known.items()
            if all(start < i <= checkpoint for i in post.ids) and not window.seen_ids.intersection(post.ids)
        }
        if not candidates:
            return set()
        gone = await self.deps.source.deleted_ids(window.peer, [i for p in candidates.values() for i in p.ids])
        removed: set[int] = set()
        for key, post in candidates.items():
            if not gone.issuperset(post.ids):
                continue  # still there: the read stopped short of it
            removed.add(key)
            self.deps.sink.record_removed(self.config.source_name, external_id(window.peer.marked_id, key))
            for message_id in post.ids:
                self.deps.state.record_deletion(window.peer.marked_id, message_id)
            self.summary.removed_posts += 1
        return removed

    # -- outcomes ---------------------------------------------------------------------------

    def _defer(self, record: ChatRecord, exc: FloodWait, window: ReadWindow | None) -> None:
        jitter = random.uniform(0, min(60.0, exc.seconds * 0.1))  # noqa: S311 - not security relevant
        until = self.deps.clock() + timedelta(seconds=exc.seconds + jitter)
        account_wide = exc.seconds >= self.config.max_flood_wait
        record.not_before = until
        record.retry_reason = f"flood wait of {exc.seconds} s on {exc.method}"
        self.deps.state.save(record)
        finding = Finding(self.locator, "flood_wait", record.retry_reason)
        self.deps.sink.record_findings(self.config.source_name, (finding,))
        self.summary.findings.append(finding)
        last = window.checkpoint if window is not None else self._stored_checkpoint(record)
        self._deferred(until, "account_flood" if account_wide else record.retry_reason, last or None)
        self.summary.detail = record.retry_reason

    def _unavailable(self, record: ChatRecord, exc: ChatUnavailable) -> None:
        if exc.kind.startswith(("invite_", "join_", "not_member")):
            record.invite_state = exc.kind[:16]
        self.deps.state.save(record)
        finding = Finding(self.locator, exc.kind, exc.reason)
        self.deps.sink.record_findings(self.config.source_name, (finding,))
        self.summary.findings.append(finding)
        self.summary.status = "unavailable"
        self.summary.reason = exc.kind


def _passwords(post: CrawledPost, peer: Peer) -> tuple[str, ...]:
    """Passwords named in the text, then (for posts with files) the chat's name and link."""
    candidates = passwords_from_text(post.text)
    if post.attachments:
        candidates += channel_passwords(peer.username, peer.title)
    return tuple(dict.fromkeys(candidates))


def _reread_start(checkpoint: int, reread: int, recent: dict[int, RecentPost]) -> int:
    """The id to read after: ``reread`` ids below the checkpoint, widened so no known album is cut."""
    if checkpoint <= 0:
        return 0
    start = max(0, checkpoint - reread)
    for post in recent.values():
        if min(post.ids) <= start < max(post.ids):
            start = min(post.ids) - 1
    return start


def _post_key(ids: tuple[int, ...], recent: dict[int, RecentPost]) -> int:
    """The post's first message id; an album whose first member was deleted keeps its old key."""
    for key, post in recent.items():
        if ids[0] in post.ids:
            return key
    return ids[0]


def _merge_recent(
    old: dict[int, RecentPost],
    seen: dict[int, RecentPost],
    removed: set[int],
    checkpoint: int,
    reread: int,
) -> dict[int, RecentPost]:
    merged = {k: v for k, v in old.items() if k not in removed}
    merged.update(seen)
    floor = checkpoint - reread
    return {k: v for k, v in merged.items() if max(v.ids) > floor}
