"""Leaked-file reader: files and attachments in, decoded newline-aligned text and findings out.

It never matches identifiers: it yields :class:`crawlers.model.TextBlock` (every line one record,
with locator, first line, unit and, for tables, columns and delimiter) and
:class:`crawlers.model.Finding` (every skip, cap and error). Archives are read in memory or
streamed, never extracted; every limit is a :class:`ReadLimits` field.

    reading = read_path(Path("dump.zip"), passwords=passwords_from_text(post.text))
    for item in reading: ...
    reading.report.status  # ok | partial | skipped | failed
"""

from crawlers.files.limits import ReadLimits
from crawlers.files.passwords import passwords_from_text
from crawlers.files.reader import FileReading, read_attachment, read_bytes, read_path, read_stream
from crawlers.files.report import (
    STATUS_FAILED,
    STATUS_OK,
    STATUS_PARTIAL,
    STATUS_SKIPPED,
    FileReport,
)

__all__ = [
    "STATUS_FAILED",
    "STATUS_OK",
    "STATUS_PARTIAL",
    "STATUS_SKIPPED",
    "FileReading",
    "FileReport",
    "ReadLimits",
    "passwords_from_text",
    "read_attachment",
    "read_bytes",
    "read_path",
    "read_stream",
]
