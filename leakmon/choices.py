"""The values a CLI option accepts, as enums Typer checks before any work starts.

A wrong value (``--format xml``) is then a usage error naming the valid ones (exit 2), never a
failure after hits were stored or an audit entry written.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer


class Format(StrEnum):
    """Listings: a table for people, CSV and JSON lines for tools."""

    TABLE = "table"
    CSV = "csv"
    JSONL = "jsonl"


class RunFormat(StrEnum):
    """Run summaries and status: a table or JSON lines."""

    TABLE = "table"
    JSONL = "jsonl"


class TextFormat(StrEnum):
    """One record: aligned text or JSON."""

    TEXT = "text"
    JSON = "json"


class ExportFormat(StrEnum):
    """The affected-subjects export."""

    CSV = "csv"
    XLSX = "xlsx"
    JSONL = "jsonl"


class ShareFormat(StrEnum):
    """An incident shared with other teams."""

    STIX = "stix"
    MISP = "misp"


class MatchKind(StrEnum):
    """How a hit matched its protected value."""

    EXACT = "exact"
    COMPOSITE = "composite"
    PARTIAL = "partial"


FormatOption = Annotated[Format, typer.Option("--format", help="table, csv or jsonl.")]
RunFormatOption = Annotated[RunFormat, typer.Option("--format", help="table or jsonl.")]
#: The largest id or count a database integer holds: larger values are refused, not overflowed.
MAX_ID = 2**63 - 1


class ProgressFormat(StrEnum):
    """How a long command reports progress: a bar on a terminal, or JSON lines on stderr."""

    TEXT = "text"
    JSON = "json"


#: The ``--log-format`` option of long commands (scan, protect import, export affected).
LogFormatOption = Annotated[
    ProgressFormat,
    typer.Option("--log-format", help="text (a progress bar on a terminal) or json (progress lines on stderr)."),
]
