"""Safety limits for reading leaked files; exposed in config as the ``[files]`` table."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
#: Read buffer of a streamed member.
BUFFER = 1 * MiB


class ReadLimits(BaseModel):
    """Caps applied while reading one top-level file (a path or an attachment) and everything in it.

    Every cap that trips becomes a :class:`crawlers.model.Finding` with a reason; nothing is dropped
    silently. The defaults let a 1 GB dump through and stop a zip bomb long before memory is at risk.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_file_bytes: int = Field(
        default=4 * GiB,
        gt=0,
        description="Largest top-level file (path or attachment) read at all; a bigger one is skipped "
        "with a `cap_bytes` finding before any byte is read.",
    )
    max_total_bytes: int = Field(
        default=4 * GiB,
        gt=0,
        description="Bytes produced per top-level file, summed over every layer (the file itself, each "
        "decompressed member, each nested archive's output). Reading stops at the cap (`cap_bytes`).",
    )
    max_ratio: float = Field(
        default=200.0,
        gt=1,
        description="Largest expansion ratio (output bytes / compressed bytes) of one compressed member "
        "or stream, checked once the output passes `ratio_min_bytes`; past it the member is cut "
        "(`cap_ratio`). Text rarely compresses better than 20:1; deflate bombs reach 1000:1.",
    )
    ratio_min_bytes: int = Field(
        default=1 * MiB,
        ge=0,
        description="Output size below which the ratio is not checked (tiny files compress very well).",
    )
    max_members: int = Field(
        default=10_000,
        gt=0,
        description="Archive members read per top-level file, over all nesting levels (`cap_members`).",
    )
    max_depth: int = Field(
        default=5,
        ge=0,
        description="Nesting depth: a member of a top-level archive is at depth 1; a compressed stream "
        "(gz, bz2, xz) counts as a level. Deeper archives are skipped (`cap_depth`).",
    )
    max_line_bytes: int = Field(
        default=8 * MiB,
        gt=0,
        description="Longest line kept whole, measured in decoded characters. A longer line is scanned "
        "in pieces of this size (cut at a space or delimiter when one is near) with a `cap_line` "
        "finding; memory stays bounded and the rest of the file is read.",
    )
    max_seconds: float = Field(
        default=1800.0,
        gt=0,
        description="Wall-clock seconds per crawled top-level file (an attachment a venue fetched), "
        "including the time the consumer spends on the yielded blocks; reading stops at the cap "
        "(`cap_time`) so one attachment cannot hold a crawl cycle. `inf` is no cap. An operator's "
        "`leakmon scan` of a local file ignores it: no time cap unless `scan --max-seconds N`.",
    )
    block_bytes: int = Field(
        default=4 * MiB,
        gt=0,
        description="Target size of one yielded TextBlock, in characters (blocks end on a line end).",
    )
    max_document_bytes: int = Field(
        default=16 * MiB,
        gt=0,
        description="Largest HTML page parsed as a whole; a bigger one is scanned as plain text lines "
        "instead (`format_fallback`). JSON documents of any size are streamed element by element.",
    )
    max_xlsx_strings_bytes: int = Field(
        default=64 * MiB,
        gt=0,
        description="Largest unpacked shared-strings part of an xlsx; openpyxl holds it in memory, so a "
        "bigger one makes the workbook skipped (`cap_memory`).",
    )
    spool_memory_bytes: int = Field(
        default=16 * MiB,
        gt=0,
        description="Nested archives and 7z members are buffered in memory up to this size and in an "
        "anonymous temporary file in the workspace's spool folder beyond it (never under the member's name).",
    )

    def with_time_cap(self, seconds: float) -> ReadLimits:
        """These limits with ``max_seconds`` set to ``seconds``, or no time cap at all for 0 (``scan``)."""
        if seconds < 0:
            raise ValueError("max_seconds cannot be negative")
        return self.model_copy(update={"max_seconds": seconds or math.inf})
