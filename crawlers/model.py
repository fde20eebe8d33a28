"""Value objects every venue hands to the ingest sink, and what file readers yield.

These are the contracts between the crawl side (spiders, Telegram reader, export importer,
file readers) and the matching/storage side. They are frozen and carry no database state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (every stored time is UTC)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that came with a post: in memory (``data``) or on local disk (``path``).

    ``name`` is what the sender called it: untrusted, metadata only, never a path to write to.
    """

    name: str
    data: bytes | None = None
    path: Path | None = None
    declared_size: int | None = None
    mime_type: str | None = None
    url: str | None = None
    skipped_reason: str | None = None  # set when the venue did not fetch it (over cap, not exported...)

    def open_bytes(self) -> bytes:
        """The content in memory (small attachments only)."""
        if self.data is not None:
            return self.data
        if self.path is not None:
            return self.path.read_bytes()
        raise ValueError(f"attachment {self.name!r} has no content")

    def sha256(self) -> str | None:
        """Hex SHA-256 of the content, streamed from disk when on disk; None when not fetched."""
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        if self.path is not None:
            digest = hashlib.sha256()
            with self.path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            return digest.hexdigest()
        return None


@dataclass(frozen=True, slots=True)
class CrawledPost:
    """One post (forum post, paste, Telegram message or album, scanned file) ready to ingest.

    ``source`` is the configured source name; ``external_id`` is stable within the source
    (canonical URL, ``<marked chat id>/<message id>``, file path). ``venue`` is one of
    ``forum``, ``paste``, ``tme_preview``, ``site``, ``telegram``, ``telegram_export``, ``file``.
    """

    source: str
    external_id: str
    venue: str
    text: str = ""
    url: str | None = None
    title: str | None = None
    author: str | None = None
    posted_at: datetime | None = None
    edited_at: datetime | None = None
    captured_at: datetime = field(default_factory=utcnow)
    attachments: tuple[Attachment, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)

    def content_hash(self) -> str:
        """SHA-256 over the text and the attachments' identities: equal hashes mean an unchanged post."""
        return content_hash_of(self.text, [attachment.sha256() or attachment.name for attachment in self.attachments])


def content_hash_of(text: str, attachment_ids: Iterable[str]) -> str:
    """The post content hash from its text and each attachment's SHA-256 (or name when not fetched)."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass"))
    for attachment_id in attachment_ids:
        digest.update(b"\x00")
        digest.update(attachment_id.encode())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class TextBlock:
    """A decoded, newline-aligned piece of text in which every line is one record.

    File readers yield these; the matcher scans them. ``first_line`` is the 1-based number of
    the block's first line within its file, so a hit on line ``i`` of ``text`` (0-based) is
    reported as ``f"{locator}:{unit} {first_line + i}"`` (e.g. ``sample.zip!inner/users.csv:row 812``).
    For tabular data each line is one row with fields joined by ``delimiter`` and ``columns``
    names the header, which raises confidence and lets a name pair with the row's other values.
    """

    locator: str
    text: str
    first_line: int = 1
    unit: str = "line"
    columns: tuple[str, ...] | None = None
    delimiter: str | None = None

    def locate(self, line: int) -> str:
        """Where line ``line`` (0-based in ``text``) is: ``f"{locator}:{unit} {number}"``.

        JSON records say where they are in their document instead: unit ``element`` numbers are
        0-based element indices (``users.json#users[12345]``), and a ``record`` is its locator.
        """
        number = self.first_line + line
        if self.unit == "element":
            return f"{self.locator}[{number}]"
        if self.unit == "record":
            return self.locator
        return f"{self.locator}:{self.unit} {number}"


class FindingKind(StrEnum):
    """The one registry of finding kinds, for every venue (``findings.kind``, stored: API).

    A member is its string, so ``Finding(locator, FindingKind.CORRUPT, ...)`` and the stored rows
    written before this registry are the same. A test checks that every kind any crawler, reader or
    the sink emits is listed here.
    """

    # any venue
    ERROR = "error"  # an unexpected failure (the reason says what)
    INGEST_ERROR = "ingest_error"
    NOT_FETCHED = "not_fetched"  # the venue did not fetch the file (over a cap, not exported...)
    EVIDENCE_NOT_KEPT = "evidence_not_kept"
    # leaked-file readers (crawlers/files)
    SKIPPED_BINARY = "skipped_binary"
    CONTROL_BYTES = "control_bytes"
    CAP_BYTES = "cap_bytes"
    CAP_RATIO = "cap_ratio"
    CAP_MEMBERS = "cap_members"
    CAP_MEMORY = "cap_memory"
    CAP_DEPTH = "cap_depth"
    CAP_LINE = "cap_line"
    CAP_TIME = "cap_time"
    PATH_TRAVERSAL = "path_traversal"
    ENCRYPTED_NO_PASSWORD = "encrypted_no_password"  # noqa: S105 - a finding kind, not a password
    UNSUPPORTED_FORMAT = "unsupported_format"
    FORMAT_FALLBACK = "format_fallback"
    TOOL_MISSING = "tool_missing"
    DECODE_FALLBACK = "decode_fallback"
    DECODE_BOM = "decode_bom"
    DECODE_GUESS = "decode_guess"
    CORRUPT = "corrupt"
    UNREADABLE = "unreadable"
    ABORTED = "aborted"
    # web (crawlers/web)
    HTTP_ERROR = "http_error"
    DNS_ERROR = "dns_error"
    TIMEOUT = "timeout"
    TRUNCATED = "truncated"
    CONNECTION_ERROR = "connection_error"
    ROBOTS_DENIED = "robots_denied"
    REDIRECT_LOOP = "redirect_loop"
    IGNORED = "ignored"
    OFFSITE = "offsite"
    PROXY_REQUIRED = "proxy_required"
    PARSE_ERROR = "parse_error"
    NO_PUBLIC_PREVIEW = "no_public_preview"
    # Telegram (crawlers/telegram)
    ACCOUNT_ERROR = "account_error"
    FLOOD_WAIT = "flood_wait"
    CHAT_UNAVAILABLE = "chat_unavailable"
    UNSUPPORTED_REPLY = "unsupported_reply"
    NOT_MEMBER = "not_member"
    INVITE_EXPIRED = "invite_expired"
    INVITE_INVALID = "invite_invalid"
    JOIN_PENDING = "join_pending"
    JOIN_FAILED = "join_failed"
    FILE_NOT_EXPORTED = "file_not_exported"
    FILE_MISSING = "file_missing"
    SKIPPED_DOWNLOAD = "skipped_download"
    DOWNLOAD_FAILED = "download_failed"


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a reader or crawler skipped, capped or failed on, with the reason.

    ``kind`` is a :class:`FindingKind` value (stored, so it is API).
    """

    locator: str
    kind: str
    reason: str
