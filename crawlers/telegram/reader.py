"""The incremental chat reader: resolve once, read past the checkpoint, re-read the tail, hand posts to the sink.

Per chat and run: messages with id > (checkpoint - reread_last_n) are read oldest first; albums
(same ``grouped_id``) become one post; a new post advances the checkpoint through the sink in the
same transaction as its hits; a re-read post is ingested again only when its edit time or members
changed; a post of the re-read window that is gone is reported removed. A long flood wait ends the
chat's run (the checkpoint already marks the resume point) and records ``not_before``.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from crawlers.files import passwords_from_text
from crawlers.interface import CheckpointUpdate, IngestResult, PostSink
from crawlers.model import CrawledPost, Finding, utcnow
from crawlers.telegram.attachments import fetch_attachments
from crawlers.telegram.config import ChatConfig, TelegramConfig
from crawlers.telegram.errors import AccountError, ChatUnavailable, FloodWait, UnknownChat
from crawlers.telegram.normalize import channel_passwords, edit_stamp, normalize
from crawlers.telegram.refs import Peer, external_id, parse_ref
from crawlers.telegram.source import TelegramSource
from crawlers.telegram.state import ChatRecord, ChatState, RecentPost

CHECKPOINT_SCOPE = "telegram"
_GIVE_UP_STATES = ("invite_expired", "invite_invalid")


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
    ``force`` ignores a stored ``not_before``.
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
            deps.sink.record_findings(
                deps.config.source_name, (Finding(f"telegram:{name}", "account_error", str(exc)),)
            )
            raise
        summary.chats.append(chat_summary)
        if chat_summary.status == "deferred" and chat_summary.reason == "account_flood":
            for rest in wanted[index + 1 :]:
                summary.chats.append(
                    ChatSummary(rest, "deferred", retry_after=chat_summary.retry_after, reason="account_flood")
                )
            break
    return summary


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
                shutil.rmtree(self._spool, ignore_errors=True)

    async def _run(self) -> ChatSummary:
        deps = self.deps
        record = deps.state.load(self.name, self.chat.ref)
        now = deps.clock()
        if not self.force and record.not_before is not None and record.not_before > now:
            self.summary.status = "deferred"
            self.summary.retry_after = record.not_before
            self.summary.reason = record.retry_reason
            return self.summary
        try:
            peer = await self._peer(record)
            if peer is None:
                return self.summary
            await self._read(record, peer)
        except FloodWait as exc:
            self._defer(record, exc)
        except ChatUnavailable as exc:
            self._unavailable(record, exc)
        return self.summary

    # -- resolution -------------------------------------------------------------------------

    async def _peer(self, record: ChatRecord) -> Peer | None:
        if record.peer is not None:
            return record.peer  # never re-resolve a known chat
        if record.invite_state in _GIVE_UP_STATES:
            self.summary.status = "unavailable"
            self.summary.reason = record.invite_state
            return None
        try:
            spec = parse_ref(self.chat.ref)
        except ValueError as exc:
            raise ChatUnavailable("chat_unavailable", str(exc)) from exc
        join = self.config.should_join(self.chat)
        source = self.deps.source
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

    async def _read(self, record: ChatRecord, peer: Peer) -> None:
        deps, config = self.deps, self.config
        checkpoint_at_start = deps.state.last_message_id(peer.marked_id) or 0
        self.checkpoint = checkpoint_at_start
        self.record, self.peer = record, peer
        start = _reread_start(checkpoint_at_start, config.reread_last_n, record.recent)
        self.start = start
        self.seen: dict[int, RecentPost] = {}
        self.seen_ids: set[int] = set()
        self.first_group = True
        group: list[Any] = []
        limit = config.max_posts_per_run
        complete = True
        messages = deps.source.iter_after(peer, start)
        try:
            async for message in messages:
                if group and (message.grouped_id is None or message.grouped_id != group[0].grouped_id):
                    await self._handle(group)
                    group = []
                    if limit is not None and self.summary.new_posts >= limit:
                        complete = False  # the rest waits for the next run
                        break
                if getattr(message, "action", None) is not None:
                    continue  # service message (join, pin...): nothing to ingest
                group.append(message)
            else:
                if group:
                    await self._handle(group)
        except BaseException:
            record.peer = self.peer
            record.recent = _merge_recent(record.recent, self.seen, set(), self.checkpoint, config.reread_last_n)
            deps.state.save(record)
            raise
        finally:
            close = getattr(messages, "aclose", None)
            if close is not None:
                await close()
        if not complete:
            self.summary.reason = "max_posts_per_run"
        removed = await self._removed(record.recent, start, checkpoint_at_start) if complete else set()
        record.peer = self.peer
        record.recent = _merge_recent(record.recent, self.seen, removed, self.checkpoint, config.reread_last_n)
        record.not_before = None
        record.retry_reason = None
        deps.state.save(record)
        self.summary.last_message_id = self.checkpoint or None

    async def _handle(self, group: list[Any]) -> None:
        first_group, self.first_group = self.first_group, False
        self.peer = self.deps.source.current_peer(group[0], self.peer)
        ids = tuple(m.id for m in group)
        key = _post_key(ids, self.record.recent)
        seen = RecentPost(ids, edit_stamp(group))
        self.seen_ids.update(ids)
        last = ids[-1]
        if last <= self.checkpoint:
            known = self.record.recent.get(key)
            if known == seen:
                self.seen[key] = seen
                return
            if known is None and first_group and self.start > 0 and group[0].grouped_id is not None:
                return  # may be the tail of an album cut by the re-read window
            self.seen[key] = seen
            result = await self._ingest(group, key, None)
            if result.status == "changed":
                self.summary.changed_posts += 1
        else:
            update = CheckpointUpdate(CHECKPOINT_SCOPE, str(self.peer.marked_id), str(last))
            result = await self._ingest(group, key, update)
            self.seen[key] = seen
            self.checkpoint = last
            self.summary.new_posts += 1
        self.summary.new_hits += result.new_hits

    def _spool_dir(self) -> Path:
        """A private (0700) directory for big downloads, made on first use and removed after the run."""
        if self._spool is None:
            self._spool = Path(tempfile.mkdtemp(prefix="leakmon-tg-"))
        return self._spool

    async def _ingest(self, group: list[Any], key: int, update: CheckpointUpdate | None) -> IngestResult:
        deps = self.deps
        fetched = await fetch_attachments(deps.source, self.config, self.peer, group, self._spool_dir)
        try:
            self.summary.findings.extend(fetched.findings)
            post = normalize(
                group, self.peer, self.config.source_name, fetched.attachments, fetched.findings, key_id=key
            )
            kwargs: dict[str, Any] = {
                "checkpoint": update,
                "passwords": _passwords(post, self.peer),
                "findings": tuple(fetched.findings),
            }
            if deps.ingest_in_thread:
                return await asyncio.to_thread(deps.sink.ingest, post, **kwargs)
            return deps.sink.ingest(post, **kwargs)
        finally:
            for attachment in fetched.attachments:
                if attachment.path is not None:
                    attachment.path.unlink(missing_ok=True)

    async def _removed(self, recent: dict[int, RecentPost], start: int, checkpoint: int) -> set[int]:
        """Posts of the re-read window seen before and now entirely missing."""
        removed: set[int] = set()
        for key, post in recent.items():
            in_window = all(start < i <= checkpoint for i in post.ids)
            if in_window and not self.seen_ids.intersection(post.ids):
                removed.add(key)
                self.deps.sink.record_removed(self.config.source_name, external_id(self.peer.marked_id, key))
                for message_id in post.ids:
                    self.deps.state.record_deletion(self.peer.marked_id, message_id)
                self.summary.removed_posts += 1
        return removed

    # -- outcomes ---------------------------------------------------------------------------

    def _defer(self, record: ChatRecord, exc: FloodWait) -> None:
        jitter = random.uniform(0, min(60.0, exc.seconds * 0.1))  # noqa: S311 - not security relevant
        until = self.deps.clock() + timedelta(seconds=exc.seconds + jitter)
        account_wide = exc.seconds >= self.config.max_flood_wait
        record.not_before = until
        record.retry_reason = f"flood wait of {exc.seconds} s on {exc.method}"
        self.deps.state.save(record)
        finding = Finding(self.locator, "flood_wait", record.retry_reason)
        self.deps.sink.record_findings(self.config.source_name, (finding,))
        self.summary.findings.append(finding)
        self.summary.status = "deferred"
        self.summary.retry_after = until
        self.summary.reason = "account_flood" if account_wide else record.retry_reason
        self.summary.last_message_id = getattr(self, "checkpoint", None) or None

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
