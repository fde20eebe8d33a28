"""Telegram Desktop "Export chat history" (result.json) importer, through the same ingest sink.

Posts get the reader's external ids (``<marked chat id>/<message id>``), permalinks and text
composition, so importing an export twice, or an export of a chat also read live, adds nothing.
Both export shapes are read: one chat (``{name, type, id, messages}``) and a full account
(``{chats: {list: [...]}, left_chats: {list: [...]}}``). Text may be a string or a list of
strings and entity objects; ``text_entities`` is preferred when present. Files are looked up next
to result.json and must stay inside the export directory.

result.json is streamed with ijson (a big channel's export runs to gigabytes): a one-chat export
holds one message in memory at a time, an account export one chat at a time. A file that ends
early or is not JSON keeps every message read before the damage and becomes a finding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import ijson

from crawlers.files import passwords_from_text
from crawlers.interface import PostSink
from crawlers.model import Attachment, CrawledPost, Finding
from crawlers.redact import redact
from crawlers.telegram.normalize import channel_passwords, compose_text, safe_name
from crawlers.telegram.refs import external_id, mark_channel, permalink

CHANNEL_TYPES = frozenset({"private_channel", "public_channel", "private_supergroup", "public_supergroup"})
GROUP_TYPES = frozenset({"private_group"})
# Media the live reader does not download either (keeps both venues' content hashes equal).
SKIPPED_MEDIA = frozenset({"sticker", "video_message", "voice_message", "animation", "video_file", "audio_file"})


@dataclass
class ImportSummary:
    """What one import did."""

    exports: int = 0
    chats: int = 0
    messages: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    files: int = 0
    findings: int = 0
    new_hits: int = 0
    details: list[Finding] = field(default_factory=list, repr=False)  # the findings themselves


def find_exports(path: Path) -> list[Path]:
    """``path`` itself when a file, else its result.json, else every result.json below it."""
    if path.is_file():
        return [path]
    direct = path / "result.json"
    if direct.is_file():
        return [direct]
    return sorted(path.rglob("result.json"))


def iter_chats(root: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The chats of a single-chat or a full-account export (an already parsed root object)."""
    if isinstance(root.get("messages"), list):
        yield root
        return
    for section in ("chats", "left_chats"):
        block = root.get(section)
        if isinstance(block, dict):
            yield from (c for c in block.get("list", []) if isinstance(c, dict))


ChatStream = tuple[dict[str, Any], Iterable[Any]]


def stream_chats(path: Path) -> Iterator[ChatStream]:
    """(chat header, its messages) for each chat of a result.json, read incrementally.

    Consume each chat's messages before asking for the next chat. Raises ``ijson.JSONError``
    (``IncompleteJSONError`` when the file ends early) where the damage starts.
    """
    shape, header = _export_shape(path)
    if shape == "chat":
        with path.open("rb") as fh:
            yield header, ijson.items(fh, "messages.item", use_float=True)
        return
    for section in ("chats", "left_chats"):
        with path.open("rb") as fh:
            for chat in ijson.items(fh, f"{section}.list.item", use_float=True):
                if isinstance(chat, dict):
                    messages = chat.pop("messages", None)
                    yield chat, messages if isinstance(messages, list) else []


def _export_shape(path: Path) -> tuple[str, dict[str, Any]]:
    """("chat", header) for a one-chat export, ("account", {}) for a full one; reads only the head."""
    header: dict[str, Any] = {}
    with path.open("rb") as fh:
        for prefix, event, value in ijson.parse(fh, use_float=True):
            if prefix == "" and event == "map_key":
                if value == "messages":
                    return "chat", header
                if value in ("chats", "left_chats"):
                    return "account", {}
            elif prefix in ("name", "type", "id") and event in ("string", "number"):
                header[prefix] = value
    return "account", {}  # neither shape: no chats


def marked_chat_id(chat: dict[str, Any]) -> int | None:
    """The marked id the live reader would use (-100... for channels and supergroups)."""
    bare = chat.get("id")
    if not isinstance(bare, int):
        return None
    kind = chat.get("type", "")
    if kind in CHANNEL_TYPES:
        return mark_channel(bare)
    if kind in GROUP_TYPES:
        return -bare
    return bare


def entity_list(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The text as entity objects: ``text_entities`` when present, else ``text`` (string or list)."""
    entities = message.get("text_entities")
    if isinstance(entities, list):
        return [e for e in entities if isinstance(e, dict)]
    text = message.get("text", "")
    if isinstance(text, str):
        return [{"type": "plain", "text": text}]
    if isinstance(text, list):
        return [e if isinstance(e, dict) else {"type": "plain", "text": str(e)} for e in text]
    return []


def message_text(message: dict[str, Any]) -> str:
    """The text as the live reader composes it: the message, then hidden link targets."""
    entities = entity_list(message)
    body = "".join(str(e.get("text", "")) for e in entities)
    hidden = [str(e["href"]) for e in entities if e.get("type") == "text_link" and e.get("href")]
    return compose_text([body], hidden)


def message_time(message: dict[str, Any], prefix: str, local_tz: tzinfo) -> datetime | None:
    """``date_unixtime`` (UTC seconds) when present, else the local ISO ``date`` in ``local_tz``."""
    unix = message.get(f"{prefix}_unixtime")
    if unix not in (None, ""):
        return datetime.fromtimestamp(int(str(unix)), UTC)
    local = message.get(prefix)
    if not isinstance(local, str) or not local:
        return None
    parsed = datetime.fromisoformat(local)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=local_tz)
    return parsed.astimezone(UTC)


class ExportImporter:
    """Feeds result.json messages to a PostSink as ``telegram_export`` posts."""

    def __init__(
        self,
        sink: PostSink,
        *,
        source: str = "telegram",
        username_for: Callable[[int], str | None] = lambda _marked: None,
        max_attachment_bytes: int = 50 * 1024 * 1024,
        local_tz: tzinfo = UTC,
    ) -> None:
        self.sink = sink
        self.source = source
        self.username_for = username_for
        self.max_attachment_bytes = max_attachment_bytes
        self.local_tz = local_tz

    def import_path(self, path: Path) -> ImportSummary:
        summary = ImportSummary()
        for result in find_exports(path):
            summary.exports += 1
            before = summary.messages
            try:
                for chat, messages in stream_chats(result):
                    self._import_chat(chat, messages, result.parent, summary)
            except ijson.JSONError:  # cut short (an interrupted download) or garbled
                reason = (
                    "the file ends early or is not valid JSON; "
                    f"the {summary.messages - before} message(s) before the damage were imported"
                )
                self._record(Finding(f"export:{result.parent.name}/{result.name}", "corrupt", reason), summary)
        return summary

    def _record(self, finding: Finding, summary: ImportSummary) -> None:
        self.sink.record_findings(self.source, (finding,))
        summary.findings += 1
        summary.details.append(finding)

    def _import_chat(self, chat: dict[str, Any], messages: Iterable[Any], base: Path, summary: ImportSummary) -> None:
        marked = marked_chat_id(chat)
        if marked is None:
            self._record(Finding(f"export:{base.name}", "unsupported_format", "a chat without a numeric id"), summary)
            return
        summary.chats += 1
        username = self.username_for(marked)
        for message in messages:
            if not isinstance(message, dict) or message.get("type") != "message":
                continue
            message_id = message.get("id")
            if not isinstance(message_id, int):
                continue
            summary.messages += 1
            post, findings = self._post(chat, message, marked, message_id, username, base)
            passwords = passwords_from_text(post.text)
            if post.attachments:
                passwords += channel_passwords(username, post.title)
            result = self.sink.ingest(post, passwords=tuple(dict.fromkeys(passwords)), findings=findings)
            summary.findings += len(findings)
            summary.details.extend(findings)
            summary.files += sum(1 for a in post.attachments if a.skipped_reason is None)
            summary.new_hits += result.new_hits
            if result.status == "new":
                summary.new += 1
            elif result.status == "changed":
                summary.changed += 1
            else:
                summary.unchanged += 1

    def _post(
        self,
        chat: dict[str, Any],
        message: dict[str, Any],
        marked: int,
        message_id: int,
        username: str | None,
        base: Path,
    ) -> tuple[CrawledPost, tuple[Finding, ...]]:
        url = permalink(marked, username, message_id)
        key = external_id(marked, message_id)
        attachment, findings = self._attachment(message, base, url or key)
        extra = {"chat_id": str(marked), "message_ids": str(message_id), "export_type": str(chat.get("type", ""))}
        if username:
            extra["chat_username"] = username
        if isinstance(message.get("reply_to_message_id"), int):
            extra["reply_to"] = str(message["reply_to_message_id"])
        post = CrawledPost(
            source=self.source,
            external_id=key,
            venue="telegram_export",
            text=message_text(message),
            url=url,
            title=chat.get("name") if isinstance(chat.get("name"), str) else None,
            author=message.get("author") if isinstance(message.get("author"), str) else None,
            posted_at=message_time(message, "date", self.local_tz),
            edited_at=message_time(message, "edited", self.local_tz),
            attachments=(attachment,) if attachment else (),
            extra=extra,
        )
        return post, findings

    def _attachment(
        self, message: dict[str, Any], base: Path, locator: str
    ) -> tuple[Attachment | None, tuple[Finding, ...]]:
        relative = message.get("file")
        if not isinstance(relative, str) or message.get("media_type") in SKIPPED_MEDIA:
            return None, ()
        declared = message.get("file_size") if isinstance(message.get("file_size"), int) else None
        mime = message.get("mime_type") if isinstance(message.get("mime_type"), str) else None
        raw_name = message.get("file_name") if isinstance(message.get("file_name"), str) else relative
        name = safe_name(raw_name, f"file-{message.get('id')}")
        where = f"{locator}!{redact(name)}"

        def skipped(kind: str, reason: str) -> tuple[Attachment, tuple[Finding, ...]]:
            attachment = Attachment(name=name, declared_size=declared, mime_type=mime, skipped_reason=reason)
            return attachment, (Finding(where, kind, reason),)

        if relative.startswith("("):
            return skipped("file_not_exported", f"not in the export: {relative}")
        root = base.resolve()
        path = (root / relative).resolve()
        if not path.is_relative_to(root):
            return skipped("path_traversal", "the export names a file outside its directory")
        if not path.is_file():
            return skipped("file_missing", "the export names a file that is not there")
        size = path.stat().st_size
        if size > self.max_attachment_bytes:
            return skipped("cap_bytes", f"{size} bytes is over the {self.max_attachment_bytes}-byte cap")
        return Attachment(name=name, path=path, declared_size=declared or size, mime_type=mime), ()
