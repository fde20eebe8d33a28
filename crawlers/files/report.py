"""What reading one top-level file amounted to: the summary the ingest sink stores per document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crawlers.model import Finding

# Stored strings (API): a document's status.
STATUS_OK = "ok"  # everything was read; findings, if any, are notes (path_traversal, decode_guess...)
STATUS_PARTIAL = "partial"  # text was produced, but something was capped, skipped, undecodable or broken
STATUS_SKIPPED = "skipped"  # nothing was read, by policy or capability (binary, cap, no password, no tool)
STATUS_FAILED = "failed"  # nothing was read because the file is broken or unreadable

# Every Finding kind the reader emits (stored strings, so API) and what it means.
FINDING_KINDS: dict[str, str] = {
    "cap_bytes": "file over max_file_bytes (not read), or max_total_bytes expanded (reading stopped)",
    "cap_ratio": "a compressed member or stream expanded past max_ratio; the rest of it was skipped",
    "cap_members": "more than max_members archive members; the rest were skipped",
    "cap_depth": "an archive nested deeper than max_depth was not opened",
    "cap_line": "a line longer than max_line_bytes was scanned in pieces",
    "cap_time": "the file took longer than max_seconds; reading stopped",
    "cap_memory": "an xlsx whose shared-strings table is over max_xlsx_strings_bytes was not read",
    "path_traversal": "a member name was absolute or used '..'; read in memory under a cleaned name (note)",
    "encrypted_no_password": "an encrypted member or archive that no candidate password opened",
    "unsupported_format": "a recognised format that is not read (pdf, images, xls, sqlite, multi-volume rar...)",
    "skipped_binary": "binary content (possibly under a text name) was skipped",
    "tool_missing": "a rar member needs an external tool (unar, 7zip, unrar) that is not installed",
    "decode_fallback": "undecodable bytes were replaced by U+FFFD",
    "decode_guess": "the encoding was guessed by charset-normalizer (note)",
    "decode_bom": "a UTF-16 byte-order mark the content contradicts was dropped; read as UTF-8/CP949 (note)",
    "control_bytes": "text with many control bytes (not binary) was read as text (note)",
    "format_fallback": "invalid or oversized JSON/HTML was read as plain text lines (note)",
    "corrupt": "the archive, member or stream is broken (bad CRC, truncated, not the format it claims)",
    "error": "an unexpected error in one member; the member was skipped, the rest read",
    "unreadable": "the local file could not be opened",
    "not_fetched": "the venue did not download the attachment (reason given by the venue)",
    "aborted": "the consumer stopped iterating before the end (report only)",
}
# Finding kinds that do not mean lost content.
NOTE_KINDS = frozenset({"path_traversal", "decode_guess", "decode_bom", "control_bytes", "format_fallback"})
# Loss kinds that mean "not read on purpose or for lack of a key/tool", as opposed to broken input.
SKIP_KINDS = frozenset(
    {
        "skipped_binary",
        "unsupported_format",
        "encrypted_no_password",
        "tool_missing",
        "not_fetched",
        "aborted",
        "cap_bytes",
        "cap_ratio",
        "cap_members",
        "cap_depth",
        "cap_time",
        "cap_memory",
        "cap_line",
    }
)


@dataclass(frozen=True, slots=True)
class FileReport:
    """Summary of one top-level file (path or attachment) after reading it.

    ``name`` is the locator root; ``sha256``/``size`` identify the bytes (None when never fetched);
    ``detected_type`` is what the content is (``zip``, ``7z``, ``rar``, ``tar``, ``gzip``, ``bzip2``,
    ``xz``, ``xlsx``, ``csv``, ``text``, ``combolist``, ``json``, ``jsonl``, ``sql``, ``html``,
    ``binary``, ``unsupported``, ``unknown``); ``status`` is one of ``ok``, ``partial``, ``skipped``,
    ``failed`` (see the STATUS_* constants); ``blocks``/``lines`` count what was yielded; ``members``
    and ``expanded_bytes`` what the budget was charged; ``findings`` repeats every finding yielded.
    """

    name: str
    sha256: str | None
    size: int | None
    detected_type: str
    status: str
    blocks: int
    lines: int
    members: int
    expanded_bytes: int
    seconds: float
    findings: tuple[Finding, ...]


def status_of(blocks: int, findings: Sequence[Finding]) -> str:
    """The document status from what was produced and what was recorded."""
    losses = [finding.kind for finding in findings if finding.kind not in NOTE_KINDS]
    if not losses:
        return STATUS_OK
    if blocks:
        return STATUS_PARTIAL
    if all(kind in SKIP_KINDS for kind in losses):
        return STATUS_SKIPPED
    return STATUS_FAILED
